//! Properties of the whole market model: determinism by seed, consistent bars, and split
//! behaviour of raw versus adjusted prices (`docs/upstream.md`, `docs/market-cap.md`).

use super::Market;
use crate::sim::calendar::{self, ymd};

#[test]
fn fixed_codes_exist_and_market_is_deterministic() {
    let a = Market::new(42, 4000);
    let b = Market::new(42, 4000);
    let c = Market::new(7, 4000);
    assert!(
        (3990..=4010).contains(&a.issues.len()),
        "{}",
        a.issues.len()
    );
    for code in ["72030", "86970", "33500", "130A0"] {
        assert!(a.issue(code).is_some(), "{code}");
    }
    assert!(a.codes().any(|c| !c.ends_with('0')), "a preferred share");
    let ca: Vec<&str> = a.codes().collect();
    let cb: Vec<&str> = b.codes().collect();
    let cc: Vec<&str> = c.codes().collect();
    assert_eq!(ca, cb);
    assert_ne!(ca, cc);
    let d = ymd(2024, 6, 3);
    assert_eq!(
        a.issue("72030").unwrap().raw_bar(d),
        b.issue("72030").unwrap().raw_bar(d)
    );
    assert_ne!(
        a.issue("72030").unwrap().raw_bar(d),
        c.issue("72030").unwrap().raw_bar(d)
    );
    assert_eq!(a.all_splits(), b.all_splits());
    let n = a.all_splits().len();
    assert!(n > 200, "{n} splits");
}

#[test]
fn bars_are_consistent() {
    let m = Market::new(42, 500);
    for is in &m.issues {
        for d in calendar::business_days(ymd(2024, 1, 1), ymd(2024, 3, 1)).iter() {
            if *d < is.listed {
                continue;
            }
            if let Some(b) = is.raw_bar(*d) {
                assert!(
                    b.l <= b.o.min(b.c) && b.h >= b.o.max(b.c),
                    "{} {d} {b:?}",
                    is.code
                );
                assert!(b.ml >= b.l && b.mh <= b.h && b.al >= b.l && b.ah <= b.h);
                assert!(b.vo >= b.mvo && b.vo > 0.0 && b.va > 0.0);
            }
        }
    }
}

#[test]
fn code_33500_split() {
    let m = Market::new(42, 100);
    let is = m.issue("33500").unwrap();
    assert_eq!(is.adj_factor_on(ymd(2025, 3, 28)), 0.1);
    assert_eq!(is.adj_factor_on(ymd(2025, 3, 27)), 1.0);
    assert_eq!(is.adj_factor_on(ymd(2025, 3, 31)), 1.0);
    let before = is.raw_bar(ymd(2025, 3, 27)).unwrap().c;
    let after = is.raw_bar(ymd(2025, 3, 28)).unwrap().c;
    assert!((1000.0..20000.0).contains(&before), "{before}");
    assert!((100.0..2000.0).contains(&after), "{after}");
    assert!(before / after > 5.0 && before / after < 20.0);
    assert_eq!(is.shares_at(ymd(2024, 12, 31)), 36_268_334.0);
}

#[test]
fn raw_prices_jump_at_splits_and_adjusted_ones_do_not() {
    let m = Market::new(42, 4000);
    let mut checked = 0;
    for (code, s) in m.all_splits() {
        if s.ex_date > ymd(2026, 6, 1) || s.ex_date < ymd(2018, 1, 1) {
            continue;
        }
        let is = m.issue(code).unwrap();
        let prev = calendar::prev_business_day(s.ex_date);
        let (Some(a), Some(b)) = (is.raw_bar(prev), is.raw_bar(s.ex_date)) else {
            continue;
        };
        let vis = ymd(2026, 11, 20);
        let adj_prev = a.c * is.adj_multiplier(prev, vis);
        let adj_ex = b.c * is.adj_multiplier(s.ex_date, vis);
        let raw_ratio = b.c / a.c;
        let adj_ratio = adj_ex / adj_prev;
        // Raw moves by about the factor, adjusted by ordinary daily noise only.
        assert!(
            (raw_ratio / s.factor).ln().abs() < 0.25,
            "{code} {s:?} {raw_ratio}"
        );
        assert!(adj_ratio.ln().abs() < 0.25, "{code} {s:?} {adj_ratio}");
        checked += 1;
    }
    assert!(checked > 100);
}
