//! What one catalog entry declares: the endpoint's parameters and their kinds, its valid
//! parameter combinations, minimum plan, body shape, update schedule and row identity.
//!
//! Invariants: an endpoint is identified by its path (equality and hashing use only the
//! path); every name in `patterns` and `optional` is one of `params` (checked by the
//! catalog's tests).

use super::fields::fields_of;
use super::plan::{Plan, RateGroup};

/// How a parameter's value is checked and canonicalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Issue code: 4 or 5 alphanumerics; 4 characters mean the common stock (`7203` = `72030`).
    Code,
    /// `YYYYMMDD` or `YYYY-MM-DD`, canonical `YYYY-MM-DD`; impossible dates are a 400.
    Date,
    /// `/bulk/*` dates: a day as [`ParamKind::Date`] or a month `YYYYMM` / `YYYY-MM`.
    DayOrMonth,
    /// Free text passed through unchanged (sector codes, categories, keys, cursors).
    Text,
    /// One of a fixed set of values.
    Choice(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub doc: &'static str,
}

/// Shape of a successful body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// `{"data": [...], "pagination_key"?: "..."}` (plus `cursor` on `/fins/*`).
    Data,
    /// A single object (`/bulk/get`'s presigned `{"url"}`, `/td/files`, `/td/bulk`).
    Object,
}

/// Datasets by upstream update schedule (`docs/upstream.md`, "Update times"); the cache's freshness
/// rules are written per dataset in `crate::cache::freshness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dataset {
    /// `/equities/master`: ~17:30 for the next business day, sometimes again 08:00.
    Master,
    /// Daily market data published ~16:30 on business days (bars, indices, TOPIX,
    /// short ratio, margin alerts, valuation, minute bars).
    DailyClose,
    /// `/equities/bars/daily/am`: the morning session, ~12:00.
    MorningSession,
    /// `/fins/summary`, `/fins/details`: ~18:00 preliminary, ~24:30 final.
    Statements,
    /// `/fins/dividend`: hourly 12:00-19:00.
    Dividend,
    /// `/fins/earnings-date`: ~10:05.
    EarningsDate,
    /// `/equities/earnings-calendar`: irregular, ~19:00.
    EarningsCalendar,
    /// `/markets/margin-interest`: weekly (2nd business day) until 2026-09-25, then daily; 16:30.
    MarginInterest,
    /// `/equities/investor-types`: weekly, 4th business day ~18:00.
    InvestorTypes,
    /// `/markets/short-sale-report`: ~17:30.
    ShortSaleReport,
    /// `/markets/breakdown`: ~18:00.
    Breakdown,
    /// `/markets/calendar`: irregular; next year added around end of March.
    Calendar,
    /// Derivatives: ~27:00 (03:00 the next day).
    Derivatives,
    /// `/bulk/list`: follows the underlying datasets.
    BulkList,
    /// `/bulk/get`: presigned URLs valid for 5 minutes.
    BulkUrl,
    /// TDnet add-on: disclosures arrive through the day.
    Tdnet,
    /// EDINET-derived datasets: daily.
    Edinet,
}

#[derive(Debug)]
pub struct Endpoint {
    /// JPX's name (`eq-bars-daily`), or ours for endpoints newer than the snapshot.
    pub id: &'static str,
    pub path: &'static str,
    pub title: &'static str,
    /// Parameters a request may carry, besides `pagination_key`.
    pub params: &'static [Param],
    /// Valid combinations: the set of parameters given must equal one of these.
    pub patterns: &'static [&'static [&'static str]],
    /// Parameters that may be added to any valid combination (`cursor` on `/fins/*`).
    pub optional: &'static [&'static str],
    pub min_plan: Plan,
    pub paginated: bool,
    pub envelope: Envelope,
    pub dataset: Dataset,
    pub rate_group: RateGroup,
    /// Keys that identify a row (for the row-level store and for merging pages).
    pub row_key: &'static [&'static str],
    /// The response key carrying the row's issue code, if rows are per issue.
    pub code_field: Option<&'static str>,
    /// False where the upstream serves the dataset only as CSV bulk files (`/equities/trades`).
    pub api_available: bool,
    /// Source for endpoints/parameters newer than `endpoints.json`, if any.
    pub newer: Option<&'static str>,
}

/// Endpoints are identified by path: the catalog holds each once.
impl PartialEq for Endpoint {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}
impl Eq for Endpoint {}
impl std::hash::Hash for Endpoint {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.path.hash(state)
    }
}

impl Endpoint {
    pub fn fields(&self) -> &'static [&'static str] {
        fields_of(self.path)
    }

    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The valid parameter combinations, each written as its names joined by `sep`, the
    /// empty one as `none`.
    pub fn combinations(&self, none: &str, sep: &str) -> Vec<String> {
        let write = |p: &&[&str]| {
            if p.is_empty() {
                none.to_string()
            } else {
                p.join(sep)
            }
        };
        self.patterns.iter().map(write).collect()
    }
}
