//! Market cap per day: splits, filings taking over, effective days and nulls.

use chrono::{NaiveDate, NaiveTime};
use serde_json::json;

use super::*;

mod basis;

fn d(s: &str) -> NaiveDate {
    crate::jst::parse_date(s).unwrap()
}

fn bar(date: &str, c: Option<f64>, f: f64) -> Bar {
    Bar {
        date: d(date),
        code: "33500".into(),
        close: c,
        adj_factor: Some(f),
    }
}

fn st(date: &str, time: &str, no: &str, sh: Option<f64>, tr: Option<f64>) -> Statement {
    Statement {
        disc_date: d(date),
        disc_time: NaiveTime::parse_from_str(time, "%H:%M").ok(),
        disc_no: no.into(),
        per_end: None,
        sh_out: sh,
        tr_sh: tr,
    }
}

fn by_date(rows: &[MarketCapRow], date: &str) -> MarketCapRow {
    rows.iter().find(|r| r.date == date).unwrap().clone()
}

/// docs/market-cap.md: Metaplanet (33500), 1:10 split, ex-date 2025-03-28. Shares 36,268,334
/// from the 2025-03-03 statement, x10 = 362,683,340 from the ex-date, 459,906,340 from
/// the day after the 2025-05-14 15:30 statement. Closes are illustrative (the article's
/// table is a screenshot); the point is the price falls to 1/10 while the cap does not jump.
#[test]
fn a_split_multiplies_the_shares_and_keeps_the_cap_continuous() {
    let bars = vec![
        bar("2025-03-26", Some(4_120.0), 1.0),
        bar("2025-03-27", Some(4_000.0), 1.0),
        bar("2025-03-28", Some(400.0), 0.1),
        bar("2025-03-31", Some(390.0), 1.0),
        bar("2025-05-13", Some(520.0), 1.0),
        bar("2025-05-14", Some(530.0), 1.0),
        bar("2025-05-15", Some(540.0), 1.0),
    ];
    let statements = vec![
        // Out of order on purpose.
        st(
            "2025-05-14",
            "15:30",
            "20250514500000",
            Some(459_906_340.0),
            Some(0.0),
        ),
        st(
            "2025-03-03",
            "14:00",
            "20250303400000",
            Some(36_268_334.0),
            Some(0.0),
        ),
    ];
    let rows = compute("33500", &bars, &statements, &[]);
    let expect = [
        ("2025-03-26", 36_268_334.0, 1.0, "20250303400000"),
        ("2025-03-27", 36_268_334.0, 1.0, "20250303400000"),
        ("2025-03-28", 362_683_340.0, 10.0, "20250303400000"),
        ("2025-03-31", 362_683_340.0, 10.0, "20250303400000"),
        ("2025-05-13", 362_683_340.0, 10.0, "20250303400000"),
        // Disclosed 15:30 on 05-14: not yet known at that day's close.
        ("2025-05-14", 362_683_340.0, 10.0, "20250303400000"),
        ("2025-05-15", 459_906_340.0, 1.0, "20250514500000"),
    ];
    assert_eq!(rows.len(), expect.len());
    for (r, (date, sh, cum, no)) in rows.iter().zip(expect) {
        assert_eq!(r.date, date);
        assert_eq!(r.code, "33500");
        assert_eq!(r.sh_out, Some(sh), "{date}");
        assert_eq!(r.cum_factor, Some(cum), "{date}");
        assert_eq!(r.base_disc_no.as_deref(), Some(no), "{date}");
        assert_eq!(r.mkt_cap, Some(r.c.unwrap() * sh), "{date}");
        assert_eq!(r.mkt_cap_ex_tr, r.mkt_cap, "{date}: no treasury shares");
    }
    // Continuity across the split: 4,000 x 36,268,334 == 400 x 362,683,340.
    let before = by_date(&rows, "2025-03-27").mkt_cap.unwrap();
    let after = by_date(&rows, "2025-03-28").mkt_cap.unwrap();
    assert_eq!(before, 145_073_336_000.0);
    assert_eq!(after, 145_073_336_000.0);
}

#[test]
fn json_keys_are_exactly_the_documented_ones() {
    let rows = compute(
        "33500",
        &[bar("2025-03-28", Some(400.0), 0.1)],
        &[st("2025-03-03", "14:00", "1", Some(100.0), None)],
        &[],
    );
    let v = serde_json::to_value(&rows[0]).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
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
    // Unknown treasury shares: null, not omitted and not zero.
    assert_eq!(v["TrSh"], json!(null));
    assert_eq!(v["MktCapExTr"], json!(null));
    assert_eq!(v["ShOut"], json!(1000.0));
}

