//! Whether a bulk file's rows are the API's rows, byte for byte: one date's cross-section
//! as converted from the file against the API's answer for that date. Pure.
//!
//! Invariant: [`compare`] says `None` only for identical bytes, row for row; otherwise it
//! names the first difference a reader can act on (a row count, a field and both spellings,
//! or the order of keys).

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::value::RawValue;

/// The first difference between the API's rows and the file's rows of one date.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Difference {
    /// The field that differs first (`(rows)` for a different row count, `(order)` for the
    /// same values in another key order).
    pub field: String,
    /// Its text in the API's answer.
    pub api: String,
    /// Its text as converted from the file.
    pub file: String,
}

/// `None` when the rows are identical; else the first difference.
pub fn compare(api: &[Bytes], file: &[Bytes]) -> Option<Difference> {
    if api.len() != file.len() {
        return Some(Difference {
            field: "(rows)".into(),
            api: api.len().to_string(),
            file: file.len().to_string(),
        });
    }
    let (a, f) = api.iter().zip(file).find(|(a, f)| a != f)?;
    Some(first_field(a, f))
}

fn first_field(api: &[u8], file: &[u8]) -> Difference {
    let parse = |b: &[u8]| -> Vec<(String, String)> {
        serde_json::from_slice::<Ordered>(b)
            .map(|o| o.0)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.get().to_string()))
            .collect()
    };
    let (a, f) = (parse(api), parse(file));
    let in_file: HashMap<&str, &str> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for (k, v) in &a {
        let got = in_file.get(k.as_str()).copied().unwrap_or("(absent)");
        if got != v {
            return Difference {
                field: k.clone(),
                api: v.clone(),
                file: got.to_string(),
            };
        }
    }
    let keys = |v: &[(String, String)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    Difference {
        field: "(order)".into(),
        api: keys(&a).join(","),
        file: keys(&f).join(","),
    }
}

/// The keys of a JSON object row, in order.
pub fn keys(row: &[u8]) -> Vec<String> {
    serde_json::from_slice::<Ordered>(row)
        .map(|o| o.0.into_iter().map(|(k, _)| k).collect())
        .unwrap_or_default()
}

/// `row` with only the members whose key is in `kept`, in the row's order, if every member
/// left out is empty (`null` or `""`): a CSV column the API does not send for this plan is
/// dropped, never a value.
pub fn project(row: &[u8], kept: &[String]) -> Option<Bytes> {
    let o = serde_json::from_slice::<Ordered>(row).ok()?;
    let mut out = String::with_capacity(row.len());
    out.push('{');
    for (k, v) in &o.0 {
        if !kept.iter().any(|x| x == k) {
            if !matches!(v.get(), "null" | "\"\"") {
                return None;
            }
            continue;
        }
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(k).ok()?);
        out.push(':');
        out.push_str(v.get());
    }
    out.push('}');
    Some(Bytes::from(out))
}

/// A JSON object's members in the order written (serde_json's map would sort them).
struct Ordered(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<Ordered, M::Error> {
                let mut out = Vec::new();
                while let Some(kv) = m.next_entry::<String, Box<RawValue>>()? {
                    out.push(kv);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::from(s.to_string())
    }

    #[test]
    fn identical_rows_have_no_difference() {
        let rows = [b(r#"{"Code":"13010","C":1807.0}"#)];
        assert_eq!(compare(&rows, &rows), None);
    }

    #[test]
    fn the_first_differing_field_is_named_with_both_spellings() {
        let api = [b(r#"{"Code":"13010","C":1807.0}"#)];
        let file = [b(r#"{"Code":"13010","C":1807}"#)];
        let d = compare(&api, &file).unwrap();
        assert_eq!(
            (d.field.as_str(), d.api.as_str(), d.file.as_str()),
            ("C", "1807.0", "1807")
        );
    }

    #[test]
    fn a_projection_drops_only_empty_columns() {
        let kept = vec!["Code".to_string(), "C".to_string()];
        let row = br#"{"Code":"13010","C":1.0,"MO":null,"MC":""}"#;
        assert_eq!(
            &project(row, &kept).unwrap()[..],
            br#"{"Code":"13010","C":1.0}"#
        );
        assert_eq!(project(br#"{"Code":"1","C":1.0,"MO":2.0}"#, &kept), None);
        assert_eq!(keys(row), ["Code", "C", "MO", "MC"]);
    }

    #[test]
    fn counts_and_key_order_are_differences_too() {
        let one = [b(r#"{"A":1,"B":2}"#)];
        assert_eq!(compare(&one, &[]).unwrap().field, "(rows)");
        let swapped = [b(r#"{"B":2,"A":1}"#)];
        assert_eq!(compare(&one, &swapped).unwrap().field, "(order)");
    }
}
