//! Which mirror endpoints the row store understands, and how a raw row names its slice.
//!
//! A planned endpoint answers four request shapes (`code`, `code`+`date`, `code`+`from`+`to`,
//! `date`) from rows identified by the catalog's `row_key` `[date field, code field]`, orders
//! a code's history by date and a date's cross-section by code (byte order), and answers a
//! day the market was closed with an empty `data` array. Each entry here was checked against
//! those rules (tests in `tests/api/rows.rs` compare assembled answers with the upstream's).

use bytes::Bytes;
use chrono::NaiveDate;
use serde_json::value::RawValue;

use crate::catalog::{self, Endpoint};
use crate::jst;

/// Endpoints whose answers the planner may assemble from rows.
pub const PLANNED: &[&str] = &[
    "/equities/bars/daily",
    "/indices/bars/daily",
    "/equities/valuation",
    "/markets/breakdown",
];

/// The planned endpoint at `path`, if any.
pub fn planned(path: &str) -> Option<&'static Endpoint> {
    PLANNED
        .contains(&path)
        .then(|| catalog::find(path))
        .flatten()
}

/// One upstream row, as received, with the identity it is stored under.
#[derive(Debug, Clone)]
pub struct Row {
    pub date: NaiveDate,
    pub code: String,
    /// The catalog's row identity: the `row_key` values' JSON text joined by `|`.
    pub id: String,
    pub raw: Bytes,
}

/// Splits a raw row into its identity; `None` if it lacks the row-key fields.
pub fn identify(ep: &Endpoint, raw: &Bytes) -> Option<Row> {
    let text = std::str::from_utf8(raw).ok()?;
    let map: std::collections::HashMap<&str, &RawValue> = serde_json::from_str(text).ok()?;
    let mut id = String::new();
    for (i, k) in ep.row_key.iter().enumerate() {
        if i > 0 {
            id.push('|');
        }
        id.push_str(map.get(k)?.get());
    }
    let (date_field, code_field) = (ep.row_key.first()?, ep.row_key.get(1)?);
    let date: &str = serde_json::from_str(map.get(date_field)?.get()).ok()?;
    let code: String = serde_json::from_str(map.get(code_field)?.get()).ok()?;
    Some(Row {
        date: jst::parse_date(date)?,
        code,
        id,
        raw: raw.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planned_endpoints_have_a_date_code_identity_and_the_four_shapes() {
        for path in PLANNED {
            let ep = planned(path).expect("in the catalog");
            assert_eq!(ep.row_key, &["Date", "Code"], "{path}");
            for shape in [
                &["code"][..],
                &["code", "date"],
                &["code", "from", "to"],
                &["date"],
            ] {
                assert!(ep.patterns.contains(&shape), "{path}: {shape:?}");
            }
        }
        assert!(planned("/fins/summary").is_none());
    }

    #[test]
    fn rows_are_identified_by_the_catalog_row_key() {
        let ep = planned("/equities/bars/daily").unwrap();
        let raw = Bytes::from_static(br#"{"Date":"2026-11-19","Code":"72030","C":1.0}"#);
        let row = identify(ep, &raw).unwrap();
        assert_eq!(row.id, r#""2026-11-19"|"72030""#);
        assert_eq!(row.code, "72030");
        assert_eq!(row.date, NaiveDate::from_ymd_opt(2026, 11, 19).unwrap());
        assert!(identify(ep, &Bytes::from_static(br#"{"Date":"x"}"#)).is_none());
    }
}
