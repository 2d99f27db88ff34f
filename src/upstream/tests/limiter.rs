//! The shared limiter: no window over the plan, the statements cap beside it, arrival
//! order, queue timeouts, and a backlog using the whole budget.

use super::*;

/// The most instants found in any half-open window `[t, t + w)`.
fn max_in_window(times: &[Instant], w: Duration) -> usize {
    let mut t = times.to_vec();
    t.sort();
    let mut best = 0;
    let mut j = 0;
    for i in 0..t.len() {
        while j < t.len() && t[j] < t[i] + w {
            j += 1;
        }
        best = best.max(j - i);
    }
    best
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limiter_never_exceeds_the_limit_in_any_window() {
    let server = TestServer::start(|_, _| ok_json()).await;
    let window = Duration::from_millis(1200);
    let plan = Plan::Light; // 60 per window: one slot per 21 ms with the 5 % margin
    let up = Upstream::new(config(&server.base, plan, window)).unwrap();
    let n = 150;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let up = up.clone();
            tokio::spawn(async move { up.call(req("/equities/master", format!("i={i}"))).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let times: Vec<Instant> = server.hits().iter().map(|h| h.at).collect();
    assert_eq!(times.len(), n);
    let max = max_in_window(&times, window);
    let limit = plan.per_minute() as usize;
    let span = *times.iter().max().unwrap() - *times.iter().min().unwrap();
    let achieved = (n - 1) as f64 / span.as_secs_f64() * window.as_secs_f64();
    println!(
        "{n} calls in {span:?}: achieved {achieved:.1} per window (limit {limit}, \
         ceiling with margin {:.1}); busiest window held {max}",
        limit as f64 / 1.05
    );
    assert!(max <= limit, "a window held {max} > {limit} calls");
    // That the budget is used, not just respected, is
    // `a_backlog_is_let_through_one_slot_apart` (on tokio's clock, not this machine's).
    let stats = up.limiter_stats();
    assert_eq!(stats.calls, n as u64);
    assert_eq!(stats.queued, 0);
    assert!(stats.total_wait > Duration::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_are_capped_separately_while_other_paths_proceed() {
    let server = TestServer::start(|_, _| ok_json()).await;
    let window = Duration::from_millis(600);
    // Premium: 500 per window (1.26 ms apart); statements 60 per window (10.5 ms apart).
    let up = Upstream::new(config(&server.base, Plan::Premium, window)).unwrap();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..90 {
        let up = up.clone();
        tasks.push(tokio::spawn(async move {
            up.call(UpstreamRequest {
                path: "/fins/summary",
                query: format!("i={i}"),
                group: RateGroup::Statements,
                client: Arc::from("test"),
            })
            .await
        }));
    }
    for i in 0..100 {
        let up = up.clone();
        tasks.push(tokio::spawn(async move {
            up.call(req("/equities/bars/daily", format!("i={i}"))).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let hits = server.hits();
    let stmt: Vec<Instant> = hits
        .iter()
        .filter(|h| h.path == "/v2/fins/summary")
        .map(|h| h.at)
        .collect();
    let other: Vec<Instant> = hits
        .iter()
        .filter(|h| h.path == "/v2/equities/bars/daily")
        .map(|h| h.at)
        .collect();
    assert_eq!((stmt.len(), other.len()), (90, 100));
    let all: Vec<Instant> = hits.iter().map(|h| h.at).collect();
    let stmt_max = max_in_window(&stmt, window);
    let last_stmt = *stmt.iter().max().unwrap() - start;
    let last_other = *other.iter().max().unwrap() - start;
    println!(
        "statements: busiest window {stmt_max}/60, last at {last_stmt:?}; \
         other paths: last at {last_other:?}"
    );
    assert!(stmt_max <= 60, "statements window held {stmt_max}");
    assert!(max_in_window(&all, window) <= 500);
    assert!(
        last_other * 2 < last_stmt,
        "plan-only calls waited behind statements ({last_other:?} vs {last_stmt:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_are_served_in_arrival_order() {
    let server = TestServer::start(|_, _| ok_json()).await;
    // Free: 5 per 250 ms, one slot per 52.5 ms; arrivals 3 ms apart all queue.
    let up = Upstream::new(config(&server.base, Plan::Free, Duration::from_millis(250))).unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let up = up.clone();
        tasks.push(tokio::spawn(async move {
            up.call(req("/equities/master", format!("i={i}"))).await
        }));
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let order: Vec<String> = server.hits().into_iter().map(|h| h.query).collect();
    let expected: Vec<String> = (0..8).map(|i| format!("i={i}")).collect();
    assert_eq!(order, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_longer_than_queue_timeout_fails_clearly() {
    let server = TestServer::start(|_, _| ok_json()).await;
    // Free: 5 per second, one slot per 210 ms.
    let mut cfg = config(&server.base, Plan::Free, Duration::from_secs(1));
    cfg.queue_timeout = Duration::from_millis(80);
    let up = Upstream::new(cfg).unwrap();
    up.call(req("/equities/master", "")).await.unwrap();
    let start = Instant::now();
    let (b, c) = tokio::join!(
        up.call(req("/equities/master", "b=1")),
        up.call(req("/equities/master", "c=1"))
    );
    let waited = start.elapsed();
    assert!(matches!(b, Err(UpstreamError::QueueTimeout)), "{b:?}");
    assert!(matches!(c, Err(UpstreamError::QueueTimeout)), "{c:?}");
    assert!(waited >= Duration::from_millis(80), "{waited:?}");
    assert_eq!(server.hits().len(), 1);
    let stats = up.limiter_stats();
    assert_eq!((stats.queue_timeouts, stats.queued), (2, 0));
    // Callers that gave up used no slot: once the next slot is due (210 ms after the first
    // call), a new caller gets it at once, where two used slots would push it past 80 ms.
    tokio::time::sleep(Duration::from_millis(250)).await;
    up.call(req("/equities/master", "d=1")).await.unwrap();
    assert_eq!(server.hits().len(), 2);
    assert!(matches!(
        ApiError::from(UpstreamError::QueueTimeout),
        ApiError::RateLimitQueue
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cooldown_longer_than_the_queue_timeout_fails_fast() {
    let server = TestServer::start(|n, _| {
        if n == 0 {
            json(StatusCode::TOO_MANY_REQUESTS, "{}")
        } else {
            ok_json()
        }
    })
    .await;
    let mut cfg = config(&server.base, Plan::Light, Duration::from_millis(600));
    cfg.cooldown_after_429 = Duration::from_millis(400);
    cfg.queue_timeout = Duration::from_millis(100);
    let up = Upstream::new(cfg).unwrap();
    let first = spawn_call(&up, req("/equities/master", "a=1"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = up.limiter_stats();
    let e = up.call(req("/equities/master", "b=1")).await.unwrap_err();
    assert!(matches!(e, UpstreamError::QueueTimeout), "{e:?}");
    // Refused on arrival: it never joined the queue, so it waited nothing.
    let after = up.limiter_stats();
    assert_eq!(after.queue_timeouts, before.queue_timeouts + 1);
    assert_eq!(after.total_wait, before.total_wait, "it queued");
    // The 429'd request itself waits out the cool-down outside its queue timeout.
    first.await.unwrap().unwrap();
    assert_eq!(server.hits().len(), 2);
}

/// With a backlog, the limiter lets one call through per slot, no slower: the whole budget
/// is used. On tokio's paused clock, so the machine's load cannot change the answer.
#[tokio::test(start_paused = true)]
async fn a_backlog_is_let_through_one_slot_apart() {
    let window = Duration::from_secs(60);
    let limiter = Arc::new(crate::upstream::limiter::Limiter::new(
        60,
        60,
        window,
        0.05,
        Duration::from_secs(3600),
        1,
    ));
    let start = tokio::time::Instant::now();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                limiter
                    .acquire(RateGroup::Plan, &Arc::from("test"))
                    .await
                    .unwrap();
                tokio::time::Instant::now()
            })
        })
        .collect();
    let mut granted = Vec::new();
    for t in tasks {
        granted.push(t.await.unwrap() - start);
    }
    granted.sort();
    let slot = window.div_f64(60.0).mul_f64(1.05);
    let expected: Vec<Duration> = (0..10).map(|i| slot * i).collect();
    assert_eq!(granted, expected);
}
