//! Lenient readers of upstream JSON values. The upstream sends numbers as JSON numbers or
//! numeric strings, and marks missing values with `""` (not set), `"-"` (undecided), `"*"`
//! or null; all of those read as `None` here, never as zero, so that an unknown figure can
//! never silently become a computed 0.
//!
//! Invariants: no reader here returns 0 for a missing value, and none panics on any JSON.

use chrono::{NaiveDate, NaiveTime};
use serde_json::Value;

use super::{DerivedError, Row};

static NULL: Value = Value::Null;

/// The value under `key`, or null when the key is absent (below-Premium rows omit keys).
pub fn get<'a>(row: &'a Row, key: &str) -> &'a Value {
    row.get(key).unwrap_or(&NULL)
}

/// A finite number from a JSON number or a numeric string (thousands separators allowed);
/// `""`, `"-"`, `"*"`, null and anything unparsable are `None`.
pub fn num(v: &Value) -> Option<f64> {
    let x = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() || s == "-" || s == "*" {
                return None;
            }
            s.replace(',', "").parse::<f64>().ok()?
        }
        _ => return None,
    };
    x.is_finite().then_some(x)
}

/// Non-blank text; numbers are rendered as the upstream would spell them. `""`, `"-"`,
/// `"*"` and null are `None`.
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty() && s != "-" && s != "*").then(|| s.to_string())
        }
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A date in either upstream spelling (`YYYY-MM-DD`, `YYYYMMDD`).
pub fn date(v: &Value) -> Option<NaiveDate> {
    crate::jst::parse_date(&text(v)?)
}

/// A time of day, `HH:MM` or `HH:MM:SS`.
pub fn time(v: &Value) -> Option<NaiveTime> {
    let s = text(v)?;
    NaiveTime::parse_from_str(&s, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(&s, "%H:%M"))
        .ok()
}

/// A required date field: rows without one cannot be placed in a series.
pub fn req_date(row: &Row, key: &str) -> Result<NaiveDate, DerivedError> {
    date(get(row, key)).ok_or_else(|| {
        DerivedError::new(
            key,
            format!("expected a YYYY-MM-DD date, got {}", get(row, key)),
        )
    })
}

/// Typed reads of one row's fields by key: the readers above applied to [`get`]. Every
/// `from_row` of this module tree reads its row through this, so a key is read the same way
/// wherever it appears.
#[derive(Debug, Clone, Copy)]
pub enum Fields<'a> {
    /// A parsed row.
    Row(&'a Row),
    /// A flat row as its members' raw JSON text ([`crate::flat_json::members`] of a valid
    /// JSON row), each value parsed only when read: whole-market digests read four keys of
    /// forty. A key given twice reads as its last value, as in a parsed row.
    Raw(&'a [(&'a str, &'a str)]),
}

impl Fields<'_> {
    /// The value under `key`, or null when the key is absent.
    fn value(&self, key: &str) -> std::borrow::Cow<'_, Value> {
        use std::borrow::Cow;
        match self {
            Fields::Row(row) => Cow::Borrowed(get(row, key)),
            Fields::Raw(members) => {
                // The last member with the key, by index: this runs for millions of rows.
                let mut i = members.len();
                while i > 0 {
                    i -= 1;
                    let (k, v) = members[i];
                    if k == key {
                        return crate::flat_json::value(v).map_or(Cow::Borrowed(&NULL), Cow::Owned);
                    }
                }
                Cow::Borrowed(&NULL)
            }
        }
    }

    /// [`num`] of the value under `key`.
    pub fn num(&self, key: &str) -> Option<f64> {
        num(&self.value(key))
    }

    /// [`text`] of the value under `key`.
    pub fn text(&self, key: &str) -> Option<String> {
        text(&self.value(key))
    }

    /// [`date`] of the value under `key`.
    pub fn date(&self, key: &str) -> Option<NaiveDate> {
        date(&self.value(key))
    }

    /// [`time`] of the value under `key`.
    pub fn time(&self, key: &str) -> Option<NaiveTime> {
        time(&self.value(key))
    }

    /// [`req_date`] of `key`.
    pub fn req_date(&self, key: &str) -> Result<NaiveDate, DerivedError> {
        let v = self.value(key);
        date(&v)
            .ok_or_else(|| DerivedError::new(key, format!("expected a YYYY-MM-DD date, got {v}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_in_every_upstream_spelling() {
        assert_eq!(num(&json!(1.5)), Some(1.5));
        assert_eq!(num(&json!(36268334)), Some(36268334.0));
        assert_eq!(num(&json!("459906340")), Some(459906340.0));
        assert_eq!(num(&json!(" 0.1 ")), Some(0.1));
        assert_eq!(num(&json!("1,234")), Some(1234.0));
        for blank in [
            json!(""),
            json!("-"),
            json!("*"),
            json!(null),
            json!("abc"),
            json!([]),
        ] {
            assert_eq!(num(&blank), None, "{blank}");
        }
    }

    #[test]
    fn text_dates_and_times() {
        assert_eq!(text(&json!("33500")), Some("33500".into()));
        assert_eq!(text(&json!(2)), Some("2".into()));
        assert_eq!(text(&json!("-")), None);
        assert_eq!(text(&json!("")), None);
        let d = NaiveDate::from_ymd_opt(2025, 3, 28).unwrap();
        assert_eq!(date(&json!("2025-03-28")), Some(d));
        assert_eq!(date(&json!("20250328")), Some(d));
        assert_eq!(date(&json!("2025-02-30")), None);
        assert_eq!(time(&json!("15:30")), NaiveTime::from_hms_opt(15, 30, 0));
        assert_eq!(time(&json!("09:21:05")), NaiveTime::from_hms_opt(9, 21, 5));
        assert_eq!(time(&json!("")), None);
        assert_eq!(time(&json!("25:00")), None);
    }

    #[test]
    fn missing_keys_read_as_null() {
        let row: Row = serde_json::from_value(json!({"Date": "2025-03-28"})).unwrap();
        assert_eq!(get(&row, "C"), &Value::Null);
        assert!(req_date(&row, "Date").is_ok());
        let e = req_date(&row, "PubDate").unwrap_err();
        assert_eq!(e.field, "PubDate");
    }
}
