//! Annual dividends per fiscal year from the notices in force, and their yields against the
//! latest close (docs/dividends.md).
//!
//! Invariants: a sum is known only when every amount in it is (an undecided `"-"` or a blank
//! amount makes the sum null, never 0); within a period several notices of the same kind
//! count once, the newest; a yield needs a positive close.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::{DividendNotice, NoticeInForce};
use crate::derived::values::{num, text};

/// One dividend period of a fiscal year.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DividendPeriod {
    /// Record year-month, `YYYY-MM`.
    #[serde(rename = "IFTerm")]
    pub if_term: String,
    /// "1" interim, "2" year-end.
    #[serde(rename = "IFCode")]
    pub if_code: String,
    /// Decided dividend per share, yen; null when no decided notice or its amount is unknown.
    #[serde(rename = "Decided")]
    pub decided: Option<f64>,
    /// Whether a decided notice is in force for this period (its amount may still be unknown).
    #[serde(rename = "HasDecided")]
    pub has_decided: bool,
    /// Forecast dividend per share, yen; null when no forecast notice or amount unknown.
    #[serde(rename = "Forecast")]
    pub forecast: Option<f64>,
    /// Whether a forecast notice is in force for this period.
    #[serde(rename = "HasForecast")]
    pub has_forecast: bool,
}

/// Annual dividends of one fiscal year and their yields against the latest close.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AnnualDividend {
    /// Issue code.
    pub code: String,
    /// Fiscal year end, `YYYY-MM` (the year-end dividend's record month).
    pub fiscal_year_end: String,
    /// Sum of the decided dividends per share of the year, yen; null when none is decided or
    /// any decided amount is unknown.
    pub decided_div: Option<f64>,
    /// Sum of the forecast dividends per share of the year, yen; null when there is no
    /// forecast or any forecast amount is unknown.
    pub forecast_div: Option<f64>,
    /// Expected annual dividend per share, yen: per period the decided amount where decided,
    /// else the forecast; null when any period's amount is unknown.
    pub expected_div: Option<f64>,
    /// Latest raw close, yen per share.
    pub close: Option<f64>,
    /// Date of that close, `YYYY-MM-DD`.
    pub close_date: Option<String>,
    /// `DecidedDiv / Close`, fraction (0.025 = 2.5%).
    pub decided_yield: Option<f64>,
    /// `ForecastDiv / Close`, fraction.
    pub forecast_yield: Option<f64>,
    /// `ExpectedDiv / Close`, fraction.
    pub expected_yield: Option<f64>,
    /// The periods behind the sums, in record-month order.
    pub periods: Vec<DividendPeriod>,
}

/// Annual dividends per fiscal year, newest first (the first row is "the latest fiscal
/// year"), with yields against `latest_close` (date, raw close in yen).
///
/// The fiscal year of a notice is the first fiscal-year end on or after its `IFTerm`; the
/// fiscal-year-end month is the record month of the newest year-end notice (an interim-only
/// history assumes the year ends six months after the interim). Within a period several
/// notices of the same kind (a forecast revised by a new notice rather than a correction)
/// count once: the newest.
pub fn annual_yields(
    in_force: &[NoticeInForce],
    latest_close: Option<(NaiveDate, f64)>,
) -> Vec<AnnualDividend> {
    let notices: Vec<&DividendNotice> = in_force.iter().map(|c| &c.notice).collect();
    let code = notices
        .iter()
        .find_map(|n| text(&n.code))
        .unwrap_or_default();
    let Some(fy_month) = fiscal_year_end_month(&notices) else {
        return Vec::new();
    };
    let close = latest_close.filter(|(_, c)| *c > 0.0);
    by_fiscal_year(notices, fy_month)
        .into_iter()
        .rev()
        .map(|(fy, periods)| annual(&code, fy, periods, close))
        .collect()
}

