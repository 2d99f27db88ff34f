//! One daily bar of `/equities/bars/daily`, reduced to what the derived series need: the raw
//! close and the corporate-action factor `AdjFactor` (docs/market-cap.md).
//!
//! Invariants: a blank close is `None` (a no-trade day), never 0; a blank or non-positive
//! `AdjFactor`, or one of exactly 1, is not a split.

use chrono::NaiveDate;

use super::values::Fields;
use super::{DerivedError, Row};

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
        Self::from_fields(Fields::Row(row))
    }

    pub fn from_fields(f: Fields) -> Result<Self, DerivedError> {
        Ok(Self {
            date: f.req_date("Date")?,
            code: f.text("Code").unwrap_or_default(),
            close: f.num("C"),
            adj_factor: f.num("AdjFactor"),
        })
    }
}

/// The bar's `AdjFactor` when it marks a split or reverse split. A blank factor reads as "no
/// corporate action": the upstream sends 1 on ordinary days, and a missing factor cannot be
/// turned into a split.
pub fn split_factor(bar: &Bar) -> Option<f64> {
    bar.adj_factor.filter(|f| *f > 0.0 && *f != 1.0)
}
