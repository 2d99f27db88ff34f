//! Daily market cap from the raw close `C` and the issued shares of the latest financial
//! statement known on that day, adjusted for splits and reverse splits between filings via
//! the bars' `AdjFactor` (the method of `docs/market-cap.md`).
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

use serde::Serialize;
use utoipa::ToSchema;

pub use super::bar::{Bar, split_factor};
pub use super::calendar::{Calendar, TradingDay, close_cutoff};
use super::code_matches;
use super::share_basis::Basis;
use super::share_book::{Holding, ShareBook};
pub use super::statement::{Statement, in_force_order, in_force_order_by};

/// One day of `GET /derived/market-cap`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MarketCapRow {
    /// Trading day, `YYYY-MM-DD` (JST).
    pub date: String,
    /// Issue code (5 characters, as the upstream spells it).
    pub code: String,
    /// Raw (unadjusted) close, yen per share; null on a no-trade day.
    pub c: Option<f64>,
    /// Issued shares including treasury shares on this day, shares: the base statement's
    /// `ShOutFY` times `CumFactor`; null before the first usable statement.
    pub sh_out: Option<f64>,
    /// Treasury shares on this day, shares: the base statement's `TrShFY` times `CumFactor`;
    /// null when unknown.
    pub tr_sh: Option<f64>,
    /// Market cap, yen: `C` x `ShOut`; null when either is unknown.
    pub mkt_cap: Option<f64>,
    /// Market cap excluding treasury shares, yen: `C` x (`ShOut` - `TrSh`); null when any is
    /// unknown.
    pub mkt_cap_ex_tr: Option<f64>,
    /// `DiscNo` of the `/fins/summary` document the share counts come from; null before the
    /// first usable statement.
    pub base_disc_no: Option<String>,
    /// Which day the base statement's counts describe (docs/share-counts.md): `restated`
    /// (its effective day: the filing already includes earlier splits, the default) or
    /// `period_end` (its `CurPerEn`: chosen only when that reading is closer to the previous
    /// filing's count carried forward); null before the first usable statement.
    pub sh_out_basis: Option<Basis>,
    /// Product of `1/AdjFactor` over the trading days after the day the base statement's
    /// counts describe (see `ShOutBasis`) up to and including this day (dimensionless; 1 = no
    /// split since then).
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
mod tests;
