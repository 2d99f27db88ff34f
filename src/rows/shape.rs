//! Which mirror endpoints the row store understands, as data: per endpoint, which row field
//! holds the date and which the code, which query shapes the planner may answer, and whether
//! a closed-market day is an empty answer. Everything else goes to the response cache.
//!
//! An entry is admitted only if, for each shape it lists, the upstream's answer is exactly
//! the held rows in the order the planner reads them (`docs/row-store.md`): a code's history
//! by date, a date's cross-section by code in byte order, one row per (date, code) (the
//! catalog's `row_key` is exactly `[date_field, code_field]`, so each row is keyed once), and
//! the `{"data":[...]}` envelope with no other key. Tests in `tests/api/rows.rs` compare
//! assembled answers with the simulator's.
//!
//! Left out, and why (`docs/row-store.md`, "Datasets left to the response cache"):
//! `/fins/summary` (every answer ends in a `cursor` that names the moment of the request, so
//! no answer assembled later is byte-identical), `/fins/dividend` (several notices of one
//! code can share a day and time, and no field says their order), `/markets/short-sale-report`
//! (two dates per row, selected by `disc_date` or `calc_date`).

use bytes::Bytes;
use chrono::NaiveDate;
use serde_json::value::RawValue;

use crate::catalog::{self, Endpoint};
use crate::jst;
use crate::request::CanonicalRequest;

/// A query shape the planner can answer from rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `code`: the code's whole history.
    History,
    /// `code`, `from`, `to`: part of the code's history.
    Range,
    /// `code`, `date`: the code's row on one day.
    CodeOnDate,
    /// `date`: every code's row on one day.
    Section,
}

impl Shape {
    /// The shape of `req`, by the parameters it carries (`None`: not one of the four).
    pub fn of(req: &CanonicalRequest) -> Option<Shape> {
        let names: Vec<&str> = req.params.keys().copied().collect();
        ALL.iter().copied().find(|s| s.params() == names)
    }

    fn params(self) -> &'static [&'static str] {
        match self {
            Shape::History => &["code"],
            Shape::Range => &["code", "from", "to"],
            Shape::CodeOnDate => &["code", "date"],
            Shape::Section => &["date"],
        }
    }
}

/// How one endpoint's rows are stored and which requests they answer.
#[derive(Debug)]
pub struct RowShape {
    pub path: &'static str,
    /// The row field `date`, `from` and `to` select on.
    pub date_field: &'static str,
    /// The row field `code` selects on.
    pub code_field: &'static str,
    /// The query shapes answered from rows.
    pub shapes: &'static [Shape],
    /// Whether the upstream answers a date the cash market was closed with `{"data":[]}`.
    pub closed_days_empty: bool,
}

const ALL: &[Shape] = &[
    Shape::History,
    Shape::Range,
    Shape::CodeOnDate,
    Shape::Section,
];

/// A daily dataset of the cash market: rows on business days only, all four shapes.
const DAILY: RowShape = RowShape {
    path: "",
    date_field: "Date",
    code_field: "Code",
    shapes: ALL,
    closed_days_empty: true,
};

/// Endpoints whose answers the planner may assemble from rows.
pub static SHAPES: &[RowShape] = &[
    RowShape {
        path: "/equities/bars/daily",
        ..DAILY
    },
    RowShape {
        path: "/indices/bars/daily",
        ..DAILY
    },
    RowShape {
        path: "/equities/valuation",
        ..DAILY
    },
    RowShape {
        path: "/markets/breakdown",
        ..DAILY
    },
    // Rows on application dates (weekly until 2026-09-25, then daily), all business days;
    // the `published_date` shapes select by another date and stay with the response cache.
    RowShape {
        path: "/markets/margin-interest",
        ..DAILY
    },
    // A snapshot per date, on closed days too; `code` alone (and no parameter) asks for the
    // latest snapshot, whose date the request does not name, so only dated shapes are planned.
    RowShape {
        path: "/equities/master",
        shapes: &[Shape::CodeOnDate, Shape::Section],
        closed_days_empty: false,
        ..DAILY
    },
];

