//! One subscription shared fairly: between client apps (fair queue, bounded wait with
//! 429 + Retry-After) and between replicas on one Postgres (one budget, one flight per
//! request, leases that expire, fallback to a local share). Upstream call counts and the
//! simulator's 429 counter prove it; the rate window is shrunk to one second on both sides.

use std::time::{Duration, Instant};

use jquants_proxy::catalog::Plan;
use jquants_proxy::jst::Clock;
use jquants_proxy::sim::SimHandle;
use jquants_proxy::upstream::SharingConfig;
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;

use crate::helpers::{
    Options, Relay, default_now, distinct_bar_paths, fresh_schema, get_text, serve_config,
    spawn_app_with, spawn_sim, start,
};

const WINDOW: Duration = Duration::from_secs(1);
const BULK: (&str, &str) = ("bulk", "bulk-app-key-0001");
const SINGLE: (&str, &str) = ("single", "single-app-key-0002");
const ADMIN: &str = "admin-test-key";

fn light(sharing: SharingConfig) -> Options {
    Options {
        plan: Plan::Light,
        rate_window: WINDOW,
        client_keys: [BULK, SINGLE]
            .iter()
            .map(|(n, k)| (n.to_string(), k.to_string()))
            .collect(),
        sharing,
        ..Default::default()
    }
}

/// `n` distinct daily-bar requests (issue x date) over four trading days, each a miss.
async fn distinct_paths(sim: &SimHandle, n: usize) -> Vec<String> {
    let dates = ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19"];
    distinct_bar_paths(sim, &dates, n).await
}

async fn get(http: &reqwest::Client, url: &str, key: &str) -> reqwest::Response {
    http.get(url)
        .header("x-api-key", key)
        .send()
        .await
        .expect("request")
}

/// Fires every path at once from one client; returns the task handles.
fn burst(
    http: &reqwest::Client,
    urls: Vec<String>,
    key: &'static str,
) -> Vec<tokio::task::JoinHandle<reqwest::Response>> {
    urls.into_iter()
        .map(|u| {
            let http = http.clone();
            tokio::spawn(async move { get(&http, &u, key).await })
        })
        .collect()
}

