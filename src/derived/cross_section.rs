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

use super::margin::{self, MarginInterest};
use super::margin_market::{IssueDay, MarketDay};
use super::margin_pl::{self, Period};
use super::market_cap::{self, Bar, Calendar, Statement};
use super::share_book::ShareBook;

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
                .filter_map(|b| Some((b.code.clone(), market_cap::split_factor(b)?)))
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
    pub statements: &'a [(String, Statement)],
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
    let estimates = estimates(x, dates);
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
                        estimate: estimates.get(&(*d, r.code.as_str())).copied(),
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
    let owned: Vec<Statement> = x.statements.iter().map(|(_, s)| s.clone()).collect();
    let order = market_cap::in_force_order(&owned, x.calendar);
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
            book.file(&x.statements[i].0, &owned[i], eff, *day);
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

/// The cost estimate per (application date, code) for the requested dates.
fn estimates<'a>(
    x: &'a CrossSections,
    dates: &[NaiveDate],
) -> HashMap<(NaiveDate, &'a str), margin_pl::Estimate> {
    // Cumulative split multiplier per code up to each business day, so the split between two
    // application dates of a code is one division.
    let mut cum: HashMap<&str, f64> = HashMap::new();
    let mut periods: HashMap<&str, Vec<(Period, f64)>> = HashMap::new();
    for (day, bars) in x.bars {
        for (code, f) in &bars.splits {
            *cum.entry(code.as_str()).or_insert(1.0) /= f;
        }
        let Some(rows) = x.margin.get(day) else {
            continue;
        };
        for r in rows.iter().filter(|r| x.wanted(&r.code)) {
            let now = cum.get(r.code.as_str()).copied().unwrap_or(1.0);
            let series = periods.entry(r.code.as_str()).or_default();
            let split = series.last().map_or(1.0, |(_, before)| now / before);
            let close = bars.closes.get(&r.code).copied().flatten();
            series.push((
                Period {
                    date: *day,
                    long_vol: r.long_vol.unwrap_or(0.0),
                    close: close.filter(|_| r.long_vol.is_some()),
                    split,
                },
                now,
            ));
        }
    }
    // Only the requested dates are estimated: each is a replay of its own six-month window.
    let mut out = HashMap::new();
    for (code, series) in &periods {
        let ps: Vec<Period> = series.iter().map(|(p, _)| *p).collect();
        for d in dates {
            if let Some(e) = margin_pl::estimate_on(&ps, *d) {
                out.insert((*d, *code), e);
            }
        }
    }
    out
}
