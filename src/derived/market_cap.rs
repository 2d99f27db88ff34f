//! Daily market cap from the raw close `C` and the issued shares of the latest financial
//! statement known on that day, adjusted for splits and reverse splits between filings via
//! the bars' `AdjFactor` (the method of `docs/market-cap.md`, done properly).
//!
//! Why each rule:
//! - A statement is only usable once the market could know it: a disclosure at or after
//!   15:00 JST, or on a non-business day, takes effect the next business day. Using it on
//!   its disclosure day would leak an after-hours figure into that day's close.
//! - Forecast revisions carry blank `ShOutFY`; such documents are skipped, never treated as
//!   zero shares, so they cannot reset the base.
//! - A filing states its counts restated for splits up to its release (docs/share-counts.md);
//!   after the day its counts describe, each `AdjFactor != 1` multiplies the base by
//!   `1/AdjFactor` (0.1 for a 1:10 split -> x10 shares; 10 for a 10:1 reverse split -> /10).
//! - No close that day, or no usable statement yet, gives null: never 0, never a guess.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use serde::Serialize;
use utoipa::ToSchema;

use super::share_basis::Basis;
use super::share_book::{Holding, ShareBook};
use super::values::{date, get, num, req_date, text, time};
use super::{DerivedError, Row, code_matches};

/// The afternoon close used by the issue's rule: disclosures at or after this time are
/// known only from the next business day.
pub fn close_cutoff() -> NaiveTime {
    NaiveTime::from_hms_opt(15, 0, 0).expect("valid time")
}

/// One daily bar of `/equities/bars/daily` (only what the computations need).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub date: NaiveDate,
    pub code: String,
    /// Raw (unadjusted) close, yen; `None` on a no-trade day.
    pub close: Option<f64>,
    /// `AdjFactor` on this day (1 = no corporate action); `None` when blank.
    pub adj_factor: Option<f64>,
}

impl Bar {
    pub fn from_row(row: &Row) -> Result<Self, DerivedError> {
        Ok(Self {
            date: req_date(row, "Date")?,
            code: text(get(row, "Code")).unwrap_or_default(),
            close: num(get(row, "C")),
            adj_factor: num(get(row, "AdjFactor")),
        })
    }
}

/// One `/fins/summary` document (only the share-count fields).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub disc_date: NaiveDate,
    /// `None` when blank: treated as after the close (see [`Statement::effective_date`]).
    pub disc_time: Option<NaiveTime>,
    pub disc_no: String,
    /// End of the period the share counts describe (`CurPerEn`); `None` when blank.
    pub per_end: Option<NaiveDate>,
    /// Issued shares at period end including treasury shares (`ShOutFY`).
    pub sh_out: Option<f64>,
    /// Treasury shares at period end (`TrShFY`).
    pub tr_sh: Option<f64>,
}

impl Statement {
    pub fn from_row(row: &Row) -> Result<Self, DerivedError> {
        Ok(Self {
            disc_date: req_date(row, "DiscDate")?,
            disc_time: time(get(row, "DiscTime")),
            disc_no: text(get(row, "DiscNo")).unwrap_or_default(),
            per_end: date(get(row, "CurPerEn")),
            sh_out: num(get(row, "ShOutFY")),
            tr_sh: num(get(row, "TrShFY")),
        })
    }

    /// The first business day on which the market could know this document: its disclosure
    /// day if that is a business day and the time is before 15:00, otherwise the next
    /// business day. A blank time is treated as after the close, because using a figure
    /// before it was public is worse than using it one day late.
    pub fn effective_date(&self, cal: &Calendar) -> NaiveDate {
        let before_close = self.disc_time.is_some_and(|t| t < close_cutoff());
        if before_close && cal.is_business_day(self.disc_date) {
            self.disc_date
        } else {
            cal.next_business_day(self.disc_date)
        }
    }
}

/// One `/markets/calendar` row.
#[derive(Debug, Clone, PartialEq)]
pub struct TradingDay {
    pub date: NaiveDate,
    /// `HolDiv`: "1" business, "2" half-day business, "0" holiday, "3" holiday trading
    /// (derivatives only: not an equity business day).
    pub hol_div: String,
}

impl TradingDay {
    pub fn from_row(row: &Row) -> Result<Self, DerivedError> {
        Ok(Self {
            date: req_date(row, "Date")?,
            hol_div: text(get(row, "HolDiv")).unwrap_or_default(),
        })
    }

