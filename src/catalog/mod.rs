//! The endpoint catalog: every J-Quants V2 endpoint declared as data.
//!
//! One table drives the mirror's routes and OpenAPI paths, request validation and
//! canonicalisation (`crate::request`), the cache's freshness rules (by [`Dataset`]) and the
//! simulator. Parameters and valid combinations follow JPX's `endpoints.json` (vendored in
//! `jpx/`, checked by the tests below); endpoints and parameters newer than that snapshot are
//! marked `newer` with their source.

pub mod field;
mod fields;

pub use field::{Field, Ty};
pub use fields::{docs_of, fields_of};

/// Subscription plans, ordered by what they include.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Light,
    Standard,
    Premium,
}

impl Plan {
    /// Upstream requests per minute for the whole key.
    pub fn per_minute(self) -> u32 {
        match self {
            Plan::Free => 5,
            Plan::Light => 60,
            Plan::Standard => 120,
            Plan::Premium => 500,
        }
    }

    pub fn parse(s: &str) -> Option<Plan> {
        match s.trim().to_ascii_lowercase().as_str() {
            "free" => Some(Plan::Free),
            "light" => Some(Plan::Light),
            "standard" => Some(Plan::Standard),
            "premium" => Some(Plan::Premium),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Light => "light",
            Plan::Standard => "standard",
            Plan::Premium => "premium",
        }
    }
}

impl std::str::FromStr for Plan {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Plan::parse(s).ok_or_else(|| format!("unknown plan {s:?} (free, light, standard, premium)"))
    }
}

/// `/fins/summary` and `/fins/details` have their own 60/min cap on every plan.
pub const FINS_PER_MINUTE: u32 = 60;

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

const fn p(name: &'static str, kind: ParamKind, doc: &'static str) -> Param {
    Param { name, kind, doc }
}

const CODE: Param = p(
    "code",
    ParamKind::Code,
    "Issue code, 4 or 5 characters (e.g. 72030 or 7203; 4 characters mean the common stock)",
);
const DATE: Param = p("date", ParamKind::Date, "Date, YYYYMMDD or YYYY-MM-DD");
const FROM: Param = p(
    "from",
    ParamKind::Date,
    "Start date (inclusive), YYYYMMDD or YYYY-MM-DD",
);
const TO: Param = p(
    "to",
    ParamKind::Date,
    "End date (inclusive), YYYYMMDD or YYYY-MM-DD",
);

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

/// Which per-minute budget an upstream call draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateGroup {
    /// Only the plan's limit.
    Plan,
    /// The plan's limit and the 60/min statements cap.
    Statements,
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

const NOTES: &str = "upstream documentation after the January 2026 snapshot (docs/upstream.md)";
const CLIENT: &str = "official Python client jquants-api-client 2.8 (ClientV2)";

use ParamKind::*;

/// What most endpoints share; each catalog entry states only what differs.
const DATA: Endpoint = Endpoint {
    id: "",
    path: "",
    title: "",
    params: &[],
    patterns: &[],
    optional: &[],
    min_plan: Plan::Free,
    paginated: true,
    envelope: Envelope::Data,
    dataset: Dataset::DailyClose,
    rate_group: RateGroup::Plan,
    row_key: &[],
    code_field: Some("Code"),
    api_available: true,
    newer: None,
};

/// The EDINET-derived datasets: one filer by EDINET code, issuer code or filing date.
const EDINET: Endpoint = Endpoint {
    patterns: &[
        &[],
        &["edinet_code"],
        &["code"],
        &["date"],
        &["edinet_code", "date"],
        &["code", "date"],
    ],
    min_plan: Plan::Light,
    dataset: Dataset::Edinet,
    row_key: &["DocId"],
    newer: Some(NOTES),
    ..DATA
};

