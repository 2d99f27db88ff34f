//! The market row store and its planner, proved with the simulator's call counts: answers
//! assembled from held rows cost no upstream call and are byte-identical to the upstream's.

use chrono::{Datelike, Duration as Days, NaiveDate, Weekday};
use jquants_proxy::jst;

use crate::helpers::{Options, TestApp, serve_config, spawn_app, spawn_app_with, start};

const BARS: &str = "/equities/bars/daily";

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// GETs `path` through the proxy (status 200) and returns the body.
pub(crate) async fn body(app: &TestApp, url: &str, path: &str) -> bytes::Bytes {
    let r = app.http.get(format!("{url}{path}")).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.bytes().await.unwrap()
}

/// Each proxied body must equal the simulator's answer to the same request now.
pub(crate) async fn assert_upstream_identical(app: &TestApp, answers: &[(String, bytes::Bytes)]) {
    for (path, got) in answers {
        let want = app.direct(path).await.bytes().await.unwrap();
        assert_eq!(
            got, &want,
            "{path}: assembled answer differs from the upstream's"
        );
    }
}

pub(crate) fn days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days().take_while(|d| *d <= to).collect()
}

#[tokio::test]
async fn closed_days_and_codes_inside_synced_cross_sections_cost_no_call() {
    let app = spawn_app_with(Options::row_store_alone()).await;
    let url = app.url.clone();
    body(
        &app,
        &url,
        "/v2/markets/calendar?from=2025-09-01&to=2025-09-30",
    )
    .await;
    let mut answers = vec![];
    for d in days(ymd(2025, 9, 1), ymd(2025, 9, 30)) {
        let p = format!("/v2{BARS}?date={}", d.format("%Y%m%d"));
        answers.push((p.clone(), body(&app, &url, &p).await));
    }
    // 30 calendar days, 20 business days (8 weekend days, 15 and 23 September holidays).
    assert_eq!(app.calls_to(BARS), 20, "closed days reached the upstream");
    for (p, _) in answers.clone() {
        body(&app, &url, &p).await;
    }
    assert_eq!(app.calls_to(BARS), 20, "a repeat reached the upstream");
    // Any code inside those cross-sections, in any shape, is answered from them.
    for p in [
        "/v2/equities/bars/daily?code=72030&from=20250905&to=20250912",
        "/v2/equities/bars/daily?code=7203&from=2025-09-13&to=2025-09-15",
        "/v2/equities/bars/daily?code=6758&date=20250910",
        "/v2/equities/bars/daily?code=67580&date=20250923",
    ] {
        answers.push((p.to_string(), body(&app, &url, p).await));
    }
    assert_eq!(
        app.calls_to(BARS),
        20,
        "a code inside synced days cost a call"
    );
    let stats = app.state.cache.rows().stats();
    assert!(stats.answered_from_rows >= 14, "{stats:?}");
    assert_upstream_identical(&app, &answers).await;
}

#[tokio::test]
async fn sub_ranges_of_a_stored_history_cost_no_call() {
    let app = spawn_app().await;
    let url = app.url.clone();
    let mut answers = vec![];
    let histories = [
        "/v2/equities/bars/daily?code=72030",
        "/v2/indices/bars/daily?code=0000",
        "/v2/equities/valuation?code=72030",
        "/v2/markets/breakdown?code=72030",
    ];
    for p in histories {
        answers.push((p.to_string(), body(&app, &url, p).await));
    }
    let calls = app.upstream_calls();
    assert_eq!(calls, histories.len() as u64);
    for p in [
        "/v2/equities/bars/daily?code=72030&from=20240105&to=20240110",
        "/v2/equities/bars/daily?code=7203&from=2025-12-25&to=2026-01-08",
        "/v2/equities/bars/daily?code=7203&date=2025-06-02",
        "/v2/indices/bars/daily?code=0000&from=20250301&to=20250331",
        "/v2/indices/bars/daily?code=0000&date=20250303",
        "/v2/equities/valuation?code=7203&from=20250301&to=20250331",
        "/v2/markets/breakdown?code=7203&from=20250301&to=20250331",
        "/v2/markets/breakdown?code=7203&date=20250303",
    ] {
        answers.push((p.to_string(), body(&app, &url, p).await));
    }
    assert_eq!(
        app.upstream_calls(),
        calls,
        "a sub-range of a held history cost a call"
    );
    assert_upstream_identical(&app, &answers).await;
}

