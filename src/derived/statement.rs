//! The share counts of one `/fins/summary` filing, when the market could first know them, and
//! the order in which filings take over from each other (docs/market-cap.md,
//! docs/share-counts.md).
//!
//! Invariants: a filing is usable from its effective day, which is never before its
//! disclosure (at or after the 15:00 close, with a blank time, or on a non-business day it is
//! the next business day); filings without a positive `ShOutFY` (forecast revisions) are
//! never usable, so they cannot reset a share count to zero.

use chrono::{NaiveDate, NaiveTime};

use super::calendar::{Calendar, close_cutoff};
use super::values::Fields;
use super::{DerivedError, Row};

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
        Self::from_fields(Fields::Row(row))
    }

    pub fn from_fields(f: Fields) -> Result<Self, DerivedError> {
        Ok(Self {
            disc_date: f.req_date("DiscDate")?,
            disc_time: f.time("DiscTime"),
            disc_no: f.text("DiscNo").unwrap_or_default(),
            per_end: f.date("CurPerEn"),
            sh_out: f.num("ShOutFY"),
            tr_sh: f.num("TrShFY"),
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