    pub fn is_equity_business_day(&self) -> bool {
        matches!(self.hol_div.as_str(), "1" | "2")
    }
}

/// Equity business days, from `/markets/calendar` where it has rows.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    days: BTreeMap<NaiveDate, bool>,
}

impl Calendar {
    pub fn new(days: &[TradingDay]) -> Self {
        Self {
            days: days
                .iter()
                .map(|d| (d.date, d.is_equity_business_day()))
                .collect(),
        }
    }

    /// Dates the calendar does not cover (outside the fetched range, or the calendar could
    /// not be fetched) fall back to Monday-Friday: right on all but ~16 holidays a year, and
    /// the only answer available without the calendar.
    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        match self.days.get(&d) {
            Some(b) => *b,
            None => !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The first business day strictly after `d`.
    pub fn next_business_day(&self, d: NaiveDate) -> NaiveDate {
        let mut n = d + Duration::days(1);
        // The weekday fallback guarantees termination unless the calendar marks a year of
        // consecutive days as holidays; stop there rather than loop forever.
        for _ in 0..366 {
            if self.is_business_day(n) {
                return n;
            }
            n += Duration::days(1);
        }
        n
    }
}

/// One day of `GET /derived/market-cap`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MarketCapRow {
    /// Trading day, `YYYY-MM-DD` (JST).
    #[serde(rename = "Date")]
    pub date: String,
    /// Issue code (5 characters, as the upstream spells it).
    #[serde(rename = "Code")]
    pub code: String,
    /// Raw (unadjusted) close, yen per share; null on a no-trade day.
    #[serde(rename = "C")]
    pub c: Option<f64>,
    /// Issued shares including treasury shares on this day, shares: the base statement's
    /// `ShOutFY` times `CumFactor`; null before the first usable statement.
    #[serde(rename = "ShOut")]
    pub sh_out: Option<f64>,
    /// Treasury shares on this day, shares: the base statement's `TrShFY` times `CumFactor`;
    /// null when unknown.
    #[serde(rename = "TrSh")]
    pub tr_sh: Option<f64>,
    /// Market cap, yen: `C` x `ShOut`; null when either is unknown.
    #[serde(rename = "MktCap")]
    pub mkt_cap: Option<f64>,
    /// Market cap excluding treasury shares, yen: `C` x (`ShOut` - `TrSh`); null when any is
    /// unknown.
    #[serde(rename = "MktCapExTr")]
    pub mkt_cap_ex_tr: Option<f64>,
    /// `DiscNo` of the `/fins/summary` document the share counts come from; null before the
    /// first usable statement.
    #[serde(rename = "BaseDiscNo")]
    pub base_disc_no: Option<String>,
    /// Which day the base statement's counts describe (docs/share-counts.md): `restated`
    /// (its effective day: the filing already includes earlier splits, the default) or
    /// `period_end` (its `CurPerEn`: chosen only when that reading is closer to the previous
    /// filing's count carried forward); null before the first usable statement.
    #[serde(rename = "ShOutBasis")]
    pub sh_out_basis: Option<Basis>,
    /// Product of `1/AdjFactor` over the trading days after the day the base statement's
    /// counts describe (see `ShOutBasis`) up to and including this day (dimensionless; 1 = no
    /// split since then).
    #[serde(rename = "CumFactor")]
    pub cum_factor: Option<f64>,
}

/// Market cap per bar of `code` (bars of other codes are ignored), in date order.
///
/// `bars` may start before the first statement and come in any order; `statements` may be
/// out of order and include documents with blank share counts; `calendar` may be partial.
///
/// A filing's `ShOutFY` already includes the splits up to its effective day (restated, the
/// default), unless the period-end reading is closer to the previous filing carried forward
/// ([`super::share_basis::choose`]); either way later splits multiply it. The caller passes the
/// code's bars from well before the requested range (the routes pass the whole history) and
/// trims the output afterwards.
pub fn compute(
    code: &str,
    bars: &[Bar],
    statements: &[Statement],
    calendar: &[TradingDay],
) -> Vec<MarketCapRow> {
    let cal = Calendar::new(calendar);

    let mut bars: Vec<&Bar> = bars
        .iter()
        .filter(|b| b.code.is_empty() || code_matches(&b.code, code))
        .collect();
    bars.sort_by_key(|b| b.date);
    bars.dedup_by_key(|b| b.date);

    let usable = in_force_order(statements, &cal);
    let mut book = ShareBook::default();
    let mut next = 0;
    let mut out = Vec::with_capacity(bars.len());
    for bar in &bars {
        if let Some(f) = split_factor(bar) {
            book.split(code, bar.date, f);
        }
        while next < usable.len() && usable[next].1 <= bar.date {
            let (i, eff) = usable[next];
            book.file(code, &statements[i], eff, bar.date);
            next += 1;
        }
        out.push(row(bar, code, book.get(code)));
    }
    out
}