/// The fiscal-year-end month: the record month of the newest year-end notice, else six
/// months after the newest interim; `None` without any notice with a record month.
fn fiscal_year_end_month(notices: &[&DividendNotice]) -> Option<u32> {
    notices
        .iter()
        .filter(|n| text(&n.if_code).as_deref() == Some("2"))
        .filter_map(|n| n.term())
        .max()
        .map(|(_, m)| m)
        .or_else(|| {
            notices
                .iter()
                .filter_map(|n| n.term())
                .max()
                .map(|(_, m)| (m + 5) % 12 + 1)
        })
}

/// (term, IFCode) -> FRCode -> newest notice.
type Periods<'a> = BTreeMap<((i32, u32), String), BTreeMap<String, &'a DividendNotice>>;

/// The notices by fiscal year (year, end month), then period, keeping the newest of each
/// kind; notices without a record month or an `FRCode` are left out.
fn by_fiscal_year(
    notices: Vec<&DividendNotice>,
    fy_month: u32,
) -> BTreeMap<(i32, u32), Periods<'_>> {
    let fy_of = |(y, m): (i32, u32)| {
        if m <= fy_month {
            (y, fy_month)
        } else {
            (y + 1, fy_month)
        }
    };
    let mut years: BTreeMap<(i32, u32), Periods> = BTreeMap::new();
    for n in notices {
        let (Some(term), Some(fr)) = (n.term(), text(&n.fr_code)) else {
            continue;
        };
        let slot = years
            .entry(fy_of(term))
            .or_default()
            .entry((term, text(&n.if_code).unwrap_or_default()))
            .or_default();
        match slot.get(&fr) {
            Some(old) if old.order_key() > n.order_key() => {}
            _ => {
                slot.insert(fr, n);
            }
        }
    }
    years
}

/// One fiscal year's row: its periods, the three sums and their yields against `close`.
fn annual(
    code: &str,
    (y, m): (i32, u32),
    periods: Periods,
    close: Option<(NaiveDate, f64)>,
) -> AnnualDividend {
    let periods: Vec<DividendPeriod> = periods
        .into_iter()
        .map(|((term, if_code), by_fr)| period(term, if_code, &by_fr))
        .collect();
    let decided = sum_known(&periods, |p| p.has_decided.then_some(p.decided));
    let forecast = sum_known(&periods, |p| p.has_forecast.then_some(p.forecast));
    let expected = sum_known(&periods, |p| {
        Some(if p.has_decided { p.decided } else { p.forecast })
    });
    let yield_of = |div: Option<f64>| div.zip(close).map(|(d, (_, c))| d / c);
    AnnualDividend {
        code: code.to_string(),
        fiscal_year_end: format!("{y:04}-{m:02}"),
        decided_div: decided,
        forecast_div: forecast,
        expected_div: expected,
        close: close.map(|(_, c)| c),
        close_date: close.map(|(d, _)| crate::jst::fmt_date(d)),
        decided_yield: yield_of(decided),
        forecast_yield: yield_of(forecast),
        expected_yield: yield_of(expected),
        periods,
    }
}

/// One period from its decided (`FRCode` 1) and forecast (2) notices.
fn period(
    (ty, tm): (i32, u32),
    if_code: String,
    by_fr: &BTreeMap<String, &DividendNotice>,
) -> DividendPeriod {
    let dec = by_fr.get("1");
    let fc = by_fr.get("2");
    DividendPeriod {
        if_term: format!("{ty:04}-{tm:02}"),
        if_code,
        decided: dec.and_then(|n| num(&n.div_rate)),
        has_decided: dec.is_some(),
        forecast: fc.and_then(|n| num(&n.div_rate)),
        has_forecast: fc.is_some(),
    }
}

/// The sum of the amounts `part` picks from `periods` (`None` skips a period). A sum is known
/// only when every amount in it is: an undecided "-" is not 0. No parts at all is no sum
/// either.
fn sum_known(
    periods: &[DividendPeriod],
    part: impl Fn(&DividendPeriod) -> Option<Option<f64>>,
) -> Option<f64> {
    let parts: Vec<Option<f64>> = periods.iter().filter_map(part).collect();
    if parts.is_empty() {
        return None;
    }
    parts.into_iter().sum::<Option<f64>>()
}
