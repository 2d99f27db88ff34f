//! The per-issue figures of the market-wide margin page built from date cross-sections (every
//! issue's rows of one date per upstream call), never by looping over codes: share counts
//! through [`ShareBook`], closes and splits from the daily bars, margin balances from
//! `/markets/margin-interest`, the cost estimate from [`margin_pl`].
//!
//! Invariant: each issue's figures are the ones `/derived/margin` and `/derived/market-cap`
//! compute for it from its own history (same rules, same functions), so a market total is the
//! sum of the per-issue rows.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;

use super::bar::{Bar, split_factor};
use super::calendar::Calendar;
use super::margin::{self, MarginInterest};
use super::margin_market::{IssueDay, MarketDay};
use super::margin_pl::{self, Period};
use super::share_book::ShareBook;
use super::statement::{Statement, in_force_order_by};

/// One day's bars reduced to what the computations read, built once per cached answer.
#[derive(Debug, Clone, Default)]
pub struct DayBars {
    /// Raw close per code (`None` on a no-trade day).
    pub closes: HashMap<String, Option<f64>>,
    /// (code, `AdjFactor`) of the splits and consolidations of the day.
    pub splits: Vec<(String, f64)>,
}

impl DayBars {
    pub fn new(bars: &[Bar]) -> Self {
        Self {
            closes: bars.iter().map(|b| (b.code.clone(), b.close)).collect(),
            splits: bars
                .iter()
                .filter_map(|b| Some((b.code.clone(), split_factor(b)?)))
                .collect(),
        }
    }
}

/// The cross-sections one request needs, by date.
pub struct CrossSections<'a> {
    pub calendar: &'a Calendar,
    /// Daily bars of every business day from the start of the earliest window (six months
    /// before the first application date, which also covers the statements' look-back) to the
    /// last application date.
    pub bars: &'a BTreeMap<NaiveDate, &'a DayBars>,
    /// Margin rows of the application dates from six months before the first requested one,
    /// one per code (see [`margin::dedup`]).
    pub margin: &'a BTreeMap<NaiveDate, &'a [MarginInterest]>,
    /// Filings (code, statement) disclosed in the look-back before the first application date
    /// and up to the last one.
    pub statements: &'a [&'a (String, Statement)],
    /// Codes to total; `None` for every code.
    pub codes: Option<&'a HashSet<String>>,
}

impl CrossSections<'_> {
    fn wanted(&self, code: &str) -> bool {
        self.codes.is_none_or(|c| c.contains(code))
    }
}

/// The inputs of each requested application date (`dates`, in order).
pub fn market_days(x: &CrossSections, dates: &[NaiveDate]) -> Vec<MarketDay> {
    let caps = market_caps(x, dates);
    let periods = periods(x);
    dates
        .iter()
        .map(|d| {
            let closes = x.bars.get(d).map(|b| &b.closes);
            let rows = x.margin.get(d).copied().unwrap_or_default();
            let issues = rows
                .iter()
                .filter(|r| x.wanted(&r.code))
                .map(|r| {
                    let close = closes.and_then(|c| c.get(&r.code).copied().flatten());
                    let (long_val, shrt_val, val_source) = margin::values(r, close);
                    IssueDay {
                        long_vol: r.long_vol,
                        shrt_vol: r.shrt_vol,
                        long_val,
                        shrt_val,
                        val_source,
                        // Only the requested dates are estimated: each is a replay of its
                        // own six-month window.
                        estimate: periods
                            .get(r.code.as_str())
                            .and_then(|ps| margin_pl::estimate_on(ps, *d)),
                    }
                })
                .collect();
            MarketDay {
                date: *d,
                issues,
                mkt_caps: caps.get(d).cloned().unwrap_or_default(),
            }
        })
        .collect()
}

/// Market caps ex-treasury of the wanted codes on each of `dates`, from the share book folded
/// over every business day of the bars.
fn market_caps(x: &CrossSections, dates: &[NaiveDate]) -> HashMap<NaiveDate, Vec<f64>> {
    let order = in_force_order_by(x.statements, |(_, s)| s, x.calendar);
    let wanted: HashSet<&NaiveDate> = dates.iter().collect();
    let mut book = ShareBook::default();
    let mut next = 0;
    let mut out = HashMap::new();
    for (day, bars) in x.bars {
        for (code, f) in &bars.splits {
            book.split(code, *day, *f);
        }
        while next < order.len() && order[next].1 <= *day {
            let (i, eff) = order[next];
            let (code, s) = x.statements[i];
            book.file(code, s, eff, *day);
            next += 1;
        }
        if wanted.contains(day) {
            let caps: Vec<f64> = bars
                .closes
                .iter()
                .filter(|(code, _)| x.wanted(code))
                .filter_map(|(code, close)| {
                    let h = book.get(code)?;
                    Some((*close)? * (h.shares() - h.treasury()?))
                })
                .collect();
            out.insert(*day, caps);
        }
    }
    out
}

/// Each wanted code's application dates as [`Period`]s, in date order, from the first margin
/// rows of the bars' window on: the input of [`margin_pl::estimate_on`].
fn periods<'a>(x: &'a CrossSections) -> HashMap<&'a str, Vec<Period>> {
    // Cumulative split multiplier per code up to each business day, so the split between two
    // application dates of a code is one division.
    let mut cum: HashMap<&str, f64> = HashMap::new();
    let mut periods: HashMap<&str, (Vec<Period>, f64)> = HashMap::new();
    for (day, bars) in x.bars {
        for (code, f) in &bars.splits {
            *cum.entry(code.as_str()).or_insert(1.0) /= f;
        }
        let Some(rows) = x.margin.get(day) else {
            continue;
        };
        for r in rows.iter().filter(|r| x.wanted(&r.code)) {
            let now = if cum.is_empty() {
                1.0
            } else {
                cum.get(r.code.as_str()).copied().unwrap_or(1.0)
            };
            let (series, before) = periods
                .entry(r.code.as_str())
                .or_insert_with(|| (Vec::new(), f64::NAN));
            let split = if series.is_empty() {
                1.0
            } else {
                now / *before
            };
            let close = bars.closes.get(&r.code).copied().flatten();
            series.push(Period {
                date: *day,
                long_vol: r.long_vol.unwrap_or(0.0),
                close: close.filter(|_| r.long_vol.is_some()),
                split,
            });
            *before = now;
        }
    }
    periods.into_iter().map(|(c, (s, _))| (c, s)).collect()
}
