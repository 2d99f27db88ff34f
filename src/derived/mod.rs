//! Derived data the upstream does not provide (project issue #5): daily market cap adjusted
//! for splits between filings, margin balances with ratios and yen values, dividend notices
//! with their correction/deletion chain applied, and a margin-account calculator.
//!
//! Everything here is a pure function of upstream rows (as the mirror returns them) and
//! caller input: no IO, no HTTP, no clock. The route layer fetches the rows, calls these
//! functions and wraps the result in the mirror's `{"data": [...]}` envelope; a
//! [`DerivedError`] becomes a 400 whose message is the error's text.

pub mod dividends;
pub mod margin;
pub mod margin_account;
pub mod market_cap;
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

/// Whether an upstream code matches the requested one: a 4-character request means the
/// common stock, whose 5-character code ends in `0` (NOTES: "4-character code means ...").
pub fn code_matches(row_code: &str, wanted: &str) -> bool {
    row_code == wanted
        || (wanted.len() == 4 && row_code.len() == 5 && row_code == format!("{wanted}0"))
}