/// Statements with a usable share count and their effective days, in the order they take
/// over. "Latest" means latest disclosed, and the effective date is monotone in disclosure
/// time, so the last one effective on a day is the one in force. Non-positive counts are as
/// unusable as blank ones.
pub fn in_force_order(statements: &[Statement], cal: &Calendar) -> Vec<(usize, NaiveDate)> {
    in_force_order_by(statements, |s| s, cal)
}

/// [`in_force_order`] of the statements `get` finds in `items` (indices into `items`).
pub fn in_force_order_by<T>(
    items: &[T],
    get: impl Fn(&T) -> &Statement,
    cal: &Calendar,
) -> Vec<(usize, NaiveDate)> {
    let mut usable: Vec<(usize, NaiveDate)> = items
        .iter()
        .map(&get)
        .enumerate()
        .filter(|(_, s)| s.sh_out.is_some_and(|n| n > 0.0))
        .map(|(i, s)| (i, s.effective_date(cal)))
        .collect();
    let late = NaiveTime::from_hms_opt(23, 59, 59).expect("valid time");
    let key = |i: usize, e: NaiveDate| {
        let s = get(&items[i]);
        (
            e,
            s.disc_date,
            s.disc_time.unwrap_or(late),
            s.disc_no.as_str(),
        )
    };
    usable.sort_by(|(a, ea), (b, eb)| key(*a, *ea).cmp(&key(*b, *eb)));
    usable
}

/// The bar's `AdjFactor` when it marks a split or reverse split. A blank factor reads as "no
/// corporate action": the upstream sends 1 on ordinary days, and a missing factor cannot be
/// turned into a split.
pub fn split_factor(bar: &Bar) -> Option<f64> {
    bar.adj_factor.filter(|f| *f > 0.0 && *f != 1.0)
}

fn row(bar: &Bar, code: &str, base: Option<&Holding>) -> MarketCapRow {
    let sh_out = base.map(Holding::shares);
    let tr_sh = base.and_then(Holding::treasury);
    let c = bar.close;
    MarketCapRow {
        date: crate::jst::fmt_date(bar.date),
        code: if bar.code.is_empty() {
            code.to_string()
        } else {
            bar.code.clone()
        },
        c,
        sh_out,
        tr_sh,
        mkt_cap: c.zip(sh_out).map(|(c, n)| c * n),
        mkt_cap_ex_tr: c.zip(sh_out).zip(tr_sh).map(|((c, n), t)| c * (n - t)),
        base_disc_no: base.map(|h| h.disc_no.clone()),
        sh_out_basis: base.map(|h| h.basis),
        cum_factor: base.map(|h| h.cum),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn seed_003_metaplanet_split() {
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
    fn json_keys_are_exactly_the_issues() {
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

    #[test]
    fn a_restated_filing_is_not_multiplied_by_splits_before_its_release() {
        let prev = with_period_end(
            st("2025-02-14", "10:00", "P", Some(1000.0), None),
            "2024-12-31",
        );
        let q = with_period_end(
            st("2025-05-14", "14:00", "Q", Some(2000.0), Some(200.0)),
            "2025-03-31",
        );
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
        let prev = with_period_end(
            st("2025-02-14", "10:00", "P", Some(1000.0), None),
            "2024-12-31",
        );
        let q = with_period_end(
            st("2025-05-14", "14:00", "Q", Some(1010.0), Some(100.0)),
            "2025-03-31",
        );
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
        let prev = with_period_end(
            st("2025-02-14", "10:00", "P", Some(1000.0), None),
            "2024-12-31",
        );
        let q = with_period_end(
            st("2025-05-14", "14:00", "Q", Some(100.0), None),
            "2025-03-31",
        );
        let rows = compute("33500", &bars, &[prev, q], &[]);
        assert_eq!(by_date(&rows, "2025-04-15").sh_out, Some(100.0));
        let on = by_date(&rows, "2025-05-14");
        assert_eq!(
            (on.sh_out, on.sh_out_basis),
            (Some(100.0), Some(Basis::Restated))
        );
        assert_eq!(on.mkt_cap, Some(100_000.0), "0.1x would be 10,000");
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
}
