//! Corporate actions: the split schedule and the adjustment factors and share counts it
//! implies. Splits are scheduled month by month up to a fixed horizon, so moving the clock
//! forward reveals new ones; what a dataset shows depends only on which ex-dates are visible
//! (`docs/upstream.md`, adjusted prices; `docs/market-cap.md`, share counts).
//! Invariants: no two splits of an issue within 90 days, none on or before its listing, and
//! the issues `docs/market-cap.md` cites keep exactly their real splits.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};

use super::issue::{Issue, Split};
use crate::sim::calendar::{self, add_months, ymd};
use crate::sim::random::{h, mix};

/// Last day splits are scheduled for (so moving the clock forward reveals new ones).
fn schedule_end() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 12, 31).expect("valid date")
}

/// Split factors, drawn uniformly from this list: mostly 1:2, some deeper splits, a few
/// reverse splits, so every `AdjFactor` shape `docs/upstream.md` describes occurs.
const FACTORS: &[f64] = &[0.5, 0.5, 0.5, 0.5, 0.25, 0.1, 1.0 / 3.0, 2.0, 5.0, 10.0];

/// The real splits of the issues `docs/` cites (the 1:10 of 3350 is `docs/market-cap.md`'s).
fn real_splits() -> HashMap<&'static str, Vec<Split>> {
    HashMap::from([
        (
            "33500",
            vec![Split {
                ex_date: ymd(2025, 3, 28),
                factor: 0.1,
            }],
        ),
        (
            "72030",
            vec![Split {
                ex_date: ymd(2021, 9, 29),
                factor: 0.2,
            }],
        ),
        ("86970", vec![]),
    ])
}

/// Gives every issue its splits: a few a month across the market, each on a random business
/// day of its month, then the real ones for the cited issues; each list sorted by ex-date.
pub(super) fn schedule(seed: u64, issues: &mut [Issue]) {
    let fixed = real_splits();
    let n = issues.len();
    let per_month = ((n as f64 / 1300.0).ceil() as u64).max(1);
    let mut month = ymd(2017, 2, 1);
    let mut k = 0u64;
    while month <= schedule_end() {
        for j in 0..per_month + (h(&[seed, 7, k]) % 2) {
            let x = h(&[seed, 8, k, j]);
            let idx = (x % n as u64) as usize;
            let days = calendar::business_days(month, month + Duration::days(27));
            if days.is_empty() {
                continue;
            }
            let ex_date = days[(mix(x) % days.len() as u64) as usize];
            let factor = FACTORS[(mix(x ^ 3) % FACTORS.len() as u64) as usize];
            let is = &mut issues[idx];
            let clash = is
                .splits
                .iter()
                .any(|s| (s.ex_date - ex_date).num_days().abs() < 90);
            if fixed.contains_key(is.code.as_str()) || clash || ex_date <= is.listed {
                continue;
            }
            is.splits.push(Split { ex_date, factor });
        }
        month = add_months(month, 1);
        k += 1;
    }
    for is in issues.iter_mut() {
        if let Some(f) = fixed.get(is.code.as_str()) {
            is.splits = f.clone();
        }
        is.splits.sort_by_key(|s| s.ex_date);
    }
}

impl Issue {
    /// Product of the factors of all splits with ex-date after `d` (visible or not): how
    /// many of today's shares one share on `d` was worth. Raw prices are `level / this`.
    pub fn future_factor(&self, d: NaiveDate) -> f64 {
        self.adj_multiplier(d, NaiveDate::MAX)
    }

    /// The adjustment multiplier for day `d` given splits visible up to `visible_until`.
    pub fn adj_multiplier(&self, d: NaiveDate, visible_until: NaiveDate) -> f64 {
        self.splits
            .iter()
            .filter(|s| s.ex_date > d && s.ex_date <= visible_until)
            .map(|s| s.factor)
            .product()
    }

    pub fn adj_factor_on(&self, d: NaiveDate) -> f64 {
        self.splits
            .iter()
            .find(|s| s.ex_date == d)
            .map(|s| s.factor)
            .unwrap_or(1.0)
    }

    /// Shares issued (incl. treasury) at the end of day `d`.
    pub fn shares_at(&self, d: NaiveDate) -> f64 {
        if self.code == "33500" {
            // `docs/market-cap.md`: 36,268,334 before the 1:10 split, then capital raises on top.
            return if d < ymd(2025, 3, 28) {
                36_268_334.0
            } else if d < ymd(2025, 3, 31) {
                362_683_340.0
            } else {
                459_906_340.0
            };
        }
        (self.shares * self.future_factor(d)).round()
    }
}
