//! Behaviour of the upstream client against a tiny axum server started inside each test:
//! the server records when and what it was asked and answers as the test scripts it.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use secrecy::SecretString;

use super::*;
use crate::catalog::{Plan, RateGroup};

const KEY: &str = "test-secret-key-9f8e7d";

#[derive(Clone, Debug)]
struct Hit {
    at: Instant,
    path: String,
    query: String,
    headers: HeaderMap,
}

type Script = Arc<dyn Fn(usize, &Hit) -> Response + Send + Sync>;

struct TestServer {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl TestServer {
    async fn start(script: impl Fn(usize, &Hit) -> Response + Send + Sync + 'static) -> Self {
        let script: Script = Arc::new(script);
        let hits = Arc::new(Mutex::new(Vec::<Hit>::new()));
        let log = hits.clone();
        let app = axum::Router::new().fallback(move |req: Request| {
            let script = script.clone();
            let log = log.clone();
            async move {
                let hit = Hit {
                    at: Instant::now(),
                    path: req.uri().path().to_string(),
                    query: req.uri().query().unwrap_or("").to_string(),
                    headers: req.headers().clone(),
                };
                let n = {
                    let mut l = log.lock().unwrap();
                    l.push(hit.clone());
                    l.len() - 1
                };
                let mut resp = script(n, &hit);
                // A script asks for a slow answer this way, since it cannot await itself.
                if let Some(ms) = resp.headers_mut().remove("x-test-delay-ms") {
                    let ms: u64 = ms.to_str().unwrap().parse().unwrap();
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                resp
            }
        });
        // Its own runtime, so a script that blocks (or a busy server) cannot stall the
        // client's timers, and the client's load cannot delay the recorded arrivals.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap()
            })
        });
        Self {
            base: format!("http://{addr}/v2"),
            hits,
        }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

