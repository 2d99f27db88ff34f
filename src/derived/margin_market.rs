//! Market-wide margin indicators per application date (the market-indicator page of `docs/margin.md`): totals of the long
//! and short balances in shares and yen, 信用倍率, the net balance and its changes, the total
//! market cap, 信用買残比率 and the estimated 信用評価損益率.
//!
//! Invariants: every total is the plain sum of the per-issue figures it is given (the same
//! figures `/derived/margin` and `/derived/market-cap` report per issue), and every ratio is
//! a ratio of totals, never an average of per-issue ratios. The caller builds the per-issue
//! figures from date cross-sections.

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use super::calendar::Calendar;
use super::margin::{Frequency, ValSource, first_daily_date};
use super::margin_pl::Estimate;

/// One issue's figures on one application date.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IssueDay {
    pub long_vol: Option<f64>,
    pub shrt_vol: Option<f64>,
    pub long_val: Option<f64>,
    pub shrt_val: Option<f64>,
    pub val_source: Option<ValSource>,
    pub estimate: Option<Estimate>,
}

/// Everything one application date's row is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketDay {
    pub date: NaiveDate,
    /// The issues with a margin row that day.
    pub issues: Vec<IssueDay>,
    /// Market caps ex-treasury of the issues (margin or not) with a close and a share count.
    pub mkt_caps: Vec<f64>,
}

/// Where the total yen values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TotalSource {
    /// Every issue's yen values were published by JPX.
    Upstream,
    /// Every issue's yen values are volume x close.
    Estimated,
    /// Some of each: `EstimatedIssues` says how many were estimated.
    Mixed,
}

/// One application date of `GET /derived/margin/market`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MarketMarginRow {
    /// Application date (申込日), `YYYY-MM-DD`.
    pub date: String,
    /// `Prime`, `Standard` or `Growth` when the totals are of one segment; null for all issues.
    pub segment: Option<String>,
    /// `weekly` (before 2026-09-25) or `daily`.
    pub freq: Frequency,
    /// Number of issues with a margin row on `Date` (count).
    pub issues: usize,
    /// Total long margin balance (信用買残), shares.
    pub long_vol: f64,
    /// Total short margin balance (信用売残), shares.
    pub shrt_vol: f64,
    /// Total long balance value, yen: each issue's `LongVal` as `/derived/margin` gives it.
    pub long_val: f64,
    /// Total short balance value, yen.
    pub shrt_val: f64,
    /// `upstream`, `estimated` or `mixed`: where the issues' yen values come from.
    pub val_source: Option<TotalSource>,
    /// Issues whose yen values are estimated (volume x close) (count).
    pub estimated_issues: usize,
    /// 信用倍率 = `LongVol / ShrtVol`, ratio (times); null when `ShrtVol` is 0.
    pub margin_ratio: Option<f64>,
    /// Net balance (信用残 = 買残 - 売残) = `LongVol - ShrtVol`, shares.
    pub net_vol: f64,
    /// Net balance value = `LongVal - ShrtVal`, yen.
    pub net_val: f64,
    /// Change of `LongVol` since the previous application date, shares; null on the first row.
    pub long_vol_chg: Option<f64>,
    /// Change of `ShrtVol` since the previous application date, shares; null on the first row.
    pub shrt_vol_chg: Option<f64>,
    /// Change of `NetVol` since the previous application date, shares; null on the first row.
    pub net_vol_chg: Option<f64>,
    /// Change of `NetVal` since the previous application date, yen; null on the first row.
    pub net_val_chg: Option<f64>,
    /// Total market cap excluding treasury shares, yen: the sum of the issues'
    /// `/derived/market-cap` `MktCapExTr` on `Date`.
    pub mkt_cap_ex_tr: f64,
    /// Issues in `MktCapExTr` (count).
    pub mkt_cap_issues: usize,
    /// 信用買残比率 = `LongVal / MktCapExTr`, fraction (0.01 = 1 %); null when `MktCapExTr` is 0.
    pub long_val_to_mkt_cap: Option<f64>,
    /// ESTIMATED cost of the long balances, yen: the sum of the issues' `LongCost`.
    pub long_cost: f64,
    /// ESTIMATED unrealised gain or loss of the long balances, yen: the sum of the issues'
    /// `LongPl`.
    pub long_pl: f64,
    /// ESTIMATED 信用評価損益率 = `LongPl / LongCost`, fraction (-0.1 = -10 %); null when
    /// `LongCost` is 0 (docs/margin-pl-estimate.md).
    pub pl_rate: Option<f64>,
}