#[test]
fn treasury_shares_follow_the_splits() {
    let bars = [
        bar("2024-06-03", Some(100.0), 1.0),
        bar("2024-06-04", Some(50.0), 0.5),
    ];
    let s = [st(
        "2024-05-31",
        "13:00",
        "A",
        Some(1_000_000.0),
        Some(100_000.0),
    )];
    let rows = compute("33500", &bars, &s, &[]);
    assert_eq!(rows[1].sh_out, Some(2_000_000.0));
    assert_eq!(rows[1].tr_sh, Some(200_000.0));
    assert_eq!(rows[1].mkt_cap, Some(100_000_000.0));
    assert_eq!(rows[1].mkt_cap_ex_tr, Some(90_000_000.0));
}

#[test]
fn reverse_split() {
    // 10:1 reverse split: AdjFactor 10, shares / 10, price x10.
    let bars = [
        bar("2024-06-03", Some(50.0), 1.0),
        bar("2024-06-04", Some(500.0), 10.0),
    ];
    let s = [st(
        "2024-05-31",
        "13:00",
        "A",
        Some(5_000_000.0),
        Some(10_000.0),
    )];
    let rows = compute("33500", &bars, &s, &[]);
    assert_eq!(rows[1].sh_out, Some(500_000.0));
    assert_eq!(rows[1].tr_sh, Some(1_000.0));
    assert_eq!(rows[1].cum_factor, Some(0.1));
    assert_eq!(rows[0].mkt_cap, rows[1].mkt_cap);
}

#[test]
fn two_splits_between_filings_and_a_new_filing_resets() {
    let bars = [
        bar("2024-06-03", Some(1000.0), 1.0),
        bar("2024-06-04", Some(500.0), 0.5),
        bar("2024-06-05", Some(500.0), 1.0),
        bar("2024-06-06", Some(100.0), 0.2),
        bar("2024-06-07", Some(100.0), 1.0),
        bar("2024-06-10", Some(100.0), 1.0),
    ];
    let s = [
        st("2024-05-31", "13:00", "A", Some(1_000.0), None),
        // Already reflects both splits; effective 06-07 (before 15:00).
        st("2024-06-07", "11:00", "B", Some(10_000.0), None),
    ];
    let rows = compute("33500", &bars, &s, &[]);
    let sh: Vec<_> = rows.iter().map(|r| r.sh_out.unwrap()).collect();
    assert_eq!(
        sh,
        [1_000.0, 2_000.0, 2_000.0, 10_000.0, 10_000.0, 10_000.0]
    );
    assert_eq!(rows[3].cum_factor, Some(10.0));
    assert_eq!(rows[4].base_disc_no.as_deref(), Some("B"));
    assert_eq!(rows[4].cum_factor, Some(1.0));
}

#[test]
fn blank_share_count_revision_never_resets_the_base() {
    let bars = [
        bar("2024-06-03", Some(500.0), 0.5),
        bar("2024-06-05", Some(500.0), 1.0),
    ];
    let s = [
        st("2024-05-31", "13:00", "A", Some(1_000.0), Some(10.0)),
        // Forecast revision with blank counts, and one with "-" counts from JSON.
        st("2024-06-04", "10:00", "REV", None, None),
        Statement::from_row(
            &serde_json::from_value(json!({
                "DiscDate": "2024-06-04", "DiscTime": "11:00", "DiscNo": "REV2",
                "ShOutFY": "", "TrShFY": "-"
            }))
            .unwrap(),
        )
        .unwrap(),
    ];
    let rows = compute("33500", &bars, &s, &[]);
    assert_eq!(rows[1].base_disc_no.as_deref(), Some("A"));
    assert_eq!(rows[1].sh_out, Some(2_000.0));
    assert_eq!(rows[1].cum_factor, Some(2.0));
}

