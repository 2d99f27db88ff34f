//! Derived data the upstream does not provide: daily market cap from filings' share counts
//! adjusted for splits (docs/market-cap.md, docs/share-counts.md), margin balances with
//! ratios, yen values and an estimated 評価損益率, market-wide margin totals from date
//! cross-sections (docs/margin.md), dividend notices with their correction/deletion chain
//! applied (docs/dividends.md), and a margin-account calculator.
//!
//! Everything here is a pure function of upstream rows (as the mirror returns them) and
//! caller input: no IO, no HTTP, no clock. The route layer fetches the rows, calls these
//! functions and wraps the result in the mirror's `{"data": [...]}` envelope; a
//! [`DerivedError`] becomes a 400 whose message is the error's text.
//!
//! The submodules are layered, each importing only modules listed before it (no cycles):
//! `values`; `bar`, `calendar`; `statement`; `share_basis`; `share_book`; `market_cap`;
//! `margin_pl`; `margin`; `margin_market`; `cross_section`. `dividends` and `margin_account`
//! stand alone on `values` and this module. Outside `derived` they import only the crate's
//! foundation: `catalog`, `error`, `jst`, `request`, `envelope`.

pub mod bar;
pub mod calendar;
pub mod cross_section;
pub mod dividends;
pub mod margin;
pub mod margin_account;
pub mod margin_market;
pub mod margin_pl;
pub mod market_cap;
pub mod share_basis;
pub mod share_book;
pub mod statement;
pub mod values;

/// One upstream row as the mirror returns it (key order preserved).
pub type Row = serde_json::Map<String, serde_json::Value>;

/// Invalid input: the text says which field is wrong and why, and is sent to the client as
/// the 400's message, so it must never contain internal detail.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct DerivedError {
    /// The offending field, as the client spelled it (e.g. `Positions[1].Side`).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl DerivedError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Invalid input is the client's 400, with this error's text as the message.
impl From<DerivedError> for crate::error::ApiError {
    fn from(e: DerivedError) -> Self {
        crate::error::ApiError::BadRequest(e.to_string())
    }
}

/// Whether an upstream code matches the requested one: a 4-character request means the
/// common stock, whose 5-character code ends in `0` (`docs/upstream.md`, "Protocol").
pub fn code_matches(row_code: &str, wanted: &str) -> bool {
    row_code == wanted
        || (wanted.len() == 4 && row_code.len() == 5 && row_code == format!("{wanted}0"))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use utoipa::PartialSchema;

    /// Collects the properties of a schema (following `allOf`) that have no description.
    fn undocumented(schema: &Value, path: &str, out: &mut Vec<String>) {
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for p in parts {
                undocumented(p, path, out);
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                // utoipa puts a nullable `$ref`'s description on the `$ref` inside `oneOf`.
                let documented = v.get("description").is_some()
                    || v.get("oneOf")
                        .and_then(Value::as_array)
                        .is_some_and(|alts| alts.iter().any(|a| a.get("description").is_some()));
                if !documented {
                    out.push(format!("{path}.{k}"));
                }
            }
        }
    }

    /// Every schema the derived routes publish, by name.
    fn schemas() -> Vec<(&'static str, Value)> {
        use super::{dividends, margin, margin_account, margin_market, market_cap};
        fn json<T: PartialSchema>() -> Value {
            serde_json::to_value(T::schema()).unwrap()
        }
        vec![
            ("MarketCapRow", json::<market_cap::MarketCapRow>()),
            ("MarginRow", json::<margin::MarginRow>()),
            ("MarketMarginRow", json::<margin_market::MarketMarginRow>()),
            ("DividendNotice", json::<dividends::DividendNotice>()),
            ("NoticeInForce", json::<dividends::NoticeInForce>()),
            ("AnnualDividend", json::<dividends::AnnualDividend>()),
            ("DividendPeriod", json::<dividends::DividendPeriod>()),
            ("AccountInput", json::<margin_account::AccountInput>()),
            ("PledgedInput", json::<margin_account::PledgedInput>()),
            ("PositionInput", json::<margin_account::PositionInput>()),
            ("AccountReport", json::<margin_account::AccountReport>()),
            ("PositionReport", json::<margin_account::PositionReport>()),
            ("PledgedReport", json::<margin_account::PledgedReport>()),
        ]
    }

    #[test]
    fn openapi_documents_every_field() {
        let schemas = schemas();
        let mut missing = Vec::new();
        for (name, s) in &schemas {
            undocumented(s, name, &mut missing);
        }
        assert!(missing.is_empty(), "undocumented fields: {missing:?}");
        // Spot checks that the keys are the documented ones and carry their unit.
        for (i, k, unit) in [
            (0, "MktCapExTr", "yen"),
            (0, "ShOut", "shares"),
            (1, "LongValToMktCap", "fraction"),
            (1, "PlRate", "ESTIMATED"),
            (1, "LongCost", "yen"),
            (2, "LongVol", "shares"),
            (2, "LongVal", "yen"),
            (2, "MktCapExTr", "yen"),
            (2, "LongValToMktCap", "fraction"),
            (2, "PlRate", "fraction"),
            (2, "Issues", "count"),
        ] {
            let (name, schema) = &schemas[i];
            let d = schema["properties"][k]["description"].as_str().unwrap();
            assert!(d.contains(unit), "{name}.{k}: {d}");
        }
    }

    #[test]
    fn invalid_input_becomes_a_400_with_the_message() {
        let e: crate::error::ApiError =
            super::DerivedError::new("Positions[0].Side", "must be long or short").into();
        assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST);
        assert_eq!(
            e.public_message(),
            "Positions[0].Side: must be long or short"
        );
    }

    #[test]
    fn code_matching() {
        assert!(super::code_matches("72030", "7203"));
        assert!(super::code_matches("130A0", "130A0"));
        assert!(!super::code_matches("72031", "7203"));
        assert!(!super::code_matches("7203", "72030"));
    }
}