/// A planned endpoint: its catalog entry and its row shape.
#[derive(Debug, Clone, Copy)]
pub struct Planned {
    pub ep: &'static Endpoint,
    pub shape: &'static RowShape,
}

impl Planned {
    /// Whether the planner may answer `req` (a request to this endpoint) from rows.
    pub fn answers(&self, req: &CanonicalRequest) -> bool {
        Shape::of(req).is_some_and(|s| self.shape.shapes.contains(&s))
    }
}

/// The planned endpoint at `path`, if any.
pub fn planned(path: &str) -> Option<Planned> {
    let shape = SHAPES.iter().find(|s| s.path == path)?;
    let ep = catalog::find(path)?;
    Some(Planned { ep, shape })
}

/// Whether the row store keeps `path`'s rows.
pub fn is_planned(path: &str) -> bool {
    SHAPES.iter().any(|s| s.path == path)
}

/// Paths of the planned endpoints.
pub fn paths() -> impl Iterator<Item = &'static str> {
    SHAPES.iter().map(|s| s.path)
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
pub fn identify(p: Planned, raw: &Bytes) -> Option<Row> {
    let text = std::str::from_utf8(raw).ok()?;
    let map: std::collections::HashMap<&str, &RawValue> = serde_json::from_str(text).ok()?;
    let mut id = String::new();
    for (i, k) in p.ep.row_key.iter().enumerate() {
        if i > 0 {
            id.push('|');
        }
        id.push_str(map.get(k)?.get());
    }
    let date: &str = serde_json::from_str(map.get(p.shape.date_field)?.get()).ok()?;
    let code: String = serde_json::from_str(map.get(p.shape.code_field)?.get()).ok()?;
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
    fn every_entry_is_keyed_by_its_date_and_code_and_its_shapes_are_valid_queries() {
        for s in SHAPES {
            let p = planned(s.path).expect("in the catalog");
            assert_eq!(p.ep.row_key, &[s.date_field, s.code_field], "{}", s.path);
            for shape in s.shapes {
                assert!(
                    p.ep.patterns.contains(&shape.params()),
                    "{}: {shape:?}",
                    s.path
                );
            }
        }
        for left_out in [
            "/fins/summary",
            "/fins/dividend",
            "/markets/short-sale-report",
        ] {
            assert!(planned(left_out).is_none(), "{left_out}");
        }
    }

    #[test]
    fn only_listed_shapes_are_answered() {
        let q = |path: &str, q: &str| {
            crate::request::parse(catalog::find(path).unwrap(), Some(q))
                .unwrap()
                .request
        };
        let master = planned("/equities/master").unwrap();
        assert!(master.answers(&q("/equities/master", "code=7203&date=20250303")));
        assert!(!master.answers(&q("/equities/master", "code=7203")));
        let margin = planned("/markets/margin-interest").unwrap();
        assert!(margin.answers(&q("/markets/margin-interest", "code=7203")));
        let by_pub = q(
            "/markets/margin-interest",
            "code=7203&published_date=20250303",
        );
        assert!(!margin.answers(&by_pub));
    }

    #[test]
    fn rows_are_identified_by_the_catalog_row_key() {
        let p = planned("/equities/bars/daily").unwrap();
        let raw = Bytes::from_static(br#"{"Date":"2026-11-19","Code":"72030","C":1.0}"#);
        let row = identify(p, &raw).unwrap();
        assert_eq!(row.id, r#""2026-11-19"|"72030""#);
        assert_eq!(row.code, "72030");
        assert_eq!(row.date, NaiveDate::from_ymd_opt(2026, 11, 19).unwrap());
        assert!(identify(p, &Bytes::from_static(br#"{"Date":"x"}"#)).is_none());
    }
}
