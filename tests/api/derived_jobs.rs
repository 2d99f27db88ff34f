//! Long market-wide work answers at once: a cold range is prepared by a background job; a
//! request waits for it only up to its bound, then answers 202 with `Retry-After` and the
//! job's progress; the job runs on without its client, and the table it ends with is the one
//! an uninterrupted request gets.

use std::time::{Duration, Instant};

use jquants_proxy::catalog::Plan;
use serde_json::Value;

use crate::helpers::{Options, TestApp, spawn_app_with};

const ADMIN: &str = "admin-test-key";

/// A small market on the Standard plan whose upstream answers slowly.
async fn slow_market(latency: Duration, derived_wait: Duration) -> TestApp {
    spawn_app_with(Options {
        plan: Plan::Standard,
        issues: 60,
        sim_latency: latency,
        rate_window: Duration::from_secs(6),
        derived_wait,
        // The job's mechanics, over the hundreds of cross-sections a year costs without files.
        bulk_ingest: false,
        ..Options::default()
    })
    .await
}

async fn json(r: reqwest::Response) -> Value {
    r.json().await.expect("JSON body")
}

fn progress(body: &Value) -> (u64, u64) {
    let p = &body["progress"];
    (
        p["done"].as_u64().expect("done"),
        p["total"].as_u64().expect("total"),
    )
}

/// Jobs the admin stats list as running.
async fn running_jobs(app: &TestApp) -> usize {
    let stats = json(app.get_with("/admin/stats", "x-api-key", ADMIN).await).await;
    let jobs = stats["jobs"].as_array().expect("jobs in the admin stats");
    jobs.iter().filter(|j| j["state"] == "running").count()
}

/// Asks `path` until it answers 200 (each 202 says to come back later), at most `limit`.
async fn until_ready(app: &TestApp, path: &str, limit: Duration) -> Value {
    let start = Instant::now();
    loop {
        let r = app.get(path).await;
        match r.status().as_u16() {
            200 => return json(r).await,
            202 => assert!(start.elapsed() < limit, "{path} still 202 after {limit:?}"),
            s => panic!("{path}: {s} {}", r.text().await.unwrap_or_default()),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[tokio::test]
async fn a_cold_year_answers_202_with_progress_then_the_table_an_uninterrupted_request_gets() {
    let app = slow_market(Duration::from_millis(1500), Duration::from_secs(10)).await;
    let path = "/derived/margin/market?from=2025-11-20&to=2026-11-20";

    let first = app.get(path).await;
    assert_eq!(first.status(), 202, "a cold year is not ready in 10 s");
    let retry: u64 = first.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!((2..=30).contains(&retry), "Retry-After {retry}");
    let body = json(first).await;
    let (done, total) = progress(&body);
    assert!(done < total, "{done} of {total}");
    assert!(
        total > 500,
        "a year reads hundreds of cross-sections: {total}"
    );
    assert!(body["progress"]["eta_seconds"].as_u64().unwrap() > 0);
    assert!(body["message"].as_str().unwrap().contains("2025-11-20"));
    assert_eq!(running_jobs(&app).await, 1);

    tokio::time::sleep(Duration::from_secs(20)).await;
    let later = app.get(path).await;
    assert_eq!(later.status(), 202);
    let (later_done, later_total) = progress(&json(later).await);
    assert!(later_done > done, "{later_done} after {done}");
    assert_eq!(later_total, total, "one job, whoever asks");

    let table = until_ready(&app, path, Duration::from_secs(600)).await;
    assert!(table["data"].as_array().unwrap().len() > 50);

    // The same year asked once and waited for: the same rows.
    let fresh = spawn_app_with(Options {
        plan: Plan::Standard,
        issues: 60,
        rate_window: Duration::from_millis(500),
        bulk_ingest: false,
        ..Options::default()
    })
    .await;
    let r = fresh.get_with(path, "prefer", "wait=240").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["preference-applied"], "wait=240");
    assert_eq!(json(r).await, table);
}

#[tokio::test]
async fn a_client_that_goes_away_leaves_the_job_running_to_its_end() {
    let app = slow_market(Duration::from_millis(300), Duration::from_secs(60)).await;
    let path = "/derived/margin/market?from=2026-09-01&to=2026-11-20";
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let gone = impatient.get(format!("{}{path}", app.url)).send().await;
    assert!(gone.is_err(), "the client gave up before the answer");
    assert_eq!(running_jobs(&app).await, 1, "the job runs on");

    let start = Instant::now();
    while running_jobs(&app).await > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "job never ended"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let calls = app.upstream_calls();
    assert!(
        calls > 100,
        "the job read the range's cross-sections: {calls}"
    );
    let r = app.get(path).await;
    assert_eq!(r.status(), 200);
    assert!(!json(r).await["data"].as_array().unwrap().is_empty());
    assert_eq!(
        app.upstream_calls(),
        calls,
        "asking again costs no upstream call"
    );
}

#[tokio::test]
async fn prefer_wait_returns_a_cold_range_directly_and_respond_async_at_once() {
    let app = slow_market(Duration::from_millis(300), Duration::from_secs(1)).await;
    // The default wait (1 s here) is too short for a cold range: a 202.
    let r = app
        .get("/derived/margin/market?from=2025-09-01&to=2025-10-31")
        .await;
    assert_eq!(r.status(), 202);
    // Asking for longer gets the table itself.
    let path = "/derived/margin/market?from=2026-09-01&to=2026-11-20";
    let r = app.get_with(path, "prefer", "wait=120").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["preference-applied"], "wait=120");
    let table = json(r).await;
    assert!(!table["data"].as_array().unwrap().is_empty());
    // Once held, even `respond-async` gets the table, and the page its table.
    let r = app.get_with(path, "prefer", "respond-async").await;
    assert_eq!(r.status(), 200);
    assert_eq!(json(r).await, table);
    let page = app.get("/margin?from=2026-09-01&to=2026-11-20").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("margin-table"));
}

#[tokio::test]
async fn a_cold_market_page_shows_a_self_reloading_progress_bar() {
    let app = slow_market(Duration::from_millis(300), Duration::from_secs(1)).await;
    let r = app.get("/margin").await;
    assert_eq!(r.status(), 202);
    let retry = r.headers()["retry-after"].to_str().unwrap().to_string();
    let html = r.text().await.unwrap();
    assert!(html.contains("<progress id=\"progress\""), "{html}");
    assert!(
        html.contains(&format!("http-equiv=\"refresh\" content=\"{retry}\"")),
        "{html}"
    );
    assert!(!html.contains("margin-table"), "no partial table");
    let chart = app.get("/charts/margin/market.svg").await;
    assert!(
        matches!(chart.status().as_u16(), 200 | 202),
        "{}",
        chart.status()
    );
}

#[tokio::test]
async fn a_job_the_plan_refuses_ends_with_that_error_not_a_202() {
    let app = spawn_app_with(Options {
        plan: Plan::Light,
        derived_wait: Duration::from_secs(10),
        ..Options::default()
    })
    .await;
    let path = "/derived/margin/market?date=2026-11-18";
    for _ in 0..2 {
        let r = app.get(path).await;
        assert_eq!(r.status(), 403, "margin interest needs the Standard plan");
        let body = json(r).await;
        assert!(body["message"].as_str().unwrap().contains("plan"), "{body}");
    }
}