fn ok_json() -> Response {
    json(StatusCode::OK, r#"{"data": []}"#)
}

fn json(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn config(base: &str, plan: Plan, window: Duration) -> UpstreamConfig {
    let mut c = UpstreamConfig::new(base, SecretString::from(KEY), plan).with_rate_window(window);
    c.request_timeout = Duration::from_secs(2);
    c.queue_timeout = Duration::from_secs(20);
    c.retry_base_delay = Duration::from_millis(20);
    c
}

/// An upstream on `server` with the Premium plan and a 600 ms rate window.
fn premium(server: &TestServer) -> Upstream {
    Upstream::new(config(
        &server.base,
        Plan::Premium,
        Duration::from_millis(600),
    ))
    .unwrap()
}

/// Every page of `path?query`, canonicalised as the proxy would ask for it.
async fn fetch_pages(
    up: &Upstream,
    path: &str,
    query: Option<&str>,
) -> Result<Vec<Bytes>, UpstreamError> {
    let endpoint = crate::catalog::find(path).unwrap();
    let canonical = crate::request::parse(endpoint, query).unwrap().request;
    up.fetch_pages(&canonical, &Arc::from("test")).await
}

/// Starts `req` in the background, so that the test can watch the limiter while it waits.
fn spawn_call(
    up: &Upstream,
    req: UpstreamRequest,
) -> tokio::task::JoinHandle<Result<UpstreamResponse, UpstreamError>> {
    let up = up.clone();
    tokio::spawn(async move { up.call(req).await })
}

fn req(path: &'static str, query: impl Into<String>) -> UpstreamRequest {
    UpstreamRequest {
        path,
        query: query.into(),
        group: RateGroup::Plan,
        client: Arc::from("test"),
    }
}

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
async fn a_429_pauses_everyone_then_the_request_succeeds() {
    let server = TestServer::start(|n, _| {
        if n == 0 {
            json(
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"message": "Too Many Requests"}"#,
            )
        } else {
            ok_json()
        }
    })
    .await;
    // Light with a 600 ms window: cool-down scales to 600 ms.
    let cfg = config(&server.base, Plan::Light, Duration::from_millis(600));
    let cooldown = cfg.cooldown_after_429;
    assert_eq!(cooldown, Duration::from_millis(600));
    let up = Upstream::new(cfg).unwrap();
    let first = spawn_call(&up, req("/equities/master", "a=1"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stats = up.limiter_stats();
    assert_eq!(stats.rate_limited, 1);
    assert!(stats.pause_remaining().is_some(), "{stats:?}");
    // Another caller arriving during the pause waits it out too.
    let other = up.call(req("/equities/master", "b=1")).await.unwrap();
    assert_eq!(other.status, StatusCode::OK);
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.status, StatusCode::OK);
    let hits = server.hits();
    assert_eq!(hits.len(), 3);
    let t429 = hits[0].at;
    for h in &hits[1..] {
        assert!(
            h.at - t429 >= cooldown,
            "{} came {:?} after the 429",
            h.query,
            h.at - t429
        );
    }
    let stats = up.limiter_stats();
    assert_eq!((stats.rate_limited, stats.retries), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_429_gives_rate_limited_after_two_cooldowns() {
    let server = TestServer::start(|_, _| {
        json(
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"message": "Too Many Requests"}"#,
        )
    })
    .await;
    let mut cfg = config(&server.base, Plan::Light, Duration::from_millis(600));
    cfg.cooldown_after_429 = Duration::from_millis(100);
    let up = Upstream::new(cfg).unwrap();
    let start = Instant::now();
    let e = up.call(req("/equities/master", "")).await.unwrap_err();
    assert!(matches!(e, UpstreamError::RateLimited), "{e:?}");
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(server.hits().len(), 3);
    let api = ApiError::from(e);
    assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_dropped_connections_are_retried_with_backoff() {
    let server = TestServer::start(|n, _| match n {
        0 => json(StatusCode::INTERNAL_SERVER_ERROR, r#"{"message": "boom"}"#),
        // Headers sent, then the connection dies mid-body.
        1 => {
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(Bytes::from_static(b"{\"data\": [1, 2,")),
                Err(std::io::Error::other("connection reset")),
            ];
            Response::builder()
                .status(StatusCode::OK)
                .body(Body::from_stream(futures::stream::iter(chunks)))
                .unwrap()
        }
        // A complete HTTP message whose JSON is cut short.
        2 => json(StatusCode::OK, r#"{"data": [1, 2,"#),
        _ => json(StatusCode::OK, r#"{"data": [1, 2, 3]}"#),
    })
    .await;
    let mut cfg = config(&server.base, Plan::Premium, Duration::from_millis(600));
    cfg.max_retries = 3;
    let up = Upstream::new(cfg).unwrap();
    let resp = up.call(req("/equities/master", "")).await.unwrap();
    assert_eq!(&resp.body[..], br#"{"data": [1, 2, 3]}"#);
    let hits = server.hits();
    assert_eq!(hits.len(), 4);
    // Backoff of at least 20, 40, 80 ms (jitter only adds).
    for (i, min) in [20u64, 40, 80].iter().enumerate() {
        let gap = hits[i + 1].at - hits[i].at;
        assert!(gap >= Duration::from_millis(*min), "gap {i}: {gap:?}");
    }
    assert_eq!(up.limiter_stats().retries, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_503_is_unavailable_after_max_retries() {
    let server = TestServer::start(|_, _| {
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"message": "maintenance"}"#,
        )
    })
    .await;
    let mut cfg = config(&server.base, Plan::Premium, Duration::from_millis(600));
    cfg.max_retries = 2;
    let up = Upstream::new(cfg).unwrap();
    let e = up.call(req("/equities/master", "")).await.unwrap_err();
    let UpstreamError::Unavailable(detail) = &e else {
        panic!("{e:?}")
    };
    assert!(detail.contains("503"), "{detail}");
    assert_eq!(server.hits().len(), 3);
    let api = ApiError::from(e);
    assert_eq!(api.status(), StatusCode::BAD_GATEWAY);
    assert!(!api.public_message().contains("maintenance"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_and_refused_connections_are_unavailable() {
    let server = TestServer::start(|_, _| {
        let mut resp = ok_json();
        resp.headers_mut()
            .insert("x-test-delay-ms", "300".parse().unwrap());
        resp
    })
    .await;
    let mut cfg = config(&server.base, Plan::Premium, Duration::from_millis(600));
    cfg.request_timeout = Duration::from_millis(100);
    cfg.max_retries = 1;
    let up = Upstream::new(cfg).unwrap();
    let e = up.call(req("/equities/master", "")).await.unwrap_err();
    assert!(
        matches!(&e, UpstreamError::Unavailable(d) if d.contains("timed out")),
        "{e:?}"
    );
    assert_eq!(server.hits().len(), 2);

    // Nothing listens on a port we just released.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = config(
        &format!("http://127.0.0.1:{port}/v2"),
        Plan::Premium,
        Duration::from_millis(600),
    );
    cfg.max_retries = 1;
    let up = Upstream::new(cfg).unwrap();
    let e = up.call(req("/equities/master", "")).await.unwrap_err();
    assert!(matches!(e, UpstreamError::Unavailable(_)), "{e:?}");
    assert_eq!(up.limiter_stats().calls, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_not_retried_and_keep_the_upstream_message() {
    let server = TestServer::start(|_, hit| match hit.query.as_str() {
        "bad=1" => json(
            StatusCode::BAD_REQUEST,
            r#"{"message": "This API requires at least 1 parameter as follows; date, code"}"#,
        ),
        "key=1" => json(
            StatusCode::FORBIDDEN,
            r#"{"message": "The incoming api key is invalid or expired."}"#,
        ),
        _ => (StatusCode::FORBIDDEN, "").into_response(),
    })
    .await;
    let up = premium(&server);
    let cases = [
        (
            "bad=1",
            400,
            "This API requires at least 1 parameter as follows; date, code",
        ),
        ("key=1", 403, "The incoming api key is invalid or expired."),
        (
            "plain=1",
            403,
            "The upstream J-Quants API answered 403 Forbidden.",
        ),
    ];
    for (q, status, message) in cases {
        let e = up.call(req("/equities/bars/daily", q)).await.unwrap_err();
        match &e {
            UpstreamError::Status {
                status: s,
                message: m,
            } => {
                assert_eq!((s.as_u16(), m.as_str()), (status, message))
            }
            other => panic!("{q}: {other:?}"),
        }
        let api = ApiError::from(e);
        assert_eq!(api.status().as_u16(), status);
        assert_eq!(api.public_message(), message);
    }
    assert_eq!(server.hits().len(), 3);
    assert_eq!(up.limiter_stats().retries, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_keys_are_followed_with_the_same_query() {
    let server = TestServer::start(|_, hit| {
        let params: std::collections::BTreeMap<String, String> =
            url::form_urlencoded::parse(hit.query.as_bytes())
                .into_owned()
                .collect();
        if params.get("code").map(String::as_str) != Some("72030")
            || params.get("date").map(String::as_str) != Some("2024-01-05")
            || params.len() > 3
        {
            return json(StatusCode::BAD_REQUEST, r#"{"message": "query changed"}"#);
        }
        match params.get("pagination_key").map(String::as_str) {
            None => json(
                StatusCode::OK,
                r#"{"data": [{"p": 1}], "pagination_key": "a+b/c=="}"#,
            ),
            Some("a+b/c==") => json(
                StatusCode::OK,
                r#"{"data": [{"p": 2}], "pagination_key": "k&2"}"#,
            ),
            Some("k&2") => json(StatusCode::OK, r#"{"data": [{"p": 3}]}"#),
            Some(_) => json(StatusCode::BAD_REQUEST, r#"{"message": "bad key"}"#),
        }
    })
    .await;
    let up = premium(&server);
    let pages = fetch_pages(&up, "/equities/bars/daily", Some("date=20240105&code=7203"))
        .await
        .unwrap();
    let pages: Vec<&[u8]> = pages.iter().map(|p| &p[..]).collect();
    assert_eq!(
        pages,
        [
            &br#"{"data": [{"p": 1}], "pagination_key": "a+b/c=="}"#[..],
            br#"{"data": [{"p": 2}], "pagination_key": "k&2"}"#,
            br#"{"data": [{"p": 3}]}"#,
        ]
    );
    let hits = server.hits();
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h.path == "/v2/equities/bars/daily"));
    assert_eq!(hits[0].query, "code=72030&date=2024-01-05");
    assert!(
        hits[1]
            .query
            .starts_with("code=72030&date=2024-01-05&pagination_key=")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_pagination_key_stops_the_loop() {
    let server =
        TestServer::start(|_, _| json(StatusCode::OK, r#"{"data": [], "pagination_key": "same"}"#))
            .await;
    let up = premium(&server);
    let e = fetch_pages(&up, "/equities/master", None)
        .await
        .unwrap_err();
    assert!(matches!(e, UpstreamError::Unavailable(_)), "{e:?}");
    assert_eq!(server.hits().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_is_requested_and_decoded_and_the_key_is_sent() {
    const BODY: &str = r#"{"data": [{"Code": "72030", "C": 2500.0}]}"#;
    let server = TestServer::start(|_, hit| {
        let accepts_gzip = hit
            .headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("gzip"));
        if !accepts_gzip {
            return json(StatusCode::BAD_REQUEST, r#"{"message": "no gzip"}"#);
        }
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(BODY.as_bytes()).unwrap();
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CONTENT_ENCODING, "gzip"),
            ],
            enc.finish().unwrap(),
        )
            .into_response()
    })
    .await;
    let up = premium(&server);
    let resp = up
        .call(req("/equities/bars/daily", "code=72030"))
        .await
        .unwrap();
    assert_eq!(&resp.body[..], BODY.as_bytes());
    let hits = server.hits();
    assert_eq!(hits[0].headers.get("x-api-key").unwrap(), KEY);
}

#[tokio::test]
async fn the_key_never_appears_in_debug_output() {
    let cfg = UpstreamConfig::new(
        "https://api.jquants.com/v2/",
        SecretString::from(KEY),
        Plan::Light,
    );
    let up = Upstream::new(cfg.clone()).unwrap();
    for s in [
        format!("{cfg:?}"),
        format!("{cfg:#?}"),
        format!("{up:?}"),
        format!("{up:#?}"),
        format!("{:?}", up.limiter_stats()),
    ] {
        assert!(!s.contains(KEY), "key leaked: {s}");
        assert!(!s.contains("9f8e7d"), "key leaked: {s}");
    }
    assert!(format!("{up:?}").contains("https://api.jquants.com/v2\""));
}

#[test]
fn config_defaults_and_scaling() {
    let c = UpstreamConfig::new(DEFAULT_BASE_URL, SecretString::from(KEY), Plan::Standard);
    assert_eq!(c.rate_window, Duration::from_secs(60));
    assert_eq!(c.cooldown_after_429, Duration::from_secs(60));
    let c = c.with_rate_window(Duration::from_secs(6));
    assert_eq!(c.cooldown_after_429, Duration::from_secs(6));
    assert!(
        Upstream::new(UpstreamConfig::new(
            "not a url",
            SecretString::from(KEY),
            Plan::Free
        ))
        .is_err()
    );
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
    let limiter = Arc::new(limiter::Limiter::new(
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