#[test]
fn after_close_and_weekend_disclosures_take_effect_next_business_day() {
    // 2024-06-07 is a Friday; 2024-06-10 a Monday.
    let bars = [
        bar("2024-06-06", Some(10.0), 1.0),
        bar("2024-06-07", Some(10.0), 1.0),
        bar("2024-06-10", Some(10.0), 1.0),
        bar("2024-06-11", Some(10.0), 1.0),
    ];
    let old = st("2024-05-31", "13:00", "OLD", Some(100.0), None);
    // 15:00 exactly counts as after the close.
    let at_close = st("2024-06-06", "15:00", "AT15", Some(200.0), None);
    let rows = compute("33500", &bars, &[old.clone(), at_close], &[]);
    assert_eq!(rows[0].base_disc_no.as_deref(), Some("OLD"));
    assert_eq!(rows[1].base_disc_no.as_deref(), Some("AT15"));

    let before = st("2024-06-06", "14:59", "B1459", Some(200.0), None);
    let rows = compute("33500", &bars, &[old.clone(), before], &[]);
    assert_eq!(rows[0].base_disc_no.as_deref(), Some("B1459"));

    // Saturday disclosure: Monday.
    let sat = st("2024-06-08", "10:00", "SAT", Some(300.0), None);
    let rows = compute("33500", &bars, &[old.clone(), sat], &[]);
    assert_eq!(rows[1].base_disc_no.as_deref(), Some("OLD"));
    assert_eq!(rows[2].base_disc_no.as_deref(), Some("SAT"));

    // Monday made a holiday by the calendar: Tuesday.
    let cal = [TradingDay {
        date: d("2024-06-10"),
        hol_div: "0".into(),
    }];
    let mon = st("2024-06-10", "10:00", "MON", Some(300.0), None);
    let rows = compute("33500", &bars, &[old.clone(), mon.clone()], &cal);
    assert_eq!(rows[2].base_disc_no.as_deref(), Some("OLD"));
    assert_eq!(rows[3].base_disc_no.as_deref(), Some("MON"));

    // Holiday trading ("3") is not an equity business day either.
    let cal3 = [TradingDay {
        date: d("2024-06-10"),
        hol_div: "3".into(),
    }];
    let rows = compute("33500", &bars, &[old.clone(), mon], &cal3);
    assert_eq!(rows[3].base_disc_no.as_deref(), Some("MON"));
    assert_eq!(rows[2].base_disc_no.as_deref(), Some("OLD"));

    // Blank disclosure time: assumed after the close.
    let blank = st("2024-06-06", "", "BLANK", Some(200.0), None);
    let rows = compute("33500", &bars, &[old, blank], &[]);
    assert_eq!(rows[0].base_disc_no.as_deref(), Some("OLD"));
    assert_eq!(rows[1].base_disc_no.as_deref(), Some("BLANK"));
}

#[test]
fn nulls_before_first_statement_and_on_no_close_days() {
    let bars = [
        bar("2024-06-03", Some(10.0), 1.0),
        bar("2024-06-04", None, 1.0),
        bar("2024-06-05", Some(10.0), 1.0),
    ];
    let s = [st("2024-06-03", "16:00", "A", Some(100.0), Some(0.0))];
    let rows = compute("33500", &bars, &s, &[]);
    let r0 = &rows[0];
    assert_eq!((r0.sh_out, r0.mkt_cap, r0.cum_factor), (None, None, None));
    assert_eq!(r0.base_disc_no, None);
    assert_eq!(r0.c, Some(10.0));
    let r1 = &rows[1];
    assert_eq!(r1.sh_out, Some(100.0));
    assert_eq!((r1.c, r1.mkt_cap, r1.mkt_cap_ex_tr), (None, None, None));
    assert_eq!(rows[2].mkt_cap, Some(1_000.0));
}

#[test]
fn other_codes_and_unordered_duplicate_bars() {
    let mut other = bar("2024-06-04", Some(1.0), 0.5);
    other.code = "72030".into();
    let bars = [
        bar("2024-06-05", Some(10.0), 1.0),
        other,
        bar("2024-06-04", Some(10.0), 1.0),
    ];
    let s = [st("2024-06-03", "10:00", "A", Some(100.0), None)];
    let rows = compute("3350", &bars, &s, &[]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].date, "2024-06-04");
    assert_eq!(rows[1].sh_out, Some(100.0));
}

#[test]
fn the_latest_disclosed_statement_wins_on_a_shared_effective_day() {
    let bars = [bar("2024-06-10", Some(10.0), 1.0)];
    let s = [
        st("2024-06-07", "16:00", "FRI-LATE", Some(300.0), None),
        st("2024-06-08", "09:00", "SAT", Some(400.0), None),
        st("2024-06-07", "15:30", "FRI", Some(200.0), None),
    ];
    let rows = compute("33500", &bars, &s, &[]);
    assert_eq!(rows[0].base_disc_no.as_deref(), Some("SAT"));
    assert_eq!(rows[0].sh_out, Some(400.0));
}

#[test]
fn rows_parse_from_upstream_json() {
    let b = Bar::from_row(
        &serde_json::from_value(json!({
            "Date": "2025-03-28", "Code": "33500", "C": 400.0, "AdjFactor": 0.1
        }))
        .unwrap(),
    )
    .unwrap();
    assert_eq!((b.close, b.adj_factor), (Some(400.0), Some(0.1)));
    let s = Statement::from_row(
        &serde_json::from_value(json!({
            "DiscDate": "2025-05-14", "DiscTime": "15:30:00", "DiscNo": "20250514500000",
            "ShOutFY": "459906340", "TrShFY": "0"
        }))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(s.sh_out, Some(459_906_340.0));
    assert_eq!(s.effective_date(&Calendar::default()), d("2025-05-15"));
    let t = TradingDay::from_row(
        &serde_json::from_value(json!({"Date": "2025-05-15", "HolDiv": "2"})).unwrap(),
    )
    .unwrap();
    assert!(t.is_equity_business_day());
    assert!(Bar::from_row(&serde_json::from_value(json!({"C": 1})).unwrap()).is_err());
}
