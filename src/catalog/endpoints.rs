//! The table of every upstream V2 endpoint, in JPX's order (`jpx/endpoints.json`), newer
//! endpoints last, each marked `newer` with its source.
//!
//! Invariants: each path appears once; parameters and combinations match JPX's spec except
//! where an entry is marked `newer` (checked by the catalog's tests against
//! `jpx/endpoints.json`). Each entry states only what differs from the shared defaults
//! ([`DATA`] and the family constants below it).

use super::endpoint::{Dataset, Endpoint, Envelope, Param, ParamKind, ParamKind::*};
use super::plan::{Plan, RateGroup};

mod newer;

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

/// The parameters of a per-issue daily dataset: one issue, one day, or one issue over a range.
const BY_CODE_OR_DATE: &[&[&str]] = &[
    &["code"],
    &["code", "date"],
    &["code", "from", "to"],
    &["date"],
];
const CONTRACT_FLAG: Param = p(
    "contract_flag",
    Choice(&["1"]),
    "1: central contract month only",
);
const BULK_DATE: Param = p(
    "date",
    DayOrMonth,
    "Day (YYYYMMDD) or month (YYYYMM, YYYY-MM)",
);

const NOTES: &str = "upstream documentation after the January 2026 snapshot (docs/upstream.md)";
const CLIENT: &str = "official Python client jquants-api-client 2.8 (ClientV2)";

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

/// The financial statements (`/fins/summary`, `/fins/details`): by issue or disclosure date,
/// with a `cursor` for long answers, under the 60/min statements cap.
const FINS: Endpoint = Endpoint {
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
    dataset: Dataset::Statements,
    rate_group: RateGroup::Statements,
    row_key: &["DiscNo"],
    ..DATA
};

/// Download URLs (`/bulk/get`, `/td/files`, `/td/bulk`): one object, not paginated, no rows.
const URLS: Endpoint = Endpoint {
    min_plan: Plan::Light,
    paginated: false,
    envelope: Envelope::Object,
    dataset: Dataset::BulkUrl,
    row_key: &[],
    code_field: None,
    newer: Some(CLIENT),
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
        patterns: BY_CODE_OR_DATE,
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
        patterns: BY_CODE_OR_DATE,
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
        min_plan: Plan::Free,
        ..FINS
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
        patterns: BY_CODE_OR_DATE,
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
        patterns: BY_CODE_OR_DATE,
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
        patterns: BY_CODE_OR_DATE,
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
        min_plan: Plan::Premium,
        ..FINS
    },
    Endpoint {
        id: "fin-dividend",
        path: "/fins/dividend",
        title: "Dividend notices",
        params: &[CODE, FROM, TO, DATE],
        patterns: BY_CODE_OR_DATE,
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
            CONTRACT_FLAG,
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
            CONTRACT_FLAG,
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
            BULK_DATE,
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
            BULK_DATE,
        ],
        patterns: &[&["key"], &["endpoint", "date"]],
        ..URLS
    },
    newer::VALUATION,
    newer::EARNINGS_DATE,
    newer::TD_LIST,
    newer::TD_FILES,
    newer::TD_BULK,
    newer::EDINET_MAJOR_SHAREHOLDERS,
    newer::EDINET_CROSS_SHAREHOLDINGS,
    newer::EDINET_LARGE_VOLUME_SHAREHOLDERS,
];
