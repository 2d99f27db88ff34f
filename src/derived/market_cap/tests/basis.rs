//! Market cap when a split falls between a filing's period end and its release: the
//! restated and period-end readings of the filed counts (docs/share-counts.md).

use super::*;

fn with_period_end(mut s: Statement, pe: &str) -> Statement {
    s.per_end = Some(d(pe));
    s
}

/// Period ends 3/31 with 1,000 shares (the previous filing, effective 2/14); a 1:2 split
/// on 4/15; the quarter is filed 5/14 before 15:00; another 1:2 split on 6/2.
fn split_after_period_end_bars() -> Vec<Bar> {
    vec![
        bar("2025-02-14", Some(100.0), 1.0),
        bar("2025-03-31", Some(100.0), 1.0),
        bar("2025-04-15", Some(50.0), 0.5),
        bar("2025-05-13", Some(50.0), 1.0),
        bar("2025-05-14", Some(50.0), 1.0),
        bar("2025-06-02", Some(25.0), 0.5),
    ]
}

/// The previous filing (1,000 shares at the 12/31 period end, filed 2/14) and the quarter's,
/// filed 5/14 before 15:00 for the period ending 3/31 with `sh` issued and `tr` treasury
/// shares.
fn filings(sh: f64, tr: Option<f64>) -> (Statement, Statement) {
    let prev = with_period_end(
        st("2025-02-14", "10:00", "P", Some(1000.0), None),
        "2024-12-31",
    );
    let q = with_period_end(st("2025-05-14", "14:00", "Q", Some(sh), tr), "2025-03-31");
    (prev, q)
}

#[test]
fn a_restated_filing_is_not_multiplied_by_splits_before_its_release() {
    let (prev, q) = filings(2000.0, Some(200.0));
    let rows = compute(
        "33500",
        &split_after_period_end_bars(),
        &[prev, q.clone()],
        &[],
    );
    assert_eq!(by_date(&rows, "2025-05-13").sh_out, Some(2000.0));
    let on = by_date(&rows, "2025-05-14");
    assert_eq!(on.sh_out, Some(2000.0), "counted twice would be 4,000");
    assert_eq!(on.sh_out_basis, Some(Basis::Restated));
    assert_eq!(
        (on.tr_sh, on.cum_factor, on.mkt_cap),
        (Some(200.0), Some(1.0), Some(100_000.0))
    );
    assert_eq!(by_date(&rows, "2025-06-02").sh_out, Some(4000.0));
    // With no previous filing the restated reading is the default.
    let rows = compute("33500", &split_after_period_end_bars(), &[q], &[]);
    assert_eq!(by_date(&rows, "2025-05-14").sh_out, Some(2000.0));
    assert_eq!(
        by_date(&rows, "2025-05-14").sh_out_basis,
        Some(Basis::Restated)
    );
}

#[test]
fn a_period_end_filing_gets_the_splits_since_its_period_end() {
    // This filer did not restate: 1,000 is the 3/31 count, before the 4/15 split.
    let (prev, q) = filings(1010.0, Some(100.0));
    let rows = compute("33500", &split_after_period_end_bars(), &[prev, q], &[]);
    let on = by_date(&rows, "2025-05-14");
    assert_eq!(on.sh_out_basis, Some(Basis::PeriodEnd));
    assert_eq!(
        (on.sh_out, on.tr_sh, on.cum_factor),
        (Some(2020.0), Some(200.0), Some(2.0))
    );
    assert_eq!(by_date(&rows, "2025-06-02").sh_out, Some(4040.0));
    assert_eq!(
        by_date(&rows, "2025-05-13").sh_out_basis,
        Some(Basis::Restated)
    );
}

#[test]
fn a_consolidation_before_the_release_is_not_applied_twice() {
    // 10:1 consolidation (AdjFactor 10) on 4/15; the restated filing says 100 shares.
    let mut bars = split_after_period_end_bars();
    for (i, f) in [(2, 10.0), (3, 1.0), (4, 1.0), (5, 1.0)] {
        bars[i].close = Some(1000.0);
        bars[i].adj_factor = Some(f);
    }
    let (prev, q) = filings(100.0, None);
    let rows = compute("33500", &bars, &[prev, q], &[]);
    assert_eq!(by_date(&rows, "2025-04-15").sh_out, Some(100.0));
    let on = by_date(&rows, "2025-05-14");
    assert_eq!(
        (on.sh_out, on.sh_out_basis),
        (Some(100.0), Some(Basis::Restated))
    );
    assert_eq!(on.mkt_cap, Some(100_000.0), "0.1x would be 10,000");
}
