//! Derived endpoints end to end: through the proxy's cache, against the simulator.

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

async fn data(app: &TestApp, path: &str) -> Vec<Value> {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    let v: Value = r.json().await.unwrap();
    v["data"].as_array().unwrap().clone()
}

fn by_date<'a>(rows: &'a [Value], d: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["Date"] == d)
        .unwrap_or_else(|| panic!("no row for {d}"))
}

/// The worked example of docs/market-cap.md: Metaplanet (33500), 1:10 split on 2025-03-28.
#[tokio::test]
async fn market_cap_of_33500_stays_continuous_across_its_split() {
    let app = spawn_app().await;
    let rows = data(
        &app,
        "/derived/market-cap?code=3350&from=2025-03-25&to=2025-05-20",
    )
    .await;
    let keys: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "Date",
            "Code",
            "C",
            "ShOut",
            "TrSh",
            "MktCap",
            "MktCapExTr",
            "BaseDiscNo",
            "ShOutBasis",
            "CumFactor"
        ]
    );
    let before = by_date(&rows, "2025-03-27");
    let ex = by_date(&rows, "2025-03-28");
    assert_eq!(before["ShOut"], json!(36268334.0));
    assert_eq!(ex["ShOut"], json!(362683340.0));
    assert_eq!(ex["CumFactor"], json!(10.0));
    // The price falls to about a tenth; market cap does not jump.
    let (c0, c1) = (before["C"].as_f64().unwrap(), ex["C"].as_f64().unwrap());
    assert!(
        c1 < c0 / 5.0,
        "raw close should drop with a 1:10 split ({c0} -> {c1})"
    );
    let (m0, m1) = (
        before["MktCap"].as_f64().unwrap(),
        ex["MktCap"].as_f64().unwrap(),
    );
    assert!(
        (m1 / m0 - 1.0).abs() < 0.25,
        "market cap jumped: {m0} -> {m1}"
    );
    // The 2025-05-14 statement was disclosed at 15:30: it counts from the next business day.
    assert_eq!(by_date(&rows, "2025-05-14")["ShOut"], json!(362683340.0));
    assert_eq!(by_date(&rows, "2025-05-15")["ShOut"], json!(459906340.0));
    assert_eq!(by_date(&rows, "2025-05-15")["CumFactor"], json!(1.0));
    for r in &rows {
        let (c, s, m) = (r["C"].as_f64(), r["ShOut"].as_f64(), r["MktCap"].as_f64());
        match (c, s) {
            (Some(c), Some(s)) => assert!((m.unwrap() - c * s).abs() < 1.0),
            _ => assert!(r["MktCap"].is_null()),
        }
    }
    // Inputs came through the cache: asking again costs nothing upstream.
    let calls = app.upstream_calls();
    data(&app, "/derived/market-cap?code=33500&date=2025-03-28").await;
    assert_eq!(app.upstream_calls(), calls);
}

#[tokio::test]
async fn margin_ratios_over_weekly_and_daily_rows() {
    let app = spawn_app().await;
    let rows = data(
        &app,
        "/derived/margin?code=7203&from=2026-08-01&to=2026-11-20",
    )
    .await;
    assert!(rows.len() > 20, "{} rows", rows.len());
    let weekly = rows.iter().filter(|r| r["Freq"] == "weekly").count();
    let daily = rows.iter().filter(|r| r["Freq"] == "daily").count();
    assert!(weekly > 0 && daily > 0, "weekly {weekly}, daily {daily}");
    for r in &rows {
        let (l, s) = (
            r["LongVol"].as_f64().unwrap(),
            r["ShrtVol"].as_f64().unwrap(),
        );
        if s == 0.0 {
            assert!(r["MarginRatio"].is_null());
        } else {
            assert!((r["MarginRatio"].as_f64().unwrap() - l / s).abs() < 1e-9);
        }
        assert_eq!(r["NetVol"].as_f64().unwrap(), l - s);
        if let (Some(v), Some(m)) = (r["LongVal"].as_f64(), r["MktCapExTr"].as_f64()) {
            assert!((r["LongValToMktCap"].as_f64().unwrap() - v / m).abs() < 1e-12);
        }
    }
    assert!(rows.iter().any(|r| r["ValSource"] == "upstream"));
    // Rows with the upstream's yen values are the daily ones.
    for r in rows.iter().filter(|r| r["ValSource"] == "upstream") {
        assert_eq!(r["Freq"], "daily", "{r}");
    }
    assert!(rows.iter().any(|r| r["ValSource"] == "estimated"));
}