async fn admin_stats(http: &reqwest::Client, url: &str) -> Value {
    get(http, &format!("{url}/admin/stats"), ADMIN)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_apps_burst_does_not_starve_another_apps_single_request() {
    let app = spawn_app_with(light(SharingConfig::default())).await;
    let paths = distinct_paths(&app.sim, 501).await;
    let (single_path, bulk_paths) = paths.split_last().unwrap();
    app.sim.reset();
    let bulk = burst(
        &app.http,
        bulk_paths
            .iter()
            .map(|p| format!("{}{p}", app.url))
            .collect(),
        BULK.1,
    );
    // Wait until the burst is queued in front of the upstream.
    for _ in 0..2000 {
        if app.state.cache.upstream().limiter_stats().queued >= 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(app.state.cache.upstream().limiter_stats().queued >= 200);
    let before = app.upstream_calls();
    let r = get(&app.http, &format!("{}{single_path}", app.url), SINGLE.1).await;
    let after = app.upstream_calls();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-cache"], "MISS");
    println!(
        "single request answered after {} upstream calls of the burst",
        after - before
    );
    // Its own turn comes after at most one of the burst's; the rest are calls already
    // under way while it travels (a FIFO queue would put it behind all 500).
    assert!(
        after - before <= 20,
        "the single request waited behind {} upstream calls",
        after - before
    );
    // Per-client queue depth and waits are visible while the burst is still queued.
    let stats = admin_stats(&app.http, &app.url).await;
    let clients = stats["upstream"]["clients"].as_array().unwrap();
    let bulk_stats = clients.iter().find(|c| c["client"] == BULK.0).unwrap();
    let single_stats = clients.iter().find(|c| c["client"] == SINGLE.0).unwrap();
    assert!(bulk_stats["queued"].as_u64().unwrap() > 100, "{stats}");
    assert_eq!(single_stats["granted"], 1);
    let metrics = app.http.get(format!("{}/metrics", app.url)).send().await;
    let metrics = metrics.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("jqp_upstream_client_queued{client=\"bulk\"}"),
        "per-client queue missing from /metrics"
    );
    for t in bulk {
        assert_eq!(t.await.unwrap().status(), 200);
    }
    let sim = app.sim.stats();
    assert_eq!((sim.total, sim.rate_limited), (501, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_bounded_wait_a_429_says_when_and_the_retry_is_a_hit() {
    let app = spawn_app_with(light(SharingConfig {
        max_wait_secs: 0.3,
        ..Default::default()
    }))
    .await;
    let paths = distinct_paths(&app.sim, 150).await;
    app.sim.reset();
    let urls: Vec<String> = paths.iter().map(|p| format!("{}{p}", app.url)).collect();
    let mut late = vec![];
    let mut retry_after = 0;
    for (u, t) in urls.iter().zip(burst(&app.http, urls.clone(), BULK.1)) {
        let r = t.await.unwrap();
        match r.status().as_u16() {
            200 => {}
            429 => {
                let secs: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(secs >= 1);
                retry_after = retry_after.max(secs);
                let body: Value = r.json().await.unwrap();
                assert!(
                    body["message"].as_str().unwrap().contains("Retry"),
                    "{body}"
                );
                late.push(u.clone());
            }
            s => panic!("unexpected status {s}"),
        }
    }
    // 150 calls at 60 per second take 2.6 s; everything past 0.3 s was told to come back.
    assert!(
        late.len() > 100,
        "only {} requests waited too long",
        late.len()
    );
    println!(
        "{} of 150 got 429, longest Retry-After {retry_after} s",
        late.len()
    );
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let calls = app.upstream_calls();
    for u in &late {
        let r = get(&app.http, u, BULK.1).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-cache"], "HIT", "{u}");
    }
    assert_eq!(app.upstream_calls(), calls, "a retry cost an upstream call");
    let sim = app.sim.stats();
    assert_eq!((sim.total, sim.rate_limited), (150, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_quotas_429_carries_retry_after() {
    let mut opts = light(SharingConfig::default());
    opts.client_quota = 2;
    let app = spawn_app_with(opts).await;
    let url = format!("{}/v2/markets/calendar", app.url);
    for _ in 0..2 {
        assert_eq!(get(&app.http, &url, SINGLE.1).await.status(), 200);
    }
    let r = get(&app.http, &url, SINGLE.1).await;
    assert_eq!(r.status(), 429);
    // Two per minute: the next one is free 30 s after the first.
    let secs: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((25..=30).contains(&secs), "Retry-After {secs}");
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].is_string());
}

struct Replicas {
    urls: Vec<String>,
    sim: SimHandle,
    http: reqwest::Client,
}

/// `n` proxies on one Postgres schema in front of one simulator.
async fn replicas(n: usize, opts: &Options, db: PgConnectOptions) -> Replicas {
    let clock = Clock::fixed(default_now());
    let sim = spawn_sim(opts, &clock).await;
    let mut urls = vec![];
    for _ in 0..n {
        let (url, _) = start(serve_config(opts, &sim, &clock, Some(db.clone()))).await;
        urls.push(url);
    }
    Replicas {
        urls,
        sim,
        http: reqwest::Client::new(),
    }
}

impl Replicas {
    /// Every path once, spread round-robin over the replicas, all at once.
    async fn spread(&self, paths: &[String]) -> Vec<u16> {
        let urls: Vec<String> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}{p}", self.urls[i % self.urls.len()]))
            .collect();
        let mut out = vec![];
        for t in burst(&self.http, urls, BULK.1) {
            out.push(t.await.unwrap().status().as_u16());
        }
        out
    }

    async fn readiness(&self, i: usize) -> Value {
        self.http
            .get(format!("{}/readyz", self.urls[i]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_keep_to_one_plan_and_fetch_each_answer_once() {
    let opts = light(SharingConfig::default());
    let r = replicas(3, &opts, fresh_schema().await).await;
    for i in 0..3 {
        assert_eq!(
            r.readiness(i).await["upstream"]["limiter"]["coordination"],
            "postgres"
        );
    }
    let paths = distinct_paths(&r.sim, 241).await;
    let (identical, distinct) = paths.split_last().unwrap();
    r.sim.reset();
    let started = Instant::now();
    let statuses = r.spread(distinct).await;
    let elapsed = started.elapsed().as_secs_f64();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let sim = r.sim.stats();
    let rate = sim.total as f64 / elapsed;
    println!(
        "3 replicas: {} calls in {elapsed:.2} s = {rate:.1}/window (limit 60), 429s: {}",
        sim.total, sim.rate_limited
    );
    assert_eq!((sim.total, sim.rate_limited), (240, 0));
    assert!(rate <= 60.0, "rate {rate} above the plan");

    // 300 identical concurrent misses over the three cost one upstream call.
    let same = vec![identical.clone(); 300];
    let statuses = r.spread(&same).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        r.sim.stats().total,
        241,
        "identical misses fetched more than once"
    );
}

/// A replica on its own runtime in its own thread; `crash` kills every task it runs
/// (fetches, lease renewals) at once, as a crashed process would leave them.
struct Crashable {
    url: String,
    crash: std::sync::mpsc::Sender<()>,
}

fn crashable_replica(cfg: jquants_proxy::config::ServeConfig) -> Crashable {
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (crash, crash_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let url = rt.block_on(async { start(cfg).await.0 });
        url_tx.send(url).unwrap();
        let _ = crash_rx.recv();
        rt.shutdown_background();
    });
    Crashable {
        url: url_rx.recv().unwrap(),
        crash,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_lease_holder_stalls_the_others_only_until_its_lease_expires() {
    let lease = Duration::from_secs(1);
    let latency = Duration::from_millis(800);
    // The survivor's bounded wait covers the lease plus one slow upstream call and a
    // margin: stalling on the dead holder any longer would answer 429 instead of 200.
    let opts = light(SharingConfig {
        lease_secs: lease.as_secs_f64(),
        max_wait_secs: (lease + latency).as_secs_f64() + 1.5,
        ..Default::default()
    });
    let db = fresh_schema().await;
    let clock = Clock::fixed(default_now());
    let sim = spawn_sim(&opts, &clock).await;
    sim.set_faults(jquants_proxy::sim::Faults {
        latency_ms: Some(latency.as_millis() as u64),
        ..Default::default()
    });
    let holder = crashable_replica(serve_config(&opts, &sim, &clock, Some(db.clone())));
    let (survivor, _) = start(serve_config(&opts, &sim, &clock, Some(db.clone()))).await;
    let http = reqwest::Client::new();
    let path = "/v2/equities/bars/daily?code=72030&date=2026-11-19";

    // The holder takes the lease and is mid-fetch when it dies.
    let h = http.clone();
    let to_holder = format!("{}{path}", holder.url);
    let dying =
        tokio::spawn(async move { h.get(to_holder).header("x-api-key", SINGLE.1).send().await });
    let mut conn = sqlx::ConnectOptions::connect(&db).await.unwrap();
    let mid_fetch = async {
        while sim.stats().total == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), mid_fetch)
        .await
        .expect("the holder never called the upstream");
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM upstream_lease")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(held, 1, "the holder fetched without a lease");
    holder.crash.send(()).unwrap();
    // Its own client sees the connection drop.
    assert!(
        dying.await.unwrap().is_err(),
        "the crashed replica still answered"
    );

    let h = http.clone();
    let to_survivor = format!("{survivor}{path}");
    let waiting = tokio::spawn(async move { get(&h, &to_survivor, SINGLE.1).await });
    // The dead holder renewed its lease at most a third of a lease ago: for a while yet,
    // the survivor waits rather than calling the upstream.
    tokio::time::sleep(lease / 4).await;
    assert_eq!(
        sim.stats().total,
        1,
        "the survivor ignored the holder's lease"
    );
    let r = waiting.await.unwrap();
    assert_eq!(
        r.status(),
        200,
        "the survivor stalled past its bounded wait"
    );
    assert_eq!(r.headers()["x-cache"], "MISS");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM upstream_lease")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        left, 0,
        "the survivor did not release the lease it took over"
    );
    // One call by the holder before it died, one by the survivor after the lease expired.
    assert_eq!(sim.stats().total, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_mid_run_falls_back_to_the_local_share_and_recovers() {
    let relay = Relay::start().await;
    let db = fresh_schema().await.host("127.0.0.1").port(relay.port);
    let opts = light(SharingConfig {
        replicas: 3,
        ..Default::default()
    });
    let r = replicas(3, &opts, db).await;
    let paths = distinct_paths(&r.sim, 360).await;
    r.sim.reset();
    assert!(r.spread(&paths[..60]).await.iter().all(|s| *s == 200));

    relay.cut();
    let statuses = r.spread(&paths[60..240]).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let ready = r.readiness(0).await;
    assert_eq!(
        ready["upstream"]["limiter"]["coordination"], "local",
        "{ready}"
    );
    let share = ready["upstream"]["limiter"]["local_share"]
        .as_f64()
        .unwrap();
    assert!((share - 1.0 / 3.0).abs() < 1e-9, "{ready}");
    let metrics = get_text(&r.http, &format!("{}/metrics", r.urls[0])).await;
    assert!(
        metrics.contains("jqp_upstream_coordination_shared 0"),
        "{metrics}"
    );

    relay.restore();
    let mut shared_again = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if r.readiness(0).await["upstream"]["limiter"]["coordination"] == "postgres" {
            shared_again = true;
            break;
        }
    }
    assert!(shared_again, "coordination never came back to Postgres");
    assert!(r.spread(&paths[240..]).await.iter().all(|s| *s == 200));
    let sim = r.sim.stats();
    assert_eq!((sim.total, sim.rate_limited), (360, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_seen_by_one_replica_cools_every_replica_down() {
    // The helpers set the cool-down to the rate window (1 s).
    let cooldown = WINDOW;
    let db = fresh_schema().await;
    let r = replicas(2, &light(SharingConfig::default()), db.clone()).await;
    let paths = distinct_paths(&r.sim, 2).await;
    r.sim.reset();
    r.sim.set_faults(jquants_proxy::sim::Faults::errors(429, 1));
    let h = r.http.clone();
    let first = format!("{}{}", r.urls[0], paths[0]);
    let limited = tokio::spawn(async move { get(&h, &first, SINGLE.1).await });
    let mut conn = sqlx::ConnectOptions::connect(&db).await.unwrap();
    let shared_pause = async {
        loop {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM upstream_budget WHERE paused_until > clock_timestamp()",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            if n > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(cooldown, shared_pause)
        .await
        .expect("the 429 did not reach the shared budget");
    let h = r.http.clone();
    let second = format!("{}{}", r.urls[1], paths[1]);
    let other = tokio::spawn(async move { get(&h, &second, SINGLE.1).await });
    tokio::time::sleep(cooldown / 4).await;
    assert_eq!(
        r.sim.stats().total,
        1,
        "the other replica called during the cool-down"
    );
    assert_eq!(limited.await.unwrap().status(), 200);
    assert_eq!(other.await.unwrap().status(), 200);
    assert_eq!(r.sim.stats().total, 3);
}
