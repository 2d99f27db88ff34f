//! Split detection: when the upstream publishes a bar with `AdjFactor != 1`, it recomputes
//! that code's adjusted (`Adj*`) history back to the first day, so every cached answer that
//! holds that history and was fetched before the split was published is now wrong.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::jst;

/// The only endpoint whose rows carry adjusted prices.
pub const ADJUSTED_ENDPOINT: &str = "/equities/bars/daily";

#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub code: String,
    pub ex_date: NaiveDate,
    pub factor: f64,
}

#[derive(Deserialize)]
struct BarHead<'a> {
    #[serde(rename = "Date")]
    date: &'a str,
    #[serde(rename = "Code")]
    code: &'a str,
    #[serde(rename = "AdjFactor", default)]
    adj_factor: Option<serde_json::Value>,
}

/// Splits present in raw bar rows.
pub fn find(rows: &[bytes::Bytes]) -> Vec<Split> {
    rows.iter()
        .filter_map(|raw| {
            let head: BarHead = serde_json::from_slice(raw).ok()?;
            let factor = match head.adj_factor? {
                serde_json::Value::Number(n) => n.as_f64()?,
                serde_json::Value::String(s) => s.parse().ok()?,
                _ => return None,
            };
            if (factor - 1.0).abs() <= 1e-12 {
                return None;
            }
            Some(Split {
                code: head.code.to_string(),
                ex_date: jst::parse_date(head.date)?,
                factor,
            })
        })
        .collect()
}

/// By this time the upstream has published the ex-date's bars (nominally ~16:30 JST): an
/// answer fetched later already carries the post-split adjustment.
pub fn published_at(ex_date: NaiveDate) -> DateTime<Utc> {
    jst::at(ex_date, 18, 0)
}

/// What identifies an answer for the split rule: the code it is for (none: a cross-section),
/// its last date, and when it was fetched.
pub struct AnswerScope<'a> {
    pub code: Option<&'a str>,
    pub last_date: Option<NaiveDate>,
    pub fetched_at: DateTime<Utc>,
}

/// True if an answer of `scope` holds `code`'s adjusted history from before `ex_date` as it
/// was before the split: the code's own answers, and cross-sections of dates before the
/// ex-date.
pub fn holds_pre_split(
    scope: AnswerScope<'_>,
    code: &str,
    ex_date: NaiveDate,
    published: DateTime<Utc>,
) -> bool {
    if scope.fetched_at >= published {
        return false;
    }
    match scope.code {
        Some(c) => c == code,
        None => scope.last_date.is_none_or(|d| d < ex_date),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn finds_splits_and_reverse_splits_only() {
        let rows = vec![
            Bytes::from_static(
                br#"{"Date":"2025-03-27","Code":"33500","C":4000.0,"AdjFactor":1.0}"#,
            ),
            Bytes::from_static(
                br#"{"Date":"2025-03-28","Code":"33500","C":400.0,"AdjFactor":0.1}"#,
            ),
            Bytes::from_static(br#"{"Date":"2025-03-28","Code":"12340","C":null,"AdjFactor":10}"#),
            Bytes::from_static(br#"{"Date":"2025-03-28","Code":"99990","AdjFactor":"1"}"#),
        ];
        let found = find(&rows);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0],
            Split {
                code: "33500".into(),
                ex_date: NaiveDate::from_ymd_opt(2025, 3, 28).unwrap(),
                factor: 0.1
            }
        );
        assert_eq!(found[1].factor, 10.0);
    }
}