#[tokio::test]
async fn a_restarted_proxy_answers_new_shapes_from_postgres_rows() {
    let opts = || Options {
        database: true,
        ..Default::default()
    };
    let app = spawn_app_with(opts()).await;
    let url = app.url.clone();
    body(&app, &url, "/v2/equities/bars/daily?code=72030").await;
    body(
        &app,
        &url,
        "/v2/markets/calendar?from=2025-09-01&to=2025-09-30",
    )
    .await;
    for d in ["20250909", "20250910", "20250911"] {
        body(&app, &url, &format!("/v2{BARS}?date={d}")).await;
    }
    let calls = app.upstream_calls();
    // A second proxy on the same database: its memory is empty, its response cache never
    // saw these requests.
    let (url2, _) = start(serve_config(&opts(), &app.sim, &app.clock, app.db.clone())).await;
    let mut answers = vec![];
    for p in [
        "/v2/equities/bars/daily?code=72030&from=20240105&to=20240110",
        "/v2/equities/bars/daily?code=6758&from=20250909&to=20250911",
        "/v2/equities/bars/daily?date=20250913",
        "/v2/equities/bars/daily?date=20250915",
        "/v2/equities/bars/daily?code=13010&date=2025-09-10",
    ] {
        answers.push((p.to_string(), body(&app, &url2, p).await));
    }
    assert_eq!(
        app.upstream_calls(),
        calls,
        "the restarted proxy called upstream"
    );
    assert_upstream_identical(&app, &answers).await;
}

#[tokio::test]
async fn a_new_split_refetches_that_codes_history_once_and_nothing_else() {
    let app = spawn_app().await;
    let url = app.url.clone();
    let market = app.sim.market();
    let (code, split) = market
        .all_splits()
        .into_iter()
        .find(|(_, s)| {
            s.ex_date > ymd(2026, 2, 2)
                && s.ex_date < ymd(2026, 10, 30)
                && !matches!(s.ex_date.weekday(), Weekday::Sat | Weekday::Sun)
        })
        .expect("the simulated market has a split in 2026");
    let code = code.to_string();
    let other = market.codes().find(|c| *c != code).unwrap().to_string();
    let ex = split.ex_date;
    let (d1, d3) = (ex - Days::days(20), ex - Days::days(10));
    // Before the ex-date: cross-sections of three weeks earlier are synced.
    app.clock.set(jst::at(ex - Days::days(1), 20, 0));
    body(
        &app,
        &url,
        &format!("/v2/markets/calendar?from={d1}&to={ex}"),
    )
    .await;
    for d in days(d1, d3) {
        body(&app, &url, &format!("/v2{BARS}?date={d}")).await;
    }
    let range = |c: &str| format!("/v2{BARS}?code={c}&from={d1}&to={d3}");
    body(&app, &url, &range(&code)).await;
    // The ex-date's bars are published and seen.
    app.clock.set(jst::at(ex, 20, 0));
    body(&app, &url, &format!("/v2{BARS}?date={ex}")).await;
    let before = app.calls_to(BARS);
    let mut answers = vec![];
    for p in [range(&code), format!("/v2{BARS}?date={d3}"), range(&other)] {
        answers.push((p.clone(), body(&app, &url, &p).await));
    }
    assert_eq!(app.calls_to(BARS), before + 1, "more than one re-fetch");
    let stats = app.sim.stats();
    assert_eq!(
        stats.by_request.get(&format!("{BARS}?code={code}")),
        Some(&1),
        "the split code's whole history was not the one re-fetch: {:?}",
        stats.by_request
    );
    for (p, _) in answers.clone() {
        body(&app, &url, &p).await;
    }
    assert_eq!(app.calls_to(BARS), before + 1);
    assert_upstream_identical(&app, &answers).await;
}

#[tokio::test]
async fn a_holiday_costs_one_calendar_call_once_and_no_bars_call() {
    let app = spawn_app_with(Options::row_store_alone()).await;
    let url = app.url.clone();
    // 15 and 23 September 2025 are holidays; nothing is held yet.
    let mut answers = vec![];
    for p in [
        "/v2/equities/bars/daily?date=20250915",
        "/v2/equities/bars/daily?date=20250923",
    ] {
        answers.push((p.to_string(), body(&app, &url, p).await));
    }
    assert_eq!(app.calls_to(BARS), 0);
    assert_eq!(app.calls_to("/markets/calendar"), 1);
    // An ordinary weekday is simply fetched, without the calendar.
    body(&app, &url, "/v2/equities/bars/daily?date=20250916").await;
    assert_eq!(app.calls_to(BARS), 1);
    assert_eq!(app.calls_to("/markets/calendar"), 1);
    assert_upstream_identical(&app, &answers).await;
}