/// Every upstream V2 endpoint, in JPX's order, newer endpoints last.
pub static ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        id: "eq-master",
        path: "/equities/master",
        title: "Listed issue information",
        params: &[CODE, DATE],
        patterns: &[&[], &["code"], &["date"], &["code", "date"]],
        min_plan: Plan::Free,
        dataset: Dataset::Master,
        row_key: &["Date", "Code"],
        ..DATA
    },
    Endpoint {
        id: "eq-bars-daily",
        path: "/equities/bars/daily",
        title: "Daily stock prices (OHLC, adjusted)",
        params: &[CODE, DATE, FROM, TO],
        patterns: &[
            &["code"],
            &["code", "date"],
            &["code", "from", "to"],
            &["date"],
        ],
        min_plan: Plan::Free,
        dataset: Dataset::DailyClose,
        row_key: &["Date", "Code"],
        ..DATA
    },
    Endpoint {
        id: "eq-bars-minute",
        path: "/equities/bars/minute",
        title: "Minute bars (add-on)",
        params: &[CODE, DATE, FROM, TO],
        patterns: &[
            &["code"],
            &["code", "date"],
            &["code", "from", "to"],
            &["date"],
        ],
        min_plan: Plan::Light,
        dataset: Dataset::DailyClose,
        row_key: &["Date", "Time", "Code"],
        ..DATA
    },
    Endpoint {
        id: "eq-trades",
        path: "/equities/trades",
        title: "Tick data (CSV bulk only; not served by the API)",
        params: &[],
        patterns: &[],
        min_plan: Plan::Light,
        paginated: false,
        dataset: Dataset::DailyClose,
        row_key: &["TransactionId"],
        api_available: false,
        ..DATA
    },
    Endpoint {
        id: "fin-summary",
        path: "/fins/summary",
        title: "Financial statement summaries",
        params: &[
            CODE,
            DATE,
            p(
                "cursor",
                Text,
                "Cursor returned on the last page of an earlier response",
            ),
        ],
        patterns: &[&["code"], &["date"], &["code", "date"]],
        optional: &["cursor"],
        min_plan: Plan::Free,
        dataset: Dataset::Statements,
        rate_group: RateGroup::Statements,
        row_key: &["DiscNo"],
        ..DATA
    },
    Endpoint {
        id: "eq-bars-daily-am",
        path: "/equities/bars/daily/am",
        title: "Morning session prices",
        params: &[CODE],
        patterns: &[&[], &["code"]],
        min_plan: Plan::Premium,
        dataset: Dataset::MorningSession,
        row_key: &["Date", "Code"],
        ..DATA
    },
    Endpoint {
        id: "eq-investor-types",
        path: "/equities/investor-types",
        title: "Trading by type of investors",
        params: &[
            p("section", Text, "Market section (e.g. TSEPrime)"),
            FROM,
            TO,
        ],
        patterns: &[
            &[],
            &["section"],
            &["from", "to"],
            &["section", "from", "to"],
        ],
        min_plan: Plan::Light,
        dataset: Dataset::InvestorTypes,
        row_key: &["PubDate", "Section", "StDate"],
        code_field: None,
        ..DATA
    },
    Endpoint {
        id: "mkt-margin-int",
        path: "/markets/margin-interest",
        title: "Margin trading outstandings (weekly, daily since 2026-09-25)",
        params: &[
            CODE,
            FROM,
            TO,
            DATE,
            p(
                "published_date",
                Date,
                "Publication date, YYYYMMDD or YYYY-MM-DD",
            ),
        ],
        patterns: &[
            &["code"],
            &["code", "date"],
            &["code", "from", "to"],
            &["date"],
            &["published_date"],
            &["code", "published_date"],
        ],
        min_plan: Plan::Standard,
        dataset: Dataset::MarginInterest,
        row_key: &["Date", "Code"],
        newer: Some(NOTES),
        ..DATA
    },
    Endpoint {
        id: "mkt-short-ratio",
        path: "/markets/short-ratio",
        title: "Short selling value ratio by sector",
        params: &[p("s33", Text, "33-sector code (e.g. 0050)"), FROM, TO, DATE],
        patterns: &[
            &["s33"],
            &["s33", "date"],
            &["s33", "from", "to"],
            &["date"],
        ],
        min_plan: Plan::Standard,
        dataset: Dataset::DailyClose,
        row_key: &["Date", "S33"],
        code_field: None,
        ..DATA
    },
    Endpoint {
        id: "mkt-short-sale",
        path: "/markets/short-sale-report",
        title: "Outstanding short selling positions reported",
        params: &[
            CODE,
            p("disc_date", Date, "Disclosure date"),
            p("disc_date_from", Date, "Disclosure date from"),
            p("disc_date_to", Date, "Disclosure date to"),
            p("calc_date", Date, "Calculation date"),
        ],
        patterns: &[
            &["code"],
            &["code", "disc_date"],
            &["code", "disc_date_from", "disc_date_to"],
            &["code", "calc_date"],
            &["disc_date"],
            &["calc_date"],
        ],
        min_plan: Plan::Standard,
        dataset: Dataset::ShortSaleReport,
        row_key: &["DiscDate", "CalcDate", "Code", "SSName", "FundName"],
        ..DATA
    },
    Endpoint {
        id: "mkt-margin-alert",
        path: "/markets/margin-alert",
        title: "Daily margin trading outstandings (published issues)",
        params: &[CODE, FROM, TO, DATE],
        patterns: &[
            &["code"],
            &["code", "date"],
            &["code", "from", "to"],
            &["date"],
        ],
        min_plan: Plan::Standard,
        dataset: Dataset::DailyClose,
        row_key: &["PubDate", "Code"],
        ..DATA
    },
    Endpoint {
        id: "mkt-breakdown",
        path: "/markets/breakdown",
        title: "Trading breakdown",
        params: &[CODE, FROM, TO, DATE],
        patterns: &[
            &["code"],
            &["code", "date"],
            &["code", "from", "to"],
            &["date"],
        ],
        min_plan: Plan::Premium,
        dataset: Dataset::Breakdown,
        row_key: &["Date", "Code"],
        ..DATA
    },
    Endpoint {
        id: "mkt-cal",
        path: "/markets/calendar",
        title: "Trading calendar",
        params: &[
            p(
                "hol_div",
                Choice(&["0", "1", "2", "3"]),
                "Holiday division: 0 non-business day, 1 business day, 2 half-day, 3 holiday trading",
            ),
            FROM,
            TO,
        ],
        patterns: &[
            &[],
            &["hol_div"],
            &["from", "to"],
            &["hol_div", "from", "to"],
        ],
        min_plan: Plan::Free,
        paginated: false,
        dataset: Dataset::Calendar,
        row_key: &["Date"],
        code_field: None,
        ..DATA
    },
    Endpoint {
        id: "idx-bars-daily",
        path: "/indices/bars/daily",
        title: "Index prices (OHLC)",
        params: &[
            p("code", Text, "Index code (e.g. 0000 for TOPIX)"),
            DATE,
            FROM,
            TO,
        ],
        patterns: &[
            &["code"],
            &["code", "date"],
            &["code", "from", "to"],
            &["date"],
        ],
        min_plan: Plan::Standard,
        dataset: Dataset::DailyClose,
        row_key: &["Date", "Code"],
        code_field: None,
        ..DATA
    },
    Endpoint {
        id: "idx-bars-daily-topix",
        path: "/indices/bars/daily/topix",
        title: "TOPIX prices (OHLC)",
        params: &[FROM, TO],
        patterns: &[&[], &["from"], &["to"], &["from", "to"]],
        min_plan: Plan::Light,
        dataset: Dataset::DailyClose,
        row_key: &["Date"],
        code_field: None,
        ..DATA
    },
    Endpoint {
        id: "fin-details",
        path: "/fins/details",
        title: "Financial statements (BS/PL/CF)",
        params: &[
            CODE,
            DATE,
            p(
                "cursor",
                Text,
                "Cursor returned on the last page of an earlier response",
            ),
        ],
        patterns: &[&["code"], &["date"], &["code", "date"]],
        optional: &["cursor"],
        min_plan: Plan::Premium,
        dataset: Dataset::Statements,
        rate_group: RateGroup::Statements,
        row_key: &["DiscNo"],
        ..DATA
    },
    Endpoint {
        id: "fin-dividend",
        path: "/fins/dividend",
        title: "Dividend notices",
        params: &[CODE, FROM, TO, DATE],
        patterns: &[
            &["code"],
            &["code", "date"],
            &["code", "from", "to"],
            &["date"],
        ],
        min_plan: Plan::Premium,
        dataset: Dataset::Dividend,
        row_key: &["RefNo"],
        ..DATA
    },
    Endpoint {
        id: "eq-earnings-cal",
        path: "/equities/earnings-calendar",
        title: "Earnings announcement calendar",
        params: &[],
        patterns: &[&[]],
        min_plan: Plan::Free,
        dataset: Dataset::EarningsCalendar,
        row_key: &["Date", "Code"],
        ..DATA
    },
    Endpoint {
        id: "drv-bars-daily-opt-225",
        path: "/derivatives/bars/daily/options/225",
        title: "Nikkei 225 options prices",
        params: &[DATE],
        patterns: &[&["date"]],
        min_plan: Plan::Standard,
        dataset: Dataset::Derivatives,
        row_key: &["Date", "Code"],
        code_field: None,
        ..DATA
    },
    Endpoint {
        id: "drv-bars-daily-fut",
        path: "/derivatives/bars/daily/futures",
        title: "Futures prices",
        params: &[
            p("category", Text, "Product category (e.g. NK225F)"),
            DATE,
            p(
                "contract_flag",
                Choice(&["1"]),
                "1: central contract month only",
            ),
        ],
        patterns: &[
            &["date"],
            &["date", "category"],
            &["date", "contract_flag"],
            &["date", "category", "contract_flag"],
        ],
        min_plan: Plan::Premium,
        dataset: Dataset::Derivatives,
        row_key: &["Date", "Code"],
        code_field: None,
        ..DATA
    },
    Endpoint {
        id: "drv-bars-daily-opt",
        path: "/derivatives/bars/daily/options",
        title: "Options prices",
        params: &[
            p("category", Text, "Product category (e.g. NK225E)"),
            p(
                "code",
                Text,
                "Underlying security code (for securities options)",
            ),
            DATE,
            p(
                "contract_flag",
                Choice(&["1"]),
                "1: central contract month only",
            ),
        ],
        patterns: &[
            &["date"],
            &["date", "category"],
            &["date", "category", "code"],
            &["date", "contract_flag"],
            &["date", "category", "contract_flag"],
            &["date", "category", "code", "contract_flag"],
        ],
        min_plan: Plan::Premium,
        dataset: Dataset::Derivatives,
        row_key: &["Date", "Code"],
        code_field: None,
        ..DATA
    },
    Endpoint {
        id: "bulk-list",
        path: "/bulk/list",
        title: "Bulk CSV files available",
        params: &[
            p(
                "endpoint",
                Text,
                "Endpoint path of the dataset (e.g. /equities/bars/daily)",
            ),
            p(
                "date",
                DayOrMonth,
                "Day (YYYYMMDD) or month (YYYYMM, YYYY-MM)",
            ),
            FROM,
            TO,
        ],
        patterns: &[&["endpoint"], &["endpoint", "from", "to"], &["date"]],
        min_plan: Plan::Light,
        paginated: false,
        dataset: Dataset::BulkList,
        row_key: &["Key"],
        code_field: None,
        newer: Some(CLIENT),
        ..DATA
    },
    Endpoint {
        id: "bulk-get",
        path: "/bulk/get",
        title: "Presigned download URL of a bulk CSV file",
        params: &[
            p("key", Text, "Key from /bulk/list"),
            p("endpoint", Text, "Endpoint path of the dataset"),
            p(
                "date",
                DayOrMonth,
                "Day (YYYYMMDD) or month (YYYYMM, YYYY-MM)",
            ),
        ],
        patterns: &[&["key"], &["endpoint", "date"]],
        min_plan: Plan::Light,
        paginated: false,
        envelope: Envelope::Object,
        dataset: Dataset::BulkUrl,
        row_key: &[],
        code_field: None,
        newer: Some(CLIENT),
        ..DATA
    },
    Endpoint {
        id: "eq-valuation",
        path: "/equities/valuation",
        title: "Valuation indicators (EPS, BPS, PER, PBR, market cap)",
        params: &[CODE, DATE, FROM, TO],
        patterns: &[
            &["code"],
            &["code", "date"],
            &["code", "from", "to"],
            &["date"],
        ],
        min_plan: Plan::Light,
        dataset: Dataset::DailyClose,
        row_key: &["Date", "Code"],
        newer: Some(NOTES),
        ..DATA
    },
    Endpoint {
        id: "fin-earnings-date",
        path: "/fins/earnings-date",
        title: "Scheduled earnings announcement dates",
        params: &[
            CODE,
            DATE,
            p("scheduled_date", Date, "Scheduled announcement date"),
        ],
        patterns: &[&["code"], &["date"], &["scheduled_date"]],
        min_plan: Plan::Light,
        dataset: Dataset::EarningsDate,
        row_key: &["Code", "PubDate"],
        newer: Some(NOTES),
        ..DATA
    },
    Endpoint {
        id: "td-list",
        path: "/td/list",
        title: "TDnet timely disclosures (add-on)",
        params: &[
            DATE,
            CODE,
            FROM,
            TO,
            p("discItems", Text, "Disclosure item codes, comma separated"),
            p("cursor", Text, "Cursor from an earlier response"),
        ],
        patterns: &[
            &["date"],
            &["code"],
            &["code", "date"],
            &["code", "from", "to"],
            &["from", "to"],
        ],
        optional: &["discItems", "cursor"],
        min_plan: Plan::Light,
        dataset: Dataset::Tdnet,
        row_key: &["DiscNo"],
        newer: Some(CLIENT),
        ..DATA
    },
    Endpoint {
        id: "td-files",
        path: "/td/files",
        title: "Download URLs of one TDnet disclosure's files (add-on)",
        params: &[
            p("discNo", Text, "Disclosure number (14 digits)"),
            p("docs", Text, "File kinds, comma separated: g, s, x"),
        ],
        patterns: &[&["discNo"]],
        optional: &["docs"],
        min_plan: Plan::Light,
        paginated: false,
        envelope: Envelope::Object,
        dataset: Dataset::BulkUrl,
        row_key: &[],
        code_field: None,
        newer: Some(CLIENT),
        ..DATA
    },
    Endpoint {
        id: "td-bulk",
        path: "/td/bulk",
        title: "TDnet disclosure index, bulk download URL (add-on)",
        params: &[],
        patterns: &[&[]],
        min_plan: Plan::Light,
        paginated: false,
        envelope: Envelope::Object,
        dataset: Dataset::BulkUrl,
        row_key: &[],
        code_field: None,
        newer: Some(CLIENT),
        ..DATA
    },
    Endpoint {
        id: "edinet-major-shareholders",
        path: "/edinet/major-shareholders",
        title: "Major shareholders (from annual securities reports)",
        params: &[
            p("edinet_code", Text, "EDINET code (e.g. E03814)"),
            CODE,
            DATE,
        ],
        ..EDINET
    },
    Endpoint {
        id: "edinet-cross-shareholdings",
        path: "/edinet/cross-shareholdings",
        title: "Cross-shareholdings (from annual securities reports)",
        params: &[
            p("edinet_code", Text, "EDINET code (e.g. E02367)"),
            CODE,
            DATE,
        ],
        ..EDINET
    },
    Endpoint {
        id: "edinet-large-volume-shareholders",
        path: "/edinet/large-volume-shareholders",
        title: "Large shareholding reports",
        params: &[
            p("edinet_code", Text, "Issuer's EDINET code (e.g. E03814)"),
            CODE,
            DATE,
        ],
        ..EDINET
    },
];