/// One row per day, in the order given, with changes against the previous day.
pub fn rows(days: &[MarketDay], segment: Option<&str>) -> Vec<MarketMarginRow> {
    let mut out: Vec<MarketMarginRow> = Vec::with_capacity(days.len());
    for day in days {
        let row = day_row(day, segment, out.last());
        out.push(row);
    }
    out
}

/// One day's totals and ratios, with changes against `prev` (the previous day's row).
fn day_row(
    day: &MarketDay,
    segment: Option<&str>,
    prev: Option<&MarketMarginRow>,
) -> MarketMarginRow {
    let sum = |f: fn(&IssueDay) -> Option<f64>| day.issues.iter().filter_map(f).sum::<f64>();
    let (long_vol, shrt_vol) = (sum(|i| i.long_vol), sum(|i| i.shrt_vol));
    let (long_val, shrt_val) = (sum(|i| i.long_val), sum(|i| i.shrt_val));
    let est = |f: fn(&Estimate) -> f64| {
        day.issues
            .iter()
            .filter_map(|i| i.estimate.as_ref().map(f))
            .sum::<f64>()
    };
    let (long_cost, long_pl) = (est(|e| e.cost), est(Estimate::pl));
    let count = |s: ValSource| {
        day.issues
            .iter()
            .filter(|i| i.val_source == Some(s))
            .count()
    };
    let (upstream, estimated) = (count(ValSource::Upstream), count(ValSource::Estimated));
    let mkt_cap_ex_tr: f64 = day.mkt_caps.iter().sum();
    let chg = |now: f64, f: fn(&MarketMarginRow) -> f64| prev.map(|p| now - f(p));
    let (net_vol, net_val) = (long_vol - shrt_vol, long_val - shrt_val);
    MarketMarginRow {
        date: crate::jst::fmt_date(day.date),
        segment: segment.map(str::to_string),
        freq: frequency(day.date),
        issues: day.issues.len(),
        long_vol,
        shrt_vol,
        long_val,
        shrt_val,
        val_source: total_source(upstream, estimated),
        estimated_issues: estimated,
        margin_ratio: (shrt_vol != 0.0).then(|| long_vol / shrt_vol),
        net_vol,
        net_val,
        long_vol_chg: chg(long_vol, |p| p.long_vol),
        shrt_vol_chg: chg(shrt_vol, |p| p.shrt_vol),
        net_vol_chg: chg(net_vol, |p| p.net_vol),
        net_val_chg: chg(net_val, |p| p.net_val),
        mkt_cap_ex_tr,
        mkt_cap_issues: day.mkt_caps.len(),
        long_val_to_mkt_cap: (mkt_cap_ex_tr > 0.0).then(|| long_val / mkt_cap_ex_tr),
        long_cost,
        long_pl,
        pl_rate: (long_cost > 0.0).then(|| long_pl / long_cost),
    }
}

/// Weekly before the daily data (2026-09-25), daily from then on.
fn frequency(date: NaiveDate) -> Frequency {
    if date >= first_daily_date() {
        Frequency::Daily
    } else {
        Frequency::Weekly
    }
}

/// Where the totals' yen values come from, given how many issues had each source.
fn total_source(upstream: usize, estimated: usize) -> Option<TotalSource> {
    match (upstream, estimated) {
        (0, 0) => None,
        (_, 0) => Some(TotalSource::Upstream),
        (0, _) => Some(TotalSource::Estimated),
        _ => Some(TotalSource::Mixed),
    }
}

/// The days in `[lo, hi]` that can be application dates: before the daily data (2026-09-25)
/// the last business day of each week with at least three business days; from the business
/// day before it on, every business day (a daily row's `Date` is the business day before its
/// publication). A candidate may still have no rows; that costs one call, never more.
pub fn application_dates(cal: &Calendar, lo: NaiveDate, hi: NaiveDate) -> Vec<NaiveDate> {
    let first_daily = first_daily_date();
    let daily_from = first_daily - Duration::days(1);
    let daily_from = (0..10)
        .map(|k| daily_from - Duration::days(k))
        .find(|d| cal.is_business_day(*d))
        .unwrap_or(daily_from);
    let mut out = Vec::new();
    let mut d = lo;
    while d <= hi {
        let daily = d >= daily_from;
        let weekly = d < first_daily && last_business_day_of_week(cal, d);
        if cal.is_business_day(d) && (daily || weekly) {
            out.push(d);
        }
        d += Duration::days(1);
    }
    out
}

