//! A bulk CSV file as the API's rows: each CSV record becomes the JSON object the API would
//! send for it, keys in the header's order, each value typed by the catalog's field table
//! (strings quoted, numbers as their text, an empty number `null`). Nothing here assumes the
//! CSV spells values as the JSON does: whether the result is byte-identical to the API is
//! checked afterwards (`super::verify`), and rows that fail that check feed the derived
//! computations only, which read values, not spellings.
//!
//! Invariants: a file missing a column its dataset `needs` is refused whole, never half
//! ingested; a value that cannot be a JSON value of its field's type refuses the file too.

use std::io::Read;

use bytes::Bytes;
use chrono::NaiveDate;

use super::datasets::BulkSet;
use crate::catalog::{self, Ty};

/// One row of a file, as the API would send it.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub date: NaiveDate,
    pub code: String,
    /// The JSON text of the row.
    pub body: Bytes,
}

/// Why a file was not converted.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("the CSV header lacks {0:?}, which the ingest needs")]
    Missing(Vec<String>),
    #[error("{0}")]
    Bad(String),
}

/// How one column is written as JSON.
#[derive(Clone, Copy)]
enum Column {
    Text,
    Number,
    NumberOrDash,
    Raw,
}

fn column(set: &BulkSet, name: &str) -> Column {
    let ty = catalog::docs_of(set.path)
        .iter()
        .find(|f| f.name == name)
        .map_or(Ty::Str, |f| f.ty);
    match ty {
        Ty::Str | Ty::Decimal | Ty::Flag => Column::Text,
        Ty::Number => Column::Number,
        Ty::NumberOrDash => Column::NumberOrDash,
        Ty::Object | Ty::Array => Column::Raw,
    }
}

/// The rows of an uncompressed CSV file of `set`, in file order.
pub fn rows(set: &BulkSet, csv_text: impl Read) -> Result<Vec<FileRow>, Refused> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv_text);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Refused::Bad(format!("CSV header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let missing: Vec<String> = set
        .needs
        .iter()
        .filter(|n| !header.iter().any(|h| h == *n))
        .map(|n| n.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Refused::Missing(missing));
    }
    let at = |name: &str| header.iter().position(|h| h == name).unwrap_or_default();
    let (date_at, code_at) = (at(set.date_field), at(set.code_field));
    let columns: Vec<Column> = header.iter().map(|h| column(set, h)).collect();
    // Each key's JSON text once, with its separator, rather than once per row.
    let keys: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let k = serde_json::to_string(h).unwrap_or_default();
            format!("{}{k}:", if i == 0 { "{" } else { "," })
        })
        .collect();
    let mut out = Vec::new();
    // A day's rows are slices of one buffer: an allocation per day rather than per row, and
    // a held row keeps no more than its day alive (as an upstream body holds one day).
    let mut day = Day::default();
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|e| Refused::Bad(format!("CSV line {}: {e}", out.len() + day.rows.len() + 2)))?
    {
        let line = out.len() + day.rows.len() + 2;
        let raw_date = record.get(date_at).unwrap_or("");
        // Rows come grouped by date: a date is parsed when it changes.
        if day.raw_date.as_deref() != Some(raw_date) {
            let date = NaiveDate::parse_from_str(raw_date, "%Y-%m-%d")
                .map_err(|_| Refused::Bad(format!("line {line}: no {}", set.date_field)))?;
            std::mem::take(&mut day).finish(&mut out);
            day.raw_date = Some(raw_date.to_string());
            day.date = date;
        }
        let start = day.text.len();
        for (i, (k, col)) in keys.iter().zip(&columns).enumerate() {
            day.text.push_str(k);
            let v = record.get(i).unwrap_or("");
            json_value(&mut day.text, v, *col)
                .map_err(|m| Refused::Bad(format!("line {line}, {}: {m}", header[i])))?;
        }
        day.text.push('}');
        let code = record.get(code_at).unwrap_or("").to_string();
        day.rows.push((code, start..day.text.len()));
    }
    day.finish(&mut out);
    Ok(out)
}

/// The rows of one date being converted: their JSON text, and each row's code and span.
#[derive(Default)]
struct Day {
    /// The CSV text of the date, `None` before the first row.
    raw_date: Option<String>,
    date: NaiveDate,
    text: String,
    rows: Vec<(String, std::ops::Range<usize>)>,
}

impl Day {
    fn finish(self, out: &mut Vec<FileRow>) {
        let text = Bytes::from(self.text);
        out.extend(self.rows.into_iter().map(|(code, span)| FileRow {
            date: self.date,
            code,
            body: text.slice(span),
        }));
    }
}

