//! What a response key holds: its JSON type as the upstream sends it, whether it may be null,
//! and its meaning and unit. The table itself is generated (`fields.tsv`); the OpenAPI row
//! schemas are built from it, and the simulator's rows are checked against it, so the
//! published contract and what clients receive cannot drift apart.

/// JSON type of a value, as the upstream writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// A string; `""` where the upstream has no value.
    Str,
    /// A JSON number.
    Number,
    /// A JSON number, or the string `"-"` while the value is not determined.
    NumberOrDash,
    /// A number written as a string (`"1234"`, `"0.123"`), or `""` when not disclosed.
    Decimal,
    /// A boolean written as a string: `"true"`, `"false"` or `""`.
    Flag,
    /// A JSON object whose keys the description names.
    Object,
    /// A JSON array whose items the description names.
    Array,
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    /// The upstream may send `null` (e.g. a no-trade day's prices).
    pub nullable: bool,
    /// Meaning, with the unit where the value has one.
    pub doc: &'static str,
}

/// Pattern a [`Ty::Decimal`] value matches: a plain decimal number or `""`.
pub const DECIMAL_PATTERN: &str = r"^(-?[0-9]+(\.[0-9]+)?)?$";

impl Field {
    /// Whether `v` is a value this field may carry.
    pub fn accepts(&self, v: &serde_json::Value) -> bool {
        use serde_json::Value as J;
        match (self.ty, v) {
            (_, J::Null) => self.nullable,
            (Ty::Str, J::String(_)) | (Ty::Number | Ty::NumberOrDash, J::Number(_)) => true,
            (Ty::NumberOrDash, J::String(s)) => s == "-",
            (Ty::Decimal, J::String(s)) => is_decimal(s),
            (Ty::Flag, J::String(s)) => matches!(s.as_str(), "true" | "false" | ""),
            (Ty::Object, J::Object(_)) | (Ty::Array, J::Array(_)) => true,
            _ => false,
        }
    }
}

/// `s` matches [`DECIMAL_PATTERN`] (written out to avoid a regex dependency for one pattern).
fn is_decimal(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if s.is_empty() {
        return true;
    }
    let s = s.strip_prefix('-').unwrap_or(s);
    match s.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac),
        None => digits(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decimals_and_flags_are_strings_of_their_shape() {
        let dec = Field {
            name: "Sales",
            ty: Ty::Decimal,
            nullable: false,
            doc: "",
        };
        for ok in ["", "1234", "-5", "0.123"] {
            assert!(dec.accepts(&json!(ok)), "{ok}");
        }
        for bad in [
            json!("1e5"),
            json!("-"),
            json!(1234),
            json!(null),
            json!("1."),
        ] {
            assert!(!dec.accepts(&bad), "{bad}");
        }
        let flag = Field {
            name: "RetroRst",
            ty: Ty::Flag,
            nullable: false,
            doc: "",
        };
        assert!(flag.accepts(&json!("false")) && !flag.accepts(&json!(false)));
        let num = Field {
            name: "C",
            ty: Ty::Number,
            nullable: true,
            doc: "",
        };
        assert!(
            num.accepts(&json!(null)) && num.accepts(&json!(1.5)) && !num.accepts(&json!("1.5"))
        );
    }
}