#[tokio::test]
async fn dividends_with_corrections_applied() {
    let app = spawn_app().await;
    // Find a code whose notices include a correction or a deletion.
    let master: Value = app.direct_json("/v2/equities/master").await;
    let mut checked = false;
    for issue in master["data"].as_array().unwrap().iter().take(80) {
        let code = issue["Code"].as_str().unwrap();
        let notices: Value = app
            .direct_json(&format!("/v2/fins/dividend?code={code}"))
            .await;
        let notices = notices["data"].as_array().unwrap();
        let deleted: Vec<&str> = notices
            .iter()
            .filter(|n| n["StatCode"] == "3")
            .map(|n| n["CARefNo"].as_str().unwrap())
            .collect();
        let corrected = notices.iter().any(|n| n["StatCode"] == "2");
        if deleted.is_empty() || !corrected {
            continue;
        }
        let answer = data(&app, &format!("/derived/dividends?code={code}")).await;
        let in_force = answer[0]["Notices"]
            .as_array()
            .or_else(|| answer[0]["notices"].as_array())
            .unwrap();
        for n in in_force {
            assert_ne!(n["StatCode"], "3", "a deletion is never in force");
            assert!(
                !deleted.contains(&n["CARefNo"].as_str().unwrap_or("")),
                "a deleted chain is still in force"
            );
        }
        assert!(
            in_force
                .iter()
                .any(|n| !n["History"].as_array().map(Vec::is_empty).unwrap_or(true)),
            "no correction history shown"
        );
        checked = true;
        break;
    }
    assert!(
        checked,
        "no code with both corrections and deletions in the simulated data"
    );
}

#[tokio::test]
async fn margin_account_reproduces_the_jsf_example() {
    let app = spawn_app().await;
    let body = json!({
        "Cash": 0,
        "Pledged": [{"Value": 750000}],
        "Positions": [{"Code": "7203", "Side": "long", "Kind": "standardized", "Quantity": 2000, "EntryPrice": 1000, "Price": 850}]
    });
    let r = app.post_json("/derived/margin-account", &body).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let report = &v["data"][0];
    assert_eq!(report["Deposit"], json!(300000.0), "{report}");
    assert_eq!(report["MaintenanceRatio"], json!(0.15));
    assert_eq!(report["MarginCall"], json!(100000.0));
    // Bad input is a 400 that names the field, and costs nothing upstream.
    let calls = app.upstream_calls();
    let bad = json!({"Cash": 0, "Positions": [{"Code": "7203", "Side": "buy", "Kind": "standardized", "Quantity": 1, "EntryPrice": 1}]});
    let r = app.post_json("/derived/margin-account", &bad).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("Side"), "{v}");
    assert_eq!(app.upstream_calls(), calls);
}

#[tokio::test]
async fn derived_parameters_are_validated_before_any_upstream_call() {
    let app = spawn_app().await;
    for (path, want) in [
        ("/derived/market-cap", "requires the parameter code"),
        (
            "/derived/market-cap?code=33500&date=20250230",
            "Invalid date",
        ),
        (
            "/derived/market-cap?code=33500&date=2025-03-28&from=2025-03-01",
            "either date or from/to",
        ),
        (
            "/derived/margin?code=7203&from=2026-02-01&to=2026-01-01",
            "must not be after",
        ),
        (
            "/derived/dividends?code=7203&from=2026-01-01",
            "Unexpected parameter",
        ),
        ("/derived/market-cap?code=x", "Invalid code"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 400, "{path}");
        let v: Value = r.json().await.unwrap();
        assert!(v["message"].as_str().unwrap().contains(want), "{path}: {v}");
    }
    assert_eq!(app.upstream_calls(), 0);
}

#[tokio::test]
async fn market_cap_shares_follow_every_split_including_those_before_a_filing() {
    // The simulator knows the true share count and files counts restated for splits before the
    // release, as Japanese filings do; splits are its only other change, so once a statement is
    // in force the derived count must equal the truth on every day, whether a split falls before
    // the period end, between period end and filing, or after the filing.
    let app = spawn_app().await;
    let market = app.sim.market();
    let mut codes: Vec<String> = market
        .all_splits()
        .into_iter()
        .map(|(c, _)| c.to_string())
        .filter(|c| c != "33500")
        .collect();
    codes.sort();
    codes.dedup();
    let mut checked_days = 0;
    let mut gap_splits = 0;
    for code in codes.iter().take(10) {
        let issue = market.issue(code).unwrap();
        let filings: Value = app
            .direct(&format!("/v2/fins/summary?code={code}"))
            .await
            .json()
            .await
            .unwrap();
        let period_end = |no: &str| {
            filings["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["DiscNo"] == no)
                .and_then(|f| jquants_proxy::jst::parse_date(f["CurPerEn"].as_str()?))
        };
        let rows = data(&app, &format!("/derived/market-cap?code={code}")).await;
        let mut prev_base: Option<String> = None;
        for r in &rows {
            let (Some(sh), Some(date)) = (r["ShOut"].as_f64(), r["Date"].as_str()) else {
                continue;
            };
            let d = jquants_proxy::jst::parse_date(date).unwrap();
            // The simulator rounds share counts at each period end, so a multiplied-up count can
            // differ from its own by a share or two.
            let truth = issue.shares_at(d);
            assert!(
                (sh - truth).abs() <= (truth * 1e-6).max(1.0),
                "{code} on {date}: {truth} vs {r}"
            );
            let base = r["BaseDiscNo"].as_str().map(str::to_string);
            if base != prev_base {
                // A statement took effect: was there a split between its period end and today?
                let pe = period_end(base.as_deref().unwrap()).unwrap();
                if issue
                    .splits
                    .iter()
                    .any(|s| s.ex_date > pe && s.ex_date <= d)
                {
                    gap_splits += 1;
                    assert_eq!(r["ShOutBasis"], "restated", "{r}");
                }
            }
            prev_base = base;
            checked_days += 1;
        }
    }
    assert!(checked_days > 2_000, "only {checked_days} days checked");
    assert!(
        gap_splits > 0,
        "no split between a period end and its filing was exercised"
    );
}
