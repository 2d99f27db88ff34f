//! Bulk files as whole-market history: the derived endpoints read months of data from a few
//! files rather than hundreds of date cross-sections, a client walking a month day by day
//! gets the API's exact bytes for three calls, and files whose CSV differs from the API's
//! JSON feed the derived figures only.

use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use futures::StreamExt;
use jquants_proxy::catalog::Plan;
use jquants_proxy::sim::Faults;
use serde_json::Value;

use crate::helpers::{Options, TestApp, serve_config, spawn_app_with, start};

fn standard(database: bool) -> Options {
    Options {
        plan: Plan::Standard,
        issues: 80,
        database,
        rate_window: Duration::from_millis(500),
        ..Options::default()
    }
}

async fn market(app: &TestApp, query: &str) -> Value {
    let r = app
        .get_with(
            &format!("/derived/margin/market?{query}"),
            "prefer",
            "wait=240",
        )
        .await;
    assert_eq!(r.status(), 200, "{query}");
    r.json().await.unwrap()
}

async fn bulk_stats(app: &TestApp) -> Value {
    let r = app
        .get_with("/admin/stats", "x-api-key", "admin-test-key")
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["bulk"].clone()
}

/// Every calendar day of October 2026, as `get_eq_bars_daily_range` asks for them.
fn october_days() -> Vec<String> {
    let first = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    first
        .iter_days()
        .take_while(|d| d.month() == 10)
        .map(|d| d.to_string())
        .collect()
}

/// The simulator's answers to `date=` for each day, asked directly (not through the proxy).
async fn upstream_days(app: &TestApp, days: &[String]) -> Vec<bytes::Bytes> {
    let mut out = Vec::new();
    for d in days {
        let r = app
            .direct(&format!("/v2/equities/bars/daily?date={d}"))
            .await;
        out.push(r.bytes().await.unwrap());
    }
    out
}

/// What `get_eq_bars_daily_range` does for a month of all codes: one `date=` request per
/// calendar day, five at a time. Each answer must be the simulator's, byte for byte.
/// Returns the upstream calls the proxy spent.
async fn walk_month(app: &TestApp, days: &[String]) -> u64 {
    let theirs = upstream_days(app, days).await;
    let before = app.upstream_calls();
    let ours: Vec<(String, bytes::Bytes)> = futures::stream::iter(days.iter().cloned())
        .map(|d| async move {
            let r = app.get(&format!("/v2/equities/bars/daily?date={d}")).await;
            assert_eq!(r.status(), 200, "{d}");
            (d, r.bytes().await.unwrap())
        })
        .buffered(5)
        .collect()
        .await;
    for ((d, ours), theirs) in ours.into_iter().zip(theirs) {
        assert!(
            ours == theirs,
            "{d}: the proxy's answer differs from the upstream's"
        );
    }
    app.upstream_calls() - before
}

/// Asserts two market tables are equal, naming the first differing row and field.
fn same_table(a: &Value, b: &Value, what: &str) {
    let (a, b) = (a["data"].as_array().unwrap(), b["data"].as_array().unwrap());
    assert_eq!(a.len(), b.len(), "{what}: row count");
    for (x, y) in a.iter().zip(b) {
        for (k, v) in x.as_object().unwrap() {
            assert_eq!(v, &y[k], "{what}: {} {k}", x["Date"]);
        }
    }
}

#[tokio::test]
async fn a_year_to_the_last_complete_month_costs_a_listing_per_dataset_and_a_call_per_month() {
    let app = spawn_app_with(standard(false)).await;
    let year = market(&app, "from=2025-10-31&to=2026-10-30").await;
    assert!(year["data"].as_array().unwrap().len() > 50);
    let total = app.upstream_calls();
    eprintln!(
        "year to October cold: {total} calls ({} gets)",
        app.calls_to("/bulk/get")
    );
    assert_eq!(app.calls_to("/bulk/list"), 3);
    assert!(total <= 60, "{total} calls");
}