/// Appends the JSON text of CSV value `v` of a column.
fn json_value(out: &mut String, v: &str, col: Column) -> Result<(), String> {
    match col {
        Column::Text => push_string(out, v),
        Column::NumberOrDash if v == "-" => push_string(out, v),
        Column::Number | Column::NumberOrDash if v.is_empty() => out.push_str("null"),
        Column::Number | Column::NumberOrDash => {
            if !is_number(v) {
                return Err(format!("{v:?} is not a number"));
            }
            out.push_str(v);
        }
        Column::Raw if serde_json::from_str::<serde_json::Value>(v).is_ok() => out.push_str(v),
        Column::Raw => push_string(out, v),
    }
    Ok(())
}

/// Whether `v` is a JSON number as `serde_json` reads one. `Number`'s own parser first (a
/// generic parse costs several times more per value, and files hold millions); it refuses
/// surrounding whitespace, which a full parse allows, so that is asked only then.
fn is_number(v: &str) -> bool {
    v.parse::<serde_json::Number>().is_ok() || serde_json::from_str::<serde_json::Number>(v).is_ok()
}

fn push_string(out: &mut String, v: &str) {
    if v.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(v);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(v).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bulk::datasets::set;

    fn bars() -> &'static BulkSet {
        set("/equities/bars/daily").unwrap()
    }

    #[test]
    fn values_are_typed_by_the_catalog() {
        let csv = "Date,Code,O,C,AdjFactor\n2026-01-05,13010,\"1,2\",1807.0,\n";
        let err = rows(bars(), csv.as_bytes()).unwrap_err();
        assert!(matches!(err, Refused::Bad(m) if m.contains("not a number")));
        let csv = "Date,Code,O,C,AdjFactor\n,13010,,1807.0,1.0\n";
        let err = rows(bars(), csv.as_bytes()).unwrap_err();
        assert!(matches!(err, Refused::Bad(m) if m.contains("no Date")));
        let csv = "Date,Code,O,C,AdjFactor\n2026-01-05,13010,,1807.0,1.0\n";
        let r = rows(bars(), csv.as_bytes()).unwrap();
        assert_eq!(
            &r[0].body[..],
            br#"{"Date":"2026-01-05","Code":"13010","O":null,"C":1807.0,"AdjFactor":1.0}"#
        );
        assert_eq!(
            (r[0].date.to_string(), r[0].code.as_str()),
            ("2026-01-05".into(), "13010")
        );
    }

    #[test]
    fn numbers_are_what_json_accepts() {
        for v in [
            "1",
            "-1",
            "1807.0",
            "-0.5",
            "1e5",
            "1.5E-3",
            "18446744073709551616",
            " 1",
            "1 ",
            "01",
            "+1",
            ".5",
            "1.",
            "NaN",
            "-",
            "1,000",
            "0x10",
            "",
        ] {
            let json = serde_json::from_str::<serde_json::Number>(v).is_ok();
            assert_eq!(is_number(v), json, "{v:?}");
        }
    }

    #[test]
    fn rows_keep_their_dates_and_order_across_days() {
        let csv = "Date,Code,C,AdjFactor\n2026-01-05,A,1,1\n2026-01-06,B,2,1\n2026-01-05,C,3,1\n";
        let r = rows(bars(), csv.as_bytes()).unwrap();
        let got: Vec<(String, &str, &[u8])> = r
            .iter()
            .map(|r| (r.date.to_string(), r.code.as_str(), &r.body[..]))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "2026-01-05".into(),
                    "A",
                    &br#"{"Date":"2026-01-05","Code":"A","C":1,"AdjFactor":1}"#[..]
                ),
                (
                    "2026-01-06".into(),
                    "B",
                    &br#"{"Date":"2026-01-06","Code":"B","C":2,"AdjFactor":1}"#[..]
                ),
                (
                    "2026-01-05".into(),
                    "C",
                    &br#"{"Date":"2026-01-05","Code":"C","C":3,"AdjFactor":1}"#[..]
                ),
            ]
        );
    }

    #[test]
    fn a_file_without_a_needed_column_is_refused_whole() {
        let csv = "Date,Code,C\n2026-01-05,13010,1807.0\n";
        assert_eq!(
            rows(bars(), csv.as_bytes()).unwrap_err(),
            Refused::Missing(vec!["AdjFactor".into()])
        );
    }

    #[test]
    fn quoted_text_keeps_commas_quotes_and_line_breaks() {
        let s = set("/equities/master").unwrap();
        let csv = "Date,Code,CoName,Mkt\n2026-01-05,13010,\"A, \"\"B\"\"\nC\",0111\n";
        let r = rows(s, csv.as_bytes()).unwrap();
        assert_eq!(
            &r[0].body[..],
            br#"{"Date":"2026-01-05","Code":"13010","CoName":"A, \"B\"\nC","Mkt":"0111"}"#
        );
    }
}
