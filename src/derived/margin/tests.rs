//! Margin rows per issue: ratios, changes, yen values and the two upstream schemas.

use super::*;
use serde_json::json;

fn d(s: &str) -> NaiveDate {
    crate::jst::parse_date(s).unwrap()
}

fn parse(v: serde_json::Value) -> MarginInterest {
    MarginInterest::from_row(&serde_json::from_value(v).unwrap()).unwrap()
}

fn bar(date: &str, c: Option<f64>) -> Bar {
    Bar {
        date: d(date),
        code: "86970".into(),
        close: c,
        adj_factor: Some(1.0),
    }
}

fn cap(date: &str, ex_tr: Option<f64>) -> MarketCapRow {
    MarketCapRow {
        date: date.into(),
        code: "86970".into(),
        c: None,
        sh_out: None,
        tr_sh: None,
        mkt_cap: None,
        mkt_cap_ex_tr: ex_tr,
        base_disc_no: None,
        sh_out_basis: None,
        cum_factor: None,
    }
}

/// The older 9-key schema (`docs/margin.md`; numbers as JSON numbers).
fn old_week(date: &str, long: f64, short: f64) -> MarginInterest {
    parse(json!({
        "Date": date, "Code": "86970", "ShrtVol": short, "LongVol": long,
        "ShrtNegVol": 1000.0, "LongNegVol": 2000.0, "ShrtStdVol": short - 1000.0,
        "LongStdVol": long - 2000.0, "IssType": "2"
    }))
}

#[test]
fn weekly_rows_ratio_net_change_and_estimated_values() {
    let rows = [
        old_week("2023-03-24", 234_567.0, 123_456.0),
        old_week("2023-03-17", 200_000.0, 100_000.0),
    ];
    let bars = [
        bar("2023-03-16", Some(2_000.0)),
        bar("2023-03-17", Some(2_100.0)),
        bar("2023-03-24", Some(2_200.0)),
    ];
    let caps = [
        cap("2023-03-17", Some(1e12)),
        cap("2023-03-24", Some(1.1e12)),
    ];
    let out = compute(&rows, &bars, &caps);
    assert_eq!(out.len(), 2);
    let (a, b) = (&out[0], &out[1]);
    assert_eq!(a.date, "2023-03-17");
    assert_eq!(a.margin_ratio, Some(2.0));
    assert_eq!(a.net_vol, Some(100_000.0));
    assert_eq!(
        (a.long_vol_chg, a.shrt_vol_chg, a.net_vol_chg),
        (None, None, None)
    );
    assert_eq!(a.long_val, Some(200_000.0 * 2_100.0));
    assert_eq!(a.shrt_val, Some(100_000.0 * 2_100.0));
    assert_eq!(a.val_source, Some(ValSource::Estimated));
    assert_eq!(a.long_val_to_mkt_cap, Some(200_000.0 * 2_100.0 / 1e12));
    assert_eq!(a.freq, Frequency::Weekly);
    assert_eq!(a.pub_date, None);

    assert_eq!(b.margin_ratio, Some(234_567.0 / 123_456.0));
    assert_eq!(b.long_vol_chg, Some(34_567.0));
    assert_eq!(b.shrt_vol_chg, Some(23_456.0));
    assert_eq!(b.net_vol_chg, Some(11_111.0));
    assert_eq!(
        (b.long_std_vol, b.long_neg_vol),
        (Some(232_567.0), Some(2_000.0))
    );
    assert_eq!(
        (b.shrt_std_vol, b.shrt_neg_vol),
        (Some(122_456.0), Some(1_000.0))
    );
    assert_eq!(b.close_date.as_deref(), Some("2023-03-24"));
}

#[test]
fn zero_short_gives_null_ratio_and_unknown_cap_gives_null_share() {
    let rows = [old_week("2023-03-24", 5_000.0, 0.0)];
    let out = compute(
        &rows,
        &[bar("2023-03-24", Some(100.0))],
        &[cap("2023-03-24", None)],
    );
    assert_eq!(out[0].margin_ratio, None);
    assert_eq!(out[0].net_vol, Some(5_000.0));
    assert_eq!(out[0].long_val, Some(500_000.0));
    assert_eq!(out[0].long_val_to_mkt_cap, None);
    // No market-cap rows at all.
    let out = compute(&rows, &[bar("2023-03-24", Some(100.0))], &[]);
    assert_eq!(out[0].long_val_to_mkt_cap, None);
}

