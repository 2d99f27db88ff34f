//! The market-wide margin page end to end: `/derived/margin/market` against the per-issue
//! routes, the charts and the HTML page, through the proxy's cache, against the simulator.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{Options, TestApp, spawn_app_with};

async fn data(app: &TestApp, path: &str) -> Vec<Value> {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    let v: Value = r.json().await.unwrap();
    v["data"].as_array().unwrap().clone()
}

/// A small market with a short rate window: the market route reads months of cross-sections.
async fn small_market() -> TestApp {
    spawn_app_with(Options {
        issues: 60,
        rate_window: Duration::from_millis(500),
        ..Options::default()
    })
    .await
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[tokio::test]
async fn market_totals_are_the_sums_of_the_per_issue_rows() {
    let app = small_market().await;
    // A weekly application date (09-18) and daily ones from 09-24 on.
    let (from, to) = ("2026-09-14", "2026-10-02");
    let q = format!("from={from}&to={to}&segment=Growth");
    let market = data(&app, &format!("/derived/margin/market?{q}")).await;
    assert!(market.len() >= 5, "{} rows", market.len());
    assert!(market.iter().any(|r| r["Freq"] == "weekly"));
    assert!(market.iter().any(|r| r["Freq"] == "daily"));

    // The same figures from the per-issue routes, summed by date.
    let master: Value = app
        .direct("/v2/equities/master")
        .await
        .json()
        .await
        .unwrap();
    let growth: Vec<String> = master["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["Mkt"] == "0113")
        .map(|r| r["Code"].as_str().unwrap().to_string())
        .collect();
    assert!(growth.len() > 5, "{} Growth issues", growth.len());
    let keys = [
        "LongVol", "ShrtVol", "LongVal", "ShrtVal", "LongCost", "LongPl",
    ];
    let mut sums: BTreeMap<String, HashMap<&str, f64>> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for code in &growth {
        for r in data(
            &app,
            &format!("/derived/margin?code={code}&from={from}&to={to}"),
        )
        .await
        {
            let day = sums.entry(r["Date"].as_str().unwrap().into()).or_default();
            for k in keys {
                *day.entry(k).or_default() += r[k].as_f64().unwrap_or(0.0);
            }
            *counts
                .entry(r["Date"].as_str().unwrap().into())
                .or_default() += 1;
        }
        for r in data(
            &app,
            &format!("/derived/market-cap?code={code}&from={from}&to={to}"),
        )
        .await
        {
            if let Some(m) = r["MktCapExTr"].as_f64() {
                let day = sums.entry(r["Date"].as_str().unwrap().into()).or_default();
                *day.entry("MktCapExTr").or_default() += m;
            }
        }
    }
    for row in &market {
        let date = row["Date"].as_str().unwrap();
        let want = &sums[date];
        assert_eq!(
            row["Issues"].as_u64().unwrap() as usize,
            counts[date],
            "{date}"
        );
        assert_eq!(row["Segment"], "Growth");
        for k in keys.into_iter().chain(["MktCapExTr"]) {
            let got = row[k].as_f64().unwrap();
            assert!(
                close(got, want[k]),
                "{date} {k}: market {got} vs sum {}",
                want[k]
            );
        }
        let (pl, cost) = (want["LongPl"], want["LongCost"]);
        assert!(close(row["PlRate"].as_f64().unwrap(), pl / cost), "{date}");
        let (l, s) = (want["LongVol"], want["ShrtVol"]);
        assert!(close(row["MarginRatio"].as_f64().unwrap(), l / s));
        assert!(close(
            row["LongValToMktCap"].as_f64().unwrap(),
            want["LongVal"] / want["MktCapExTr"]
        ));
    }
}

#[tokio::test]
async fn market_rows_come_from_date_cross_sections_and_are_stored() {
    let app = small_market().await;
    // Published the next business day: 11-18 is in by the fixed clock (11-20 evening).
    let path = "/derived/margin/market?date=2026-11-18";
    let first = data(&app, path).await;
    assert_eq!(first.len(), 1);
    let r = &first[0];
    assert_eq!(r["Date"], "2026-11-18");
    assert!(r["Segment"].is_null());
    assert!(r["Issues"].as_u64().unwrap() > 10);
    assert!(r["MktCapIssues"].as_u64().unwrap() >= r["Issues"].as_u64().unwrap() / 2);
    assert_eq!(
        r["ValSource"], "upstream",
        "daily rows carry JPX's yen values"
    );
    let pl = r["PlRate"].as_f64().unwrap();
    assert!(pl > -0.6 && pl < 0.6, "{pl}");
    // One call per application date for the margin balances: six months of them, not one per
    // issue (60 issues, each with a margin row on most dates).
    let margin_calls = app.calls_to("/markets/margin-interest");
    assert!(margin_calls <= 26 + 45, "{margin_calls} margin calls");
    // Asked again: nothing upstream.
    let calls = app.upstream_calls();
    assert_eq!(data(&app, path).await, first);
    assert_eq!(app.upstream_calls(), calls);
    // Bad input is a 400 before any upstream call.
    for (bad, want) in [
        (
            "/derived/margin/market",
            "requires the parameter date or from",
        ),
        (
            "/derived/margin/market?date=2026-11-20&segment=Nope",
            "Invalid segment",
        ),
        (
            "/derived/margin/market?from=2020-01-01&to=2026-01-01",
            "at most",
        ),
        (
            "/derived/margin/market?code=7203&date=2026-11-20",
            "Unexpected parameter",
        ),
    ] {
        let r = app.get(bad).await;
        assert_eq!(r.status(), 400, "{bad}");
        let v: Value = r.json().await.unwrap();
        assert!(v["message"].as_str().unwrap().contains(want), "{bad}: {v}");
    }
    assert_eq!(app.upstream_calls(), calls);
}

#[tokio::test]
async fn per_issue_estimate_is_consistent_with_its_balance_and_close() {
    let app = small_market().await;
    let rows = data(
        &app,
        "/derived/margin?code=7203&from=2026-06-01&to=2026-11-20",
    )
    .await;
    let mut estimated = 0;
    for r in &rows {
        let (Some(cost), Some(pl)) = (r["LongCost"].as_f64(), r["LongPl"].as_f64()) else {
            continue;
        };
        let value = r["LongVol"].as_f64().unwrap() * r["Close"].as_f64().unwrap();
        assert!(close(pl, value - cost), "{r}");
        assert!(close(r["PlRate"].as_f64().unwrap(), pl / cost), "{r}");
        estimated += 1;
    }
    assert!(estimated > 20, "{estimated} rows with an estimate");
}

#[tokio::test]
async fn charts_and_the_page_render() {
    let app = small_market().await;
    for path in [
        "/charts/margin.svg?code=7203",
        "/charts/market-cap.svg?code=3350&from=2025-01-01&to=2025-06-30",
        "/charts/margin/market.svg?from=2026-11-02&to=2026-11-20",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], "image/svg+xml", "{path}");
        let svg = r.text().await.unwrap();
        assert!(svg.starts_with("<svg"), "{path}");
        assert!(svg.contains("<polyline"), "{path}: no line drawn");
        assert!(svg.contains("億円"), "{path}: no unit");
    }
    let pl = app
        .get("/charts/margin.svg?code=7203")
        .await
        .text()
        .await
        .unwrap();
    for level in ["-3.5 %", "-10 %", "-15 %", "%", "倍"] {
        assert!(pl.contains(level), "{level} missing");
    }
    let page = app.get("/margin?code=7203").await;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"margin-table\""));
    assert!(html.matches("<tr><td>").count() > 20, "table rows");
    assert!(html.contains("/charts/margin.svg?") && html.contains("/charts/market-cap.svg?"));
    let r = app.get("/margin?code=7203&segment=Prime").await;
    assert_eq!(r.status(), 400);
}
