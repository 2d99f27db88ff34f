//! The row store beyond daily bars: margin interest (weekly, then daily application dates)
//! and the listed-issue snapshot per date, proved with the simulator's call counts and
//! byte-for-byte comparison; and the `X-Cache` an answer assembled from rows reports.

use crate::helpers::{Options, TestApp, spawn_app, spawn_app_with};
use crate::rows::{assert_upstream_identical, body};

const MARGIN: &str = "/markets/margin-interest";
const MASTER: &str = "/equities/master";

/// GETs each of `paths` and keeps (path, body) for the byte-for-byte check.
async fn get_all(app: &TestApp, paths: &[&str], answers: &mut Vec<(String, bytes::Bytes)>) {
    for p in paths {
        answers.push((p.to_string(), body(app, &app.url, p).await));
    }
}

#[tokio::test]
async fn margin_interest_answers_sub_ranges_codes_and_closed_days_from_held_rows() {
    let app = spawn_app_with(Options::row_store_alone()).await;
    let mut answers = vec![];
    get_all(
        &app,
        &[
            "/v2/markets/calendar?from=2025-03-01&to=2025-03-31",
            "/v2/markets/margin-interest?code=72030",
        ],
        &mut answers,
    )
    .await;
    // Cross-sections of one week (application date Friday 7 March) and of one daily day.
    for d in [
        "20250303", "20250304", "20250305", "20250306", "20250307", "20261002",
    ] {
        let p = format!("/v2{MARGIN}?date={d}");
        answers.push((p.clone(), body(&app, &app.url, &p).await));
    }
    let calls = app.calls_to(MARGIN);
    assert_eq!(calls, 7);
    let held = answers.len();
    get_all(
        &app,
        &[
            // Sub-ranges of the held history, weekly and daily schema.
            "/v2/markets/margin-interest?code=7203&from=20250101&to=20250331",
            "/v2/markets/margin-interest?code=7203&from=2026-09-01&to=2026-10-31",
            "/v2/markets/margin-interest?code=72030&date=20250314",
            // Other codes inside the held cross-sections.
            "/v2/markets/margin-interest?code=6758&date=20250307",
            "/v2/markets/margin-interest?code=6758&from=20250301&to=20250309",
            "/v2/markets/margin-interest?code=8697&date=2026-10-02",
            // Closed days: a Saturday and a holiday (20 March) in the held calendar.
            "/v2/markets/margin-interest?date=20250308",
            "/v2/markets/margin-interest?date=20250320",
        ],
        &mut answers,
    )
    .await;
    assert_eq!(
        app.calls_to(MARGIN),
        calls,
        "held margin rows were fetched again"
    );
    for (p, b) in &answers[held..held + 6] {
        assert!(b.len() > 20, "{p}: the test asks for no rows");
    }
    assert_upstream_identical(&app, &answers).await;
}

#[tokio::test]
async fn the_listed_issues_of_a_held_date_answer_any_code_on_it() {
    let app = spawn_app().await;
    let mut answers = vec![];
    // A business day and a Saturday: the listing exists on both.
    get_all(
        &app,
        &[
            "/v2/equities/master?date=20250303",
            "/v2/equities/master?date=20250308",
        ],
        &mut answers,
    )
    .await;
    assert_eq!(
        app.calls_to(MASTER),
        2,
        "a closed day's listing is not empty"
    );
    get_all(
        &app,
        &[
            "/v2/equities/master?code=7203&date=20250303",
            "/v2/equities/master?code=67580&date=2025-03-08",
            "/v2/equities/master?code=130A0&date=20250303",
        ],
        &mut answers,
    )
    .await;
    assert_eq!(
        app.calls_to(MASTER),
        2,
        "a code inside a held listing cost a call"
    );
    // The latest listing is not named by date: fetched, never assembled.
    get_all(&app, &["/v2/equities/master?code=7203"], &mut answers).await;
    assert_eq!(app.calls_to(MASTER), 3);
    for (p, b) in &answers {
        assert!(b.len() > 20, "{p}: no rows");
    }
    assert_upstream_identical(&app, &answers).await;
}

#[tokio::test]
async fn an_answer_assembled_from_rows_without_a_call_is_a_rows_hit() {
    let app = spawn_app_with(Options::row_store_alone()).await;
    let header = |r: &reqwest::Response, h: &str| r.headers()[h].to_str().unwrap().to_string();
    let r = app.get("/v2/equities/bars/daily?code=72030").await;
    assert_eq!(
        (header(&r, "x-cache"), header(&r, "x-cache-tier")),
        ("MISS".into(), "upstream".into())
    );
    let calls = app.upstream_calls();
    let sub = "/v2/equities/bars/daily?code=7203&from=20250303&to=20250307";
    let r = app.get(sub).await;
    assert_eq!(
        (header(&r, "x-cache"), header(&r, "x-cache-tier")),
        ("HIT".into(), "rows".into())
    );
    assert_eq!(app.upstream_calls(), calls);
    // The same request again is an ordinary memory hit.
    let r = app.get(sub).await;
    assert_eq!(
        (header(&r, "x-cache"), header(&r, "x-cache-tier")),
        ("HIT".into(), "l1".into())
    );
    // A holiday before the calendar is held costs the calendar call: not a hit.
    let r = app.get("/v2/equities/bars/daily?date=20250320").await;
    assert_eq!(header(&r, "x-cache"), "MISS");
    assert_eq!(app.calls_to("/markets/calendar"), 1);
    assert_eq!(app.calls_to("/equities/bars/daily"), 1);
}
