//! CSV lines from generated JSON rows, for the bulk files: the header is the API's keys in
//! order, and each value is written as the JSON spells it (strings unescaped, null as an
//! empty field, numbers and booleans as their JSON text), quoted per RFC 4180 only when it
//! holds a comma, a quote or a line break. Lines end in `\n`.
//!
//! Invariant: with [`Spelling::AsJson`] a CSV field is the JSON value's own text (so CSV
//! cannot tell `""` from null, as upstream); [`Spelling::BareIntegers`] is the one deliberate
//! difference, whole numbers without the `.0` the JSON has (`1807` for `1807.0`).

use std::borrow::Cow;
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

/// Whether a field holds a comma, a quote or a line break. A plain loop: files are written
/// by the million fields, and in a debug build a pattern search costs several times more.
fn needs_quotes(v: &str) -> bool {
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if matches!(b[i], b',' | b'"' | b'\n' | b'\r') {
            return true;
        }
        i += 1;
    }
    false
}

/// Appends `v` as one CSV field, quoted if it must be.
fn push_field(out: &mut String, v: &str) {
    if needs_quotes(v) {
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
fn spell(raw: &str, spelling: Spelling) -> Cow<'_, str> {
    match raw.as_bytes().first() {
        Some(b'"') => crate::flat_json::string_value(raw).unwrap_or_default(),
        _ if raw == "null" => Cow::Borrowed(""),
        Some(b'-' | b'0'..=b'9') if spelling == Spelling::BareIntegers => {
            Cow::Borrowed(raw.strip_suffix(".0").unwrap_or(raw))
        }
        _ => Cow::Borrowed(raw),
    }
}

/// Appends the CSV line of one generated JSON row (an object with `fields` as its keys).
/// A key the row lacks is an empty field.
pub fn push_line(out: &mut String, fields: &[&str], json_row: &str, spelling: Spelling) {
    // Generated rows are flat; the full parse stays for anything else.
    match crate::flat_json::members(json_row) {
        Some(members) => push_members(out, fields, &members, spelling),
        None => {
            let values: HashMap<String, &RawValue> =
                serde_json::from_str(json_row).expect("generated rows are JSON objects");
            let members: Vec<(&str, &str)> =
                values.iter().map(|(k, v)| (k.as_str(), v.get())).collect();
            push_members(out, fields, &members, spelling)
        }
    }
}

/// Appends the CSV line of a row's (key, raw JSON value) members.
fn push_members(out: &mut String, fields: &[&str], members: &[(&str, &str)], spelling: Spelling) {
    // The row's keys usually come in the fields' order: the next member is looked at first.
    let mut next = 0;
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let at = match members.get(next) {
            Some((k, _)) if k == f => Some(next),
            _ => members.iter().position(|(k, _)| k == f),
        };
        if let Some(at) = at {
            let raw = members[at].1;
            // A number or a literal holds no comma, quote or line break to quote.
            if matches!(
                raw.as_bytes().first(),
                Some(b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
            ) {
                out.push_str(&spell(raw, spelling));
            } else {
                push_field(out, &spell(raw, spelling));
            }
            next = at + 1;
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