/// The endpoint served at `path` (without the `/v2` prefix).
pub fn find(path: &str) -> Option<&'static Endpoint> {
    ENDPOINTS.iter().find(|e| e.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn jpx() -> serde_json::Value {
        serde_json::from_str(include_str!("../../jpx/endpoints.json")).unwrap()
    }

    #[test]
    fn every_jpx_endpoint_is_in_the_catalog_with_its_parameters_and_combinations() {
        for e in jpx()["endpoints"].as_array().unwrap() {
            let path = e["path"].as_str().unwrap();
            let ours = find(path).unwrap_or_else(|| panic!("{path} missing from catalog"));
            let their_params: BTreeSet<&str> = e["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap())
                .filter(|n| *n != "pagination_key")
                .collect();
            let our_params: BTreeSet<&str> = ours.params.iter().map(|p| p.name).collect();
            assert!(
                their_params.is_subset(&our_params),
                "{path}: JPX params {their_params:?} not all in {our_params:?}"
            );
            if ours.newer.is_none() {
                // Same parameters, same combinations, except additions documented as newer.
                let extra: Vec<_> = our_params
                    .difference(&their_params)
                    .filter(|n| !ours.optional.contains(n))
                    .collect();
                assert!(extra.is_empty(), "{path}: undocumented params {extra:?}");
            }
            for pat in e["valid_request_patterns"].as_array().unwrap() {
                let want: BTreeSet<&str> = pat["params"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                assert!(
                    ours.patterns
                        .iter()
                        .any(|p| p.iter().copied().collect::<BTreeSet<_>>() == want),
                    "{path}: JPX pattern {want:?} missing"
                );
            }
            let paginated = e["pagination"].is_object() && e["pagination"]["supported"] == true;
            assert_eq!(ours.paginated, paginated, "{path}: pagination");
            let min_plan = e["plan"][0].as_str().unwrap();
            assert_eq!(
                ours.min_plan,
                Plan::parse(min_plan).unwrap(),
                "{path}: plan"
            );
        }
    }

    #[test]
    fn jpx_fields_appear_in_order() {
        for e in jpx()["endpoints"].as_array().unwrap() {
            let path = e["path"].as_str().unwrap();
            if path == "/markets/margin-interest" {
                continue; // replaced wholesale by the current 16-key schema
            }
            let ours = fields_of(path);
            let mut pos = 0;
            for f in e["response"]["fields"].as_array().unwrap() {
                let name = f["name"].as_str().unwrap();
                let at = ours[pos..].iter().position(|o| *o == name);
                assert!(at.is_some(), "{path}: {name} missing or out of order");
                pos += at.unwrap() + 1;
            }
        }
        assert_eq!(fields_of("/markets/margin-interest").len(), 16);
    }

    #[test]
    fn patterns_only_name_declared_params_and_paths_are_unique() {
        let mut paths = BTreeSet::new();
        for e in ENDPOINTS {
            assert!(paths.insert(e.path), "duplicate {}", e.path);
            for pat in e.patterns {
                for name in *pat {
                    assert!(
                        e.param(name).is_some(),
                        "{}: pattern names unknown {name}",
                        e.path
                    );
                }
            }
            for name in e.optional {
                assert!(
                    e.param(name).is_some(),
                    "{}: optional names unknown {name}",
                    e.path
                );
            }
            if e.api_available {
                assert!(!e.fields().is_empty(), "{}: no fields", e.path);
            }
        }
    }
}