#[tokio::test]
async fn a_killed_sync_resumes_without_refetching_completed_slices() {
    use jquants_proxy::sync::{self, SyncJob};
    // Day by day: without bulk files (a month's file would make it one step).
    let opts = || Options {
        database: true,
        sim_latency: std::time::Duration::from_millis(40),
        bulk_ingest: false,
        ..Default::default()
    };
    let app = spawn_app_with(opts()).await;
    let job = SyncJob::new(ymd(2025, 9, 1), ymd(2025, 9, 30), &[BARS.to_string()]).unwrap();
    let cache = app.state.cache.clone();
    let first = job.clone();
    let task =
        tokio::spawn(async move { sync::run(&cache, None, &first, sync::Watch::none()).await });
    for _ in 0..2000 {
        if app.calls_to(BARS) >= 6 || task.is_finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(
        !task.is_finished(),
        "the sync ended before it could be killed"
    );
    task.abort();
    let _ = task.await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut conn = sqlx::ConnectOptions::connect(app.db.as_ref().unwrap())
        .await
        .unwrap();
    let (done,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM market_coverage WHERE endpoint = $1")
            .bind(BARS)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!((5..20).contains(&done), "{done} slices done when killed");
    let calls_when_killed = app.calls_to(BARS);
    // A new process on the same database resumes.
    let (url2, state2) = start(serve_config(&opts(), &app.sim, &app.clock, app.db.clone())).await;
    let stats = sync::run(&state2.cache, None, &job, sync::Watch::none())
        .await
        .unwrap();
    assert_eq!(stats.slices_total, 20, "{stats:?}");
    assert_eq!(stats.slices_skipped, done as u64, "{stats:?}");
    assert_eq!(
        app.calls_to(BARS) - calls_when_killed,
        20 - done as u64,
        "{:?}",
        app.sim.stats().by_request
    );
    assert_eq!(
        app.calls_to("/markets/calendar"),
        1,
        "the calendar was fetched again"
    );
    let by_request = app.sim.stats().by_request;
    let twice: Vec<_> = by_request
        .iter()
        .filter(|(k, n)| k.starts_with(BARS) && **n > 1)
        .collect();
    assert!(twice.len() <= 1, "completed slices re-fetched: {twice:?}");
    // Everything synced is now answered from rows.
    let calls = app.upstream_calls();
    body(
        &app,
        &url2,
        "/v2/equities/bars/daily?code=7203&from=20250901&to=20250930",
    )
    .await;
    assert_eq!(app.upstream_calls(), calls);
}

#[tokio::test]
async fn the_scheduled_sync_fills_recent_days_and_reports_progress() {
    let opts = Options::default();
    let clock = jst::Clock::fixed(crate::helpers::default_now());
    let sim = crate::helpers::spawn_sim(&opts, &clock).await;
    let mut cfg = serve_config(&opts, &sim, &clock, None);
    cfg.sync.sync_datasets = vec![BARS.to_string()];
    cfg.sync.sync_days = 6;
    let (url, state) = start(cfg).await;
    let mut done = false;
    for _ in 0..200 {
        let s = state.cache.rows().stats().sync;
        if !s.running && s.slices_total > 0 && s.slices_done == s.slices_total {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(done, "{:?}", state.cache.rows().stats().sync);
    // Friday 2026-11-20 and the five days before: 14..20 November, business days 16..20.
    assert_eq!(sim.stats().by_path.get(BARS), Some(&5));
    let http = reqwest::Client::new();
    let stats: serde_json::Value = http
        .get(format!("{url}/admin/cache/stats"))
        .header("x-api-key", "admin-test-key")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["rows"]["sync"]["slices_done"], 5, "{stats}");
    let metrics = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The gauge is process-wide (other tests sync too), so only its presence is checked here.
    assert!(metrics.contains("jqp_sync_slices_done "), "{metrics}");
    // A client asking any code over those days costs nothing.
    let r = http
        .get(format!(
            "{url}/v2{BARS}?code=7203&from=20261116&to=20261120"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(sim.stats().by_path.get(BARS), Some(&5));
}

#[tokio::test]
async fn every_planned_endpoint_assembles_codes_from_its_cross_sections_byte_for_byte() {
    use jquants_proxy::rows::shape::SHAPES;
    // The daily datasets: every shape planned, closed days empty.
    let planned: Vec<&str> = (SHAPES.iter())
        .filter(|s| s.shapes.len() == 4 && s.closed_days_empty)
        .map(|s| s.path)
        .collect();
    let app = spawn_app().await;
    let url = app.url.clone();
    body(
        &app,
        &url,
        "/v2/markets/calendar?from=2025-03-01&to=2025-03-31",
    )
    .await;
    let mut answers = vec![];
    for path in &planned {
        for d in ["2025-03-03", "2025-03-04", "2025-03-05"] {
            let p = format!("/v2{path}?date={d}");
            answers.push((p.clone(), body(&app, &url, &p).await));
        }
    }
    let calls = app.upstream_calls();
    for path in &planned {
        let code = if path.starts_with("/indices") {
            "0000"
        } else {
            "7203"
        };
        for q in [
            format!("code={code}&from=2025-03-01&to=2025-03-05"),
            format!("code={code}&date=2025-03-04"),
            "date=2025-03-02".to_string(),
        ] {
            let p = format!("/v2{path}?{q}");
            answers.push((p.clone(), body(&app, &url, &p).await));
        }
    }
    assert_eq!(
        app.upstream_calls(),
        calls,
        "a held cross-section was fetched again"
    );
    assert_upstream_identical(&app, &answers).await;
}
