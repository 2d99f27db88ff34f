//! Equity business days, from `/markets/calendar` rows where the calendar covers a date and
//! Monday-Friday where it does not (docs/market-cap.md).
//!
//! Invariants: `HolDiv` "1" (business) and "2" (half-day business) are equity business days;
//! "0" (holiday) and "3" (holiday trading, derivatives only) are not. Every answer is a pure
//! function of the rows given: no clock, no IO.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};

use super::values::Fields;
use super::{DerivedError, Row};

/// The afternoon close of the cash equity market (docs/market-cap.md): disclosures at or
/// after this time are known only from the next business day.
pub fn close_cutoff() -> NaiveTime {
    NaiveTime::from_hms_opt(15, 0, 0).expect("valid time")
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
        Self::from_fields(Fields::Row(row))
    }

    pub fn from_fields(f: Fields) -> Result<Self, DerivedError> {
        Ok(Self {
            date: f.req_date("Date")?,
            hol_div: f.text("HolDiv").unwrap_or_default(),
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
