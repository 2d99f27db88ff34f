//! Dividend notices: the correction/deletion chain and the annual yields built on it.

use super::*;
use serde_json::json;

fn notice(pub_date: &str, refno: &str, ca: &str, stat: &str) -> DividendNotice {
    DividendNotice::from_row(
        &serde_json::from_value(json!({
            "PubDate": pub_date, "PubTime": "15:00", "Code": "86970", "RefNo": refno,
            "StatCode": stat, "BoardDate": pub_date, "IFCode": "2", "FRCode": "2",
            "IFTerm": "2023-03", "DivRate": "-", "RecDate": "2023-03-31",
            "ExDate": "2023-03-30", "ActRecDate": "2023-03-31", "PayDate": "-",
            "CARefNo": ca, "DistAmt": "", "RetEarn": "", "DeemDiv": "",
            "DeemCapGains": "", "NetAssetDecRatio": "", "CommSpecCode": "0",
            "CommDivRate": "", "SpecDivRate": ""
        }))
        .unwrap(),
    )
    .unwrap()
}

fn refs(v: &[NoticeInForce]) -> Vec<String> {
    v.iter().map(|c| c.notice.ref_no()).collect()
}

/// The reference page's example (86970, `docs/dividends.md`): new 1 (03-06), correction
/// 2 -> 1 (03-07), deletion 3 -> 1 (03-08), new 4 (03-09): only notice 4 is in force, with
/// no history.
#[test]
fn dividend_corrections_apply_in_disclosure_order() {
    let ns = [
        notice("2023-03-06", "1", "1", "1"),
        notice("2023-03-07", "2", "1", "2"),
        notice("2023-03-08", "3", "1", "3"),
        notice("2023-03-09", "4", "4", "1"),
    ];
    let f = apply_chain(&ns);
    assert_eq!(refs(&f), ["4"]);
    assert!(f[0].history.is_empty());
    // Same result whatever order the rows arrive in.
    let mut rev = ns.to_vec();
    rev.reverse();
    assert_eq!(refs(&apply_chain(&rev)), ["4"]);
}

#[test]
fn corrections_replace_and_keep_history() {
    let ns = [
        notice("2023-03-06", "1", "1", "1"),
        notice("2023-03-07", "2", "1", "2"),
        // A later correction naming the previous correction.
        notice("2023-03-08", "5", "2", "2"),
        notice("2023-03-08", "6", "6", "1"),
    ];
    let f = apply_chain(&ns);
    assert_eq!(refs(&f), ["5", "6"]);
    let hist: Vec<String> = f[0].history.iter().map(|n| n.ref_no()).collect();
    assert_eq!(hist, ["1", "2"]);
    let v = serde_json::to_value(&f[0]).unwrap();
    assert_eq!(v["RefNo"], json!("5"));
    assert_eq!(v["DivRate"], json!("-"), "passed through as sent");
    assert_eq!(v["History"][0]["RefNo"], json!("1"));
    assert_eq!(v.as_object().unwrap().len(), 24);
}

#[test]
fn orphan_corrections_stand_and_orphan_deletions_remove_nothing() {
    let ns = [
        notice("2023-03-07", "2", "1", "2"),
        notice("2023-03-08", "3", "9", "3"),
        notice("2023-03-09", "7", "2", "2"),
    ];
    let f = apply_chain(&ns);
    assert_eq!(refs(&f), ["7"]);
    assert_eq!(f[0].history.len(), 1);
    assert!(DividendNotice::from_row(&Row::new()).is_err());
}

fn div(
    pub_date: &str,
    refno: &str,
    if_code: &str,
    fr: &str,
    term: &str,
    rate: Value,
) -> NoticeInForce {
    let mut n = notice(pub_date, refno, refno, "1");
    n.if_code = json!(if_code);
    n.fr_code = json!(fr);
    n.if_term = json!(term);
    n.div_rate = rate;
    NoticeInForce {
        notice: n,
        history: vec![],
    }
}

#[test]
fn yields_of_decided_forecast_and_expected() {
    let close = Some((NaiveDate::from_ymd_opt(2025, 1, 10).unwrap(), 2_200.0));
    let f = [
        div("2024-04-30", "a", "1", "2", "2024-09", json!("45")),
        div("2024-04-30", "b", "2", "2", "2025-03", json!(60)),
        div("2024-10-30", "c", "1", "1", "2024-09", json!(50.0)),
        div("2024-04-30", "d", "2", "1", "2024-03", json!("40.0")),
        // A forecast revised by a new notice, not a correction: the newer counts.
        div("2023-04-28", "e", "2", "2", "2024-03", json!("35")),
        div("2023-10-28", "f", "2", "2", "2024-03", json!("38")),
    ];
    let y = annual_yields(&f, close);
    assert_eq!(y.len(), 2);
    let cur = &y[0];
    assert_eq!(cur.code, "86970");
    assert_eq!(cur.fiscal_year_end, "2025-03");
    assert_eq!(cur.decided_div, Some(50.0));
    assert_eq!(cur.forecast_div, Some(105.0));
    assert_eq!(cur.expected_div, Some(110.0));
    assert_eq!(cur.expected_yield, Some(0.05));
    assert_eq!(cur.decided_yield, Some(50.0 / 2_200.0));
    assert_eq!(cur.close_date.as_deref(), Some("2025-01-10"));
    assert_eq!(cur.periods.len(), 2);
    let prev = &y[1];
    assert_eq!(prev.fiscal_year_end, "2024-03");
    assert_eq!(prev.decided_div, Some(40.0));
    assert_eq!(prev.forecast_div, Some(38.0));
    assert_eq!(prev.expected_div, Some(40.0));
}

#[test]
fn unknown_amounts_are_not_zero() {
    let f = [
        div("2024-10-30", "c", "1", "1", "2024-09", json!(50.0)),
        div("2024-04-30", "b", "2", "2", "2025-03", json!("-")),
    ];
    let y = annual_yields(
        &f,
        Some((NaiveDate::from_ymd_opt(2025, 1, 10).unwrap(), 1_000.0)),
    );
    assert_eq!(y[0].decided_div, Some(50.0));
    assert_eq!(y[0].forecast_div, None);
    assert_eq!(y[0].expected_div, None);
    assert_eq!(y[0].expected_yield, None);
    assert_eq!(y[0].decided_yield, Some(0.05));
    // Nothing decided yet: null, not 0. No close: no yields.
    let g = [div("2024-04-30", "b", "2", "2", "2025-03", json!(""))];
    let y = annual_yields(&g, None);
    assert_eq!((y[0].decided_div, y[0].forecast_div), (None, None));
    assert_eq!(y[0].close, None);
    // Interim-only history: fiscal year assumed to end six months later.
    let h = [div("2024-10-30", "c", "1", "1", "2024-09", json!(10))];
    assert_eq!(annual_yields(&h, None)[0].fiscal_year_end, "2025-03");
    assert!(annual_yields(&[], None).is_empty());
}

#[test]
fn a_notice_serialises_to_exactly_the_upstream_keys_in_order() {
    let row: Row =
        serde_json::from_str(r#"{"RefNo":"1","PubDate":"2026-01-05","DivRate":"-"}"#).unwrap();
    let n = DividendNotice::from_row(&row).unwrap();
    let v = serde_json::to_value(&n).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, crate::catalog::fields_of("/fins/dividend"));
    assert_eq!(v["DivRate"], "-");
    assert_eq!(v["RefNo"], "1");
}