fn last_business_day_of_week(cal: &Calendar, d: NaiveDate) -> bool {
    let monday = d - Duration::days(d.weekday().num_days_from_monday() as i64);
    let week: Vec<NaiveDate> = (0..7)
        .map(|k| monday + Duration::days(k))
        .filter(|x| cal.is_business_day(*x))
        .collect();
    week.len() > 2 && week.last() == Some(&d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::jst::parse_date(s).unwrap()
    }

    fn issue(long: f64, short: f64, val: Option<(f64, f64, ValSource)>) -> IssueDay {
        IssueDay {
            long_vol: Some(long),
            shrt_vol: Some(short),
            long_val: val.map(|v| v.0),
            shrt_val: val.map(|v| v.1),
            val_source: val.map(|v| v.2),
            estimate: None,
        }
    }

    #[test]
    fn totals_are_sums_and_ratios_are_ratios_of_sums() {
        let mut a = issue(
            300.0,
            100.0,
            Some((30_000.0, 10_000.0, ValSource::Upstream)),
        );
        a.estimate = Some(Estimate {
            cost: 40_000.0,
            value: 30_000.0,
        });
        let mut b = issue(100.0, 100.0, Some((5_000.0, 5_000.0, ValSource::Estimated)));
        b.estimate = Some(Estimate {
            cost: 4_000.0,
            value: 5_000.0,
        });
        let days = [
            MarketDay {
                date: d("2026-09-18"),
                issues: vec![issue(100.0, 50.0, Some((1.0, 1.0, ValSource::Estimated)))],
                mkt_caps: vec![],
            },
            MarketDay {
                date: d("2026-09-25"),
                issues: vec![a, b, issue(5.0, 0.0, None)],
                mkt_caps: vec![1e6, 2e6, 7e6],
            },
        ];
        let r = rows(&days, Some("Growth"));
        assert_eq!(r[0].long_vol_chg, None);
        assert_eq!(r[0].margin_ratio, Some(2.0));
        assert_eq!(r[0].long_val_to_mkt_cap, None);
        assert_eq!(r[0].freq, Frequency::Weekly);
        let x = &r[1];
        assert_eq!((x.long_vol, x.shrt_vol, x.net_vol), (405.0, 200.0, 205.0));
        assert_eq!(
            (x.long_val, x.shrt_val, x.net_val),
            (35_000.0, 15_000.0, 20_000.0)
        );
        assert_eq!(x.margin_ratio, Some(2.025));
        assert_eq!((x.long_vol_chg, x.net_vol_chg), (Some(305.0), Some(155.0)));
        assert_eq!((x.mkt_cap_ex_tr, x.mkt_cap_issues), (1e7, 3));
        assert_eq!(x.long_val_to_mkt_cap, Some(0.0035));
        // (30,000 + 5,000) / (40,000 + 4,000) - 1, not the mean of -25 % and +25 %.
        assert_eq!((x.long_cost, x.long_pl), (44_000.0, -9_000.0));
        assert_eq!(x.pl_rate, Some(-9_000.0 / 44_000.0));
        assert_eq!(
            (x.val_source, x.estimated_issues),
            (Some(TotalSource::Mixed), 1)
        );
        assert_eq!((x.issues, x.segment.as_deref()), (3, Some("Growth")));
        assert_eq!(x.freq, Frequency::Daily);
    }

    #[test]
    fn application_dates_weekly_then_daily() {
        let cal = Calendar::default();
        let dates = application_dates(&cal, d("2026-09-07"), d("2026-09-30"));
        let s: Vec<String> = dates.into_iter().map(crate::jst::fmt_date).collect();
        // Fridays while weekly; every weekday from Thursday 09-24 (published 09-25).
        assert_eq!(
            s,
            [
                "2026-09-11",
                "2026-09-18",
                "2026-09-24",
                "2026-09-25",
                "2026-09-28",
                "2026-09-29",
                "2026-09-30"
            ]
        );
    }
}
