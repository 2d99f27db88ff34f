//! Endpoints newer than JPX's January 2026 snapshot (`jpx/endpoints.json`): valuation,
//! earnings dates, the TDnet add-on and the EDINET-derived datasets. Each is marked `newer`
//! with its source (docs/upstream.md or the official Python client).
//!
//! Invariant: every entry here has `newer` set, so the catalog's tests accept parameters the
//! snapshot does not list.

use super::{BY_CODE_OR_DATE, CLIENT, CODE, DATA, DATE, FROM, NOTES, TO, URLS, p};
use crate::catalog::endpoint::{Dataset, Endpoint, ParamKind::*};
use crate::catalog::plan::Plan;

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

pub(super) const VALUATION: Endpoint = Endpoint {
    id: "eq-valuation",
    path: "/equities/valuation",
    title: "Valuation indicators (EPS, BPS, PER, PBR, market cap)",
    params: &[CODE, DATE, FROM, TO],
    patterns: BY_CODE_OR_DATE,
    min_plan: Plan::Light,
    dataset: Dataset::DailyClose,
    row_key: &["Date", "Code"],
    newer: Some(NOTES),
    ..DATA
};

pub(super) const EARNINGS_DATE: Endpoint = Endpoint {
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
};

pub(super) const TD_LIST: Endpoint = Endpoint {
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
};

pub(super) const TD_FILES: Endpoint = Endpoint {
    id: "td-files",
    path: "/td/files",
    title: "Download URLs of one TDnet disclosure's files (add-on)",
    params: &[
        p("discNo", Text, "Disclosure number (14 digits)"),
        p("docs", Text, "File kinds, comma separated: g, s, x"),
    ],
    patterns: &[&["discNo"]],
    optional: &["docs"],
    ..URLS
};

pub(super) const TD_BULK: Endpoint = Endpoint {
    id: "td-bulk",
    path: "/td/bulk",
    title: "TDnet disclosure index, bulk download URL (add-on)",
    params: &[],
    patterns: &[&[]],
    ..URLS
};

pub(super) const EDINET_MAJOR_SHAREHOLDERS: Endpoint = Endpoint {
    id: "edinet-major-shareholders",
    path: "/edinet/major-shareholders",
    title: "Major shareholders (from annual securities reports)",
    params: &[
        p("edinet_code", Text, "EDINET code (e.g. E03814)"),
        CODE,
        DATE,
    ],
    ..EDINET
};

pub(super) const EDINET_CROSS_SHAREHOLDINGS: Endpoint = Endpoint {
    id: "edinet-cross-shareholdings",
    path: "/edinet/cross-shareholdings",
    title: "Cross-shareholdings (from annual securities reports)",
    params: &[
        p("edinet_code", Text, "EDINET code (e.g. E02367)"),
        CODE,
        DATE,
    ],
    ..EDINET
};

pub(super) const EDINET_LARGE_VOLUME_SHAREHOLDERS: Endpoint = Endpoint {
    id: "edinet-large-volume-shareholders",
    path: "/edinet/large-volume-shareholders",
    title: "Large shareholding reports",
    params: &[
        p("edinet_code", Text, "Issuer's EDINET code (e.g. E03814)"),
        CODE,
        DATE,
    ],
    ..EDINET
};
