//! Issued and treasury shares per issue, day by day: the filings in force carried through
//! splits and consolidations. One book serves both the per-issue market cap (one code, its
//! bars) and the market-wide totals (every code, date cross-sections), so both apply the same
//! rule (docs/share-counts.md).
//!
//! Feed it in date order: for each trading day first that day's splits ([`ShareBook::split`]),
//! then the filings effective that day, in disclosure order ([`ShareBook::file`]).

use std::collections::HashMap;

use chrono::NaiveDate;

use super::share_basis::{self, Basis, Candidates};
use super::statement::Statement;

/// The filing in force for one issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Holding {
    /// `ShOutFY` as filed, shares.
    pub sh_out: f64,
    /// `TrShFY` as filed, shares.
    pub tr_sh: Option<f64>,
    pub disc_no: String,
    pub basis: Basis,
    /// Product of `1/AdjFactor` since the day the filed counts describe.
    pub cum: f64,
}

impl Holding {
    /// Issued shares today, whole shares.
    pub fn shares(&self) -> f64 {
        (self.sh_out * self.cum).round()
    }

    /// Treasury shares today, whole shares; `None` when not filed.
    pub fn treasury(&self) -> Option<f64> {
        self.tr_sh.map(|t| (t * self.cum).round())
    }
}

#[derive(Debug, Clone, Default)]
pub struct ShareBook {
    holdings: HashMap<String, Holding>,
    /// Every split seen, per code, as (ex-date, 1/AdjFactor) in date order: the period-end
    /// reading needs the splits since a period end that may precede the current filing.
    splits: HashMap<String, Vec<(NaiveDate, f64)>>,
}

impl ShareBook {
    /// A split or consolidation of `code` on `date` (`adj_factor` as the bars send it: 0.5
    /// for 1:2, 10 for 10:1). Factors of 1 or below 0 are ignored.
    pub fn split(&mut self, code: &str, date: NaiveDate, adj_factor: f64) {
        if adj_factor == 1.0 || adj_factor <= 0.0 {
            return;
        }
        let m = 1.0 / adj_factor;
        self.splits
            .entry(code.to_string())
            .or_default()
            .push((date, m));
        if let Some(h) = self.holdings.get_mut(code) {
            h.cum *= m;
        }
    }

    /// Product of the split multipliers of `code` after `since` up to `today`.
    fn since(&self, code: &str, since: NaiveDate, today: NaiveDate) -> f64 {
        self.splits.get(code).map_or(1.0, |v| {
            v.iter()
                .filter(|(d, _)| *d > since && *d <= today)
                .map(|(_, m)| m)
                .product()
        })
    }

    /// A filing of `code` that became known on `effective` takes over on `today` (the first
    /// trading day on or after `effective`, after that day's splits). Filings without a
    /// positive `ShOutFY` are ignored.
    pub fn file(&mut self, code: &str, s: &Statement, effective: NaiveDate, today: NaiveDate) {
        let Some(sh_out) = s.sh_out.filter(|n| *n > 0.0) else {
            return;
        };
        let restated = self.since(code, effective, today);
        let period_end = s.per_end.map(|pe| self.since(code, pe, today));
        let candidates = Candidates {
            restated: sh_out * restated,
            period_end: period_end.map(|f| sh_out * f),
        };
        let carried = self.holdings.get(code).map(|h| h.sh_out * h.cum);
        let basis = share_basis::choose(candidates, carried);
        let cum = match (basis, period_end) {
            (Basis::PeriodEnd, Some(f)) => f,
            _ => restated,
        };
        self.holdings.insert(
            code.to_string(),
            Holding {
                sh_out,
                tr_sh: s.tr_sh,
                disc_no: s.disc_no.clone(),
                basis,
                cum,
            },
        );
    }

    pub fn get(&self, code: &str) -> Option<&Holding> {
        self.holdings.get(code)
    }
}