#[tokio::test]
async fn a_year_of_market_margin_costs_files_not_hundreds_of_cross_sections() {
    let app = spawn_app_with(standard(true)).await;
    let year = market(&app, "from=2025-11-19&to=2026-11-19").await;
    assert!(year["data"].as_array().unwrap().len() > 50);
    let (lists, gets) = (app.calls_to("/bulk/list"), app.calls_to("/bulk/get"));
    let total = app.upstream_calls();
    eprintln!("year cold: {total} calls ({lists} lists, {gets} gets)");
    assert_eq!(
        lists, 3,
        "one listing per dataset: bars, margin interest, filings"
    );
    assert_eq!(gets, app.sim.stats().file_downloads, "one get per file");
    // Besides files: the calendar, and the closed days of this month that no day's file
    // covers (filings may be dated on them).
    for (k, _) in app.sim.stats().by_request {
        let closed_day_in_month = ["01", "03", "07", "08", "14", "15"]
            .iter()
            .any(|d| k == format!("/fins/summary?date=2026-11-{d}"));
        assert!(
            k.contains("/bulk/") || k == "/markets/calendar" || closed_day_in_month,
            "a cross-section a file covers: {k}"
        );
    }
    assert!(total <= 110, "{total} calls (659 day by day)");

    // A second replica on the same Postgres: the listings, files and rows are there, so the
    // same year costs it no call and no download.
    let (calls, downloads) = (app.upstream_calls(), app.sim.stats().file_downloads);
    let (url, _state) = start(serve_config(
        &standard(true),
        &app.sim,
        &app.clock,
        app.db.clone(),
    ))
    .await;
    let r = app
        .http
        .get(format!(
            "{url}/derived/margin/market?from=2025-11-19&to=2026-11-19"
        ))
        .header("prefer", "wait=240")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), year);
    assert_eq!(app.sim.stats().file_downloads, downloads);
    assert_eq!(app.upstream_calls(), calls);
}

/// Cold calls for one date's market row: (total, listings).
async fn one_date_cold(date: &str) -> (u64, u64) {
    let app = spawn_app_with(standard(false)).await;
    let day = market(&app, &format!("date={date}")).await;
    assert_eq!(day["data"].as_array().unwrap().len(), 1, "{date}");
    let total = app.upstream_calls();
    eprintln!(
        "{date} cold: {total} calls ({} gets)",
        app.calls_to("/bulk/get")
    );
    (total, app.calls_to("/bulk/list"))
}

#[tokio::test]
async fn one_date_of_market_margin_costs_files_for_its_look_back() {
    // Bars and margin interest from six months earlier (the cost estimate's holding period),
    // filings from 120 days earlier. A date of a past month: 6 + 6 + 4 monthly files, 3
    // listings, the calendar (304 calls day by day).
    let (total, lists) = one_date_cold("2026-10-30").await;
    assert_eq!(lists, 3);
    assert!(total <= 20, "{total} calls");
    // A date of the current month adds, per dataset, a daily file for each of its days so
    // far (the month has no monthly file yet), as many calls as its cross-sections.
    let (total, lists) = one_date_cold("2026-11-18").await;
    assert_eq!(lists, 3);
    assert!(total <= 64, "{total} calls");
}

#[tokio::test]
async fn derived_figures_from_files_equal_those_from_cross_sections() {
    let query = "from=2026-08-03&to=2026-11-19";
    let from_files = spawn_app_with(standard(false)).await;
    let by_day = spawn_app_with(Options {
        bulk_ingest: false,
        ..standard(false)
    })
    .await;
    // Files whose CSV spells numbers otherwise still give the same values.
    let respelled = spawn_app_with(Options {
        bulk_bare_integers: true,
        ..standard(false)
    })
    .await;
    let a = market(&from_files, query).await;
    let b = market(&by_day, query).await;
    let c = market(&respelled, query).await;
    assert!(from_files.calls_to("/bulk/get") > 0 && by_day.calls_to("/bulk/list") == 0);
    assert!(from_files.upstream_calls() * 3 < by_day.upstream_calls());
    assert!(a["data"].as_array().unwrap().len() > 10);
    same_table(&a, &b, "files against cross-sections");
    same_table(&c, &b, "respelled files against cross-sections");
}

#[tokio::test]
async fn a_client_walking_a_month_day_by_day_gets_the_apis_bytes_for_three_calls() {
    let app = spawn_app_with(standard(true)).await;
    let days = october_days();
    let calls = walk_month(&app, &days).await;
    let stats = bulk_stats(&app).await;
    assert_eq!(
        calls, 3,
        "the first day, the listing, the month's file: {stats}"
    );
    let bars = &stats["datasets"]["/equities/bars/daily"];
    assert_eq!(bars["trust"]["state"], "identical", "{stats}");
}

#[tokio::test]
async fn files_that_spell_numbers_otherwise_never_reach_the_mirror() {
    let app = spawn_app_with(Options {
        bulk_bare_integers: true,
        ..standard(true)
    })
    .await;
    let days = october_days();
    walk_month(&app, &days).await;
    // Every business day by cross-section (counted past the test's own direct reads), after
    // one try of the month's file; closed days from the trading calendar.
    let by_day = app.calls_to("/equities/bars/daily") as usize - days.len();
    let business = upstream_days(&app, &days)
        .await
        .iter()
        .filter(|b| b.len() > 20)
        .count();
    assert_eq!(by_day, business);
    assert_eq!(
        (app.calls_to("/bulk/list"), app.calls_to("/bulk/get")),
        (1, 1)
    );
    let stats = bulk_stats(&app).await;
    let bars = &stats["datasets"]["/equities/bars/daily"]["trust"];
    assert_eq!(bars["state"], "differs", "{stats}");
    let d = &bars["difference"];
    assert_ne!(d["api"], d["file"]);
    assert!(d["api"].as_str().unwrap().ends_with(".0"), "{d}");
}