#[test]
fn close_is_the_last_business_day_on_or_before_the_date() {
    // Application date on a holiday Friday: Thursday's close is used.
    let rows = [old_week("2023-03-24", 10.0, 5.0)];
    let out = compute(
        &rows,
        &[
            bar("2023-03-22", Some(1.0)),
            bar("2023-03-23", Some(3.0)),
            bar("2023-03-27", Some(9.0)),
        ],
        &[],
    );
    assert_eq!(out[0].close, Some(3.0));
    assert_eq!(out[0].close_date.as_deref(), Some("2023-03-23"));
    assert_eq!(out[0].long_val, Some(30.0));
    // That day had no trade: no guess from an older close.
    let out = compute(
        &rows,
        &[bar("2023-03-22", Some(1.0)), bar("2023-03-24", None)],
        &[],
    );
    assert_eq!(
        (out[0].close, out[0].long_val, out[0].val_source),
        (None, None, None)
    );
    // No bars at all.
    let out = compute(&rows, &[], &[]);
    assert_eq!((out[0].close_date.clone(), out[0].shrt_val), (None, None));
}

#[test]
fn daily_rows_use_upstream_values_and_mix_with_weekly() {
    let weekly = parse(json!({
        "PubDate": "2026-09-24", "Date": "2026-09-18", "Code": "86970", "IssType": "2",
        "ShrtVol": 100.0, "LongVol": 300.0, "ShrtNegVol": 0.0, "LongNegVol": 0.0,
        "ShrtStdVol": 100.0, "LongStdVol": 300.0, "ShrtVal": null, "LongVal": null,
        "ShrtNegVal": null, "LongNegVal": null, "ShrtStdVal": null, "LongStdVal": null
    }));
    let daily = parse(json!({
        "PubDate": "2026-09-28", "Date": "2026-09-25", "Code": "86970", "IssType": "2",
        "ShrtVol": "120", "LongVol": "330", "ShrtNegVol": "0", "LongNegVol": "0",
        "ShrtStdVol": "120", "LongStdVol": "330", "ShrtVal": "250000", "LongVal": "700000",
        "ShrtNegVal": "0", "LongNegVal": "0", "ShrtStdVal": "250000", "LongStdVal": "700000"
    }));
    // The weekly row for the same application date, published earlier: replaced.
    let mut weekly_dup = weekly.clone();
    weekly_dup.date = d("2026-09-25");
    weekly_dup.pub_date = Some(d("2026-09-26"));
    let bars = [
        bar("2026-09-18", Some(2_000.0)),
        bar("2026-09-25", Some(2_100.0)),
    ];
    let caps = [cap("2026-09-25", Some(7_000_000.0))];
    let out = compute(&[daily, weekly_dup, weekly], &bars, &caps);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].freq, Frequency::Weekly);
    assert_eq!(out[0].val_source, Some(ValSource::Estimated));
    assert_eq!(out[0].long_val, Some(600_000.0));
    let r = &out[1];
    assert_eq!(r.freq, Frequency::Daily);
    assert_eq!(r.pub_date.as_deref(), Some("2026-09-28"));
    assert_eq!(r.val_source, Some(ValSource::Upstream));
    assert_eq!((r.long_val, r.shrt_val), (Some(700_000.0), Some(250_000.0)));
    assert_eq!(r.long_val_to_mkt_cap, Some(0.1));
    assert_eq!(r.long_vol_chg, Some(30.0));
    assert_eq!(r.shrt_vol_chg, Some(20.0));
    assert_eq!(r.margin_ratio, Some(2.75));
}

#[test]
fn changes_never_cross_codes() {
    let mut other = old_week("2023-03-17", 1.0, 1.0);
    other.code = "72030".into();
    let out = compute(&[old_week("2023-03-24", 10.0, 5.0), other], &[], &[]);
    assert_eq!(out[0].code, "72030");
    assert_eq!(out[1].long_vol_chg, None);
}

#[test]
fn json_keys_include_every_documented_figure() {
    let out = compute(&[old_week("2023-03-24", 10.0, 5.0)], &[], &[]);
    let v = serde_json::to_value(&out[0]).unwrap();
    for k in [
        "Date",
        "Code",
        "LongVol",
        "ShrtVol",
        "MarginRatio",
        "NetVol",
        "LongVolChg",
        "ShrtVolChg",
        "LongStdVol",
        "LongNegVol",
        "ShrtStdVol",
        "ShrtNegVol",
        "LongVal",
        "ShrtVal",
        "ValSource",
        "LongValToMktCap",
    ] {
        assert!(v.get(k).is_some(), "{k} missing");
    }
    assert_eq!(v["Freq"], json!("weekly"));
    assert_eq!(v["ValSource"], json!(null));
}
