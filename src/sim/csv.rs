//! CSV lines from generated JSON rows, for the bulk files: the header is the API's keys in
//! order, and each value is written as the JSON spells it (strings unescaped, null as an
//! empty field, numbers and booleans as their JSON text), quoted per RFC 4180 only when it
//! holds a comma, a quote or a line break. Lines end in `\n`.
//!
//! Invariant: with [`Spelling::AsJson`] a CSV field is the JSON value's own text (so CSV
//! cannot tell `""` from null, as upstream); [`Spelling::BareIntegers`] is the one deliberate
//! difference, whole numbers without the `.0` the JSON has (`1807` for `1807.0`).

use std::collections::HashMap;

use serde_json::value::RawValue;

/// How numbers are spelled in the CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelling {
    /// As the JSON spells them (`1807.0`).
    AsJson,
    /// Whole numbers without a fraction (`1807`).
    BareIntegers,
}

/// Appends `v` as one CSV field, quoted if it must be.
fn push_field(out: &mut String, v: &str) {
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(v);
    }
}

/// The header line: the keys in order.
pub fn header(fields: &[&str]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(&mut out, f);
    }
    out.push('\n');
    out
}

/// The CSV text of one JSON value.
fn spell(raw: &str, spelling: Spelling) -> String {
    match raw.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(raw).unwrap_or_default(),
        _ if raw == "null" => String::new(),
        Some(b'-' | b'0'..=b'9') if spelling == Spelling::BareIntegers => {
            raw.strip_suffix(".0").unwrap_or(raw).to_string()
        }
        _ => raw.to_string(),
    }
}

/// Appends the CSV line of one generated JSON row (an object with `fields` as its keys).
/// A key the row lacks is an empty field.
pub fn push_line(out: &mut String, fields: &[&str], json_row: &str, spelling: Spelling) {
    let values: HashMap<String, &RawValue> =
        serde_json::from_str(json_row).expect("generated rows are JSON objects");
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if let Some(v) = values.get(*f) {
            push_field(out, &spell(v.get(), spelling));
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_as_the_json_spells_them() {
        let row = r#"{"Date":"2026-11-20","Name":"A, \"B\"","C":1807.0,"V":null,"E":"","X":1.25}"#;
        let fields = ["Date", "Name", "C", "V", "E", "X", "Missing"];
        let mut out = header(&fields);
        push_line(&mut out, &fields, row, Spelling::AsJson);
        assert_eq!(
            out,
            "Date,Name,C,V,E,X,Missing\n2026-11-20,\"A, \"\"B\"\"\",1807.0,,,1.25,\n"
        );
        let mut bare = String::new();
        push_line(&mut bare, &fields, row, Spelling::BareIntegers);
        assert_eq!(bare, "2026-11-20,\"A, \"\"B\"\"\",1807,,,1.25,\n");
    }
}