#[tokio::test]
async fn the_free_plan_makes_no_bulk_call() {
    let app = spawn_app_with(Options {
        plan: Plan::Free,
        ..standard(false)
    })
    .await;
    let july: Vec<String> = (1..=31)
        .filter_map(|d| NaiveDate::from_ymd_opt(2026, 7, d))
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .take(6)
        .map(|d| d.to_string())
        .collect();
    for d in &july {
        let r = app.get(&format!("/v2/equities/bars/daily?date={d}")).await;
        assert_eq!(r.status(), 200, "{d}");
    }
    assert_eq!(app.calls_to("/bulk/list") + app.calls_to("/bulk/get"), 0);
}

#[tokio::test]
async fn a_file_missing_a_needed_column_sends_that_dataset_back_to_cross_sections() {
    let app = spawn_app_with(standard(false)).await;
    app.sim.set_faults(Faults {
        drop_column: Some("AdjFactor".into()),
        ..Faults::default()
    });
    let query = "from=2026-09-01&to=2026-11-19";
    let with_fault = market(&app, query).await;
    let stats = bulk_stats(&app).await;
    let bars = &stats["datasets"]["/equities/bars/daily"]["trust"];
    assert_eq!(bars["state"], "refused", "{stats}");
    assert!(
        bars["reason"].as_str().unwrap().contains("AdjFactor"),
        "{stats}"
    );
    assert!(
        app.calls_to("/equities/bars/daily") > 40,
        "bars came day by day"
    );
    let clean = spawn_app_with(Options {
        bulk_ingest: false,
        ..standard(false)
    })
    .await;
    same_table(
        &with_fault,
        &market(&clean, query).await,
        "after the refusal",
    );
}

#[tokio::test]
async fn a_truncated_download_is_neither_stored_nor_ingested_and_is_tried_again() {
    let app = spawn_app_with(standard(true)).await;
    app.sim.set_faults(Faults {
        truncate_files: Some(1),
        ..Faults::default()
    });
    let days = october_days();
    walk_month(&app, &days[..1]).await;
    // The cut file was refused, so the first day came by cross-section; the next day tries
    // the file again, which is whole now, and is compared with the day held.
    assert_eq!(app.sim.stats().file_downloads, 1);
    assert_eq!(bulk_stats(&app).await["files_ingested"], 0);
    walk_month(&app, &days[1..]).await;
    assert_eq!(app.sim.stats().file_downloads, 2);
    // One day by cross-section (past the test's own direct reads of every day).
    assert_eq!(
        app.calls_to("/equities/bars/daily") as usize - days.len(),
        1
    );
    let stats = bulk_stats(&app).await;
    assert_eq!(
        stats["datasets"]["/equities/bars/daily"]["trust"]["state"],
        "identical"
    );
}

#[tokio::test]
async fn a_corrected_file_is_ingested_again_and_its_rows_replace_the_old() {
    let app = spawn_app_with(standard(true)).await;
    let query = "from=2026-10-01&to=2026-10-30";
    let before = market(&app, query).await;
    let key = app
        .sim
        .stats()
        .downloads_by_key
        .keys()
        .find(|k| k.starts_with("equities/bars/daily/") && k.ends_with("_202610.csv.gz"))
        .expect("October's bars file was downloaded")
        .clone();
    let corrected: Value = app.correct_bulk_file(&key).await.json().await.unwrap();
    // After the next business day's update (Tuesday 24 November: the 23rd is a holiday) the
    // listing is read again and shows the new LastModified.
    app.clock
        .advance(chrono::Duration::days(4) + chrono::Duration::hours(2));
    let after = market(&app, query).await;
    assert_eq!(
        after["data"].as_array().unwrap().len(),
        before["data"].as_array().unwrap().len()
    );
    assert_eq!(
        app.sim.stats().downloads_by_key[&key],
        2,
        "the new version was downloaded"
    );
    let mut conn = sqlx::ConnectOptions::connect(app.db.as_ref().unwrap())
        .await
        .unwrap();
    let versions: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT last_modified FROM bulk_row WHERE file_key = $1")
            .bind(&key)
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        versions.len(),
        1,
        "the old version's rows are gone: {versions:?}"
    );
    let listed = corrected["LastModified"].as_str().unwrap();
    assert_eq!(versions[0].0, listed);
}
