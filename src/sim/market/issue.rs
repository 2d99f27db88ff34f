//! The records the market is made of: an [`Issue`] (one listed code with its size, sector and
//! fiscal year) and a [`Split`]. Plain data: the behaviour lives in `splits` (adjustment
//! factors, share counts) and `prices` (the bar model), which add `impl Issue` blocks.
//! Invariant: an issue's `splits` are sorted by ex-date and never on or before `listed`.

use chrono::NaiveDate;

/// A split (factor < 1) or reverse split (factor > 1), effective on `ex_date`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Split {
    pub ex_date: NaiveDate,
    /// `AdjFactor` on the ex-date: 0.5 for 1:2, 10 for a 10:1 reverse split.
    pub factor: f64,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub code: String,
    pub name: String,
    pub name_en: String,
    /// Index into [`super::SECTORS33`].
    pub sector: usize,
    /// 0 Prime, 1 Standard, 2 Growth.
    pub segment: usize,
    pub scale_cat: &'static str,
    /// Margin code: "1" margin issue, "2" loan issue, "3" other.
    pub mrgn: &'static str,
    pub listed: NaiveDate,
    /// Close-price level in today's share units.
    pub base_price: f64,
    /// Daily volume level in today's share units.
    pub base_volume: f64,
    /// Issued shares today (incl. treasury).
    pub shares: f64,
    /// Fiscal year end month (3 = March).
    pub fy_end_month: u32,
    pub splits: Vec<Split>,
    pub hash: u64,
    /// Position in the issue list (used to build unique document numbers).
    pub index: usize,
}
