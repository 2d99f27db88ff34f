//! Rows as flat JSON objects (`{"Code":"13010","C":1807.0,...}`: every value a string, a
//! number, a boolean or null), read member by member as raw text without building values.
//! Whole-market work handles millions of such rows (the simulator writing bulk files, the
//! market computations reading four keys of forty back), and a generic JSON parse of each
//! one dominated that work, in debug builds by far. Not serde_json's borrowed `&RawValue`
//! map either: it still builds a map and checks every value's syntax for each row, when a
//! caller reads four values of forty.
//!
//! Invariants: [`members`] answers only for text that is one flat object with unescaped
//! keys, and otherwise `None`, so callers fall back to a full JSON parse; it does not
//! validate a number's or literal's spelling (callers that need a value parse the raw text
//! with [`value`], which validates it).

/// The members of the flat object `text`, in order: each key (unescaped by requirement) and
/// its value's raw JSON text (a string value with its quotes and escapes). `None` when `text`
/// is not a flat object: a value that is an object or an array, a key with an escape, or
/// text that is not an object at all.
pub fn members(text: &str) -> Option<Vec<(&str, &str)>> {
    // One pass over the bytes with plain indexing: in a debug build a call per member (a
    // `memchr`, an iterator) costs more than the bytes themselves.
    let b = text.as_bytes();
    let n = b.len();
    let mut out = Vec::with_capacity(48);
    let mut i = skip_ws(b, 0);
    if i >= n || b[i] != b'{' {
        return None;
    }
    i = skip_ws(b, i + 1);
    if i < n && b[i] == b'}' {
        return (skip_ws(b, i + 1) == n).then_some(out);
    }
    loop {
        let key_end = key_end(b, i)?;
        let key = &text[i + 1..key_end];
        i = key_end + 1;
        if i < n && b[i] != b':' {
            i = skip_ws(b, i);
        }
        if i >= n || b[i] != b':' {
            return None;
        }
        let mut start = i + 1;
        if start < n && is_ws(b[start]) {
            start = skip_ws(b, start);
        }
        if start >= n {
            return None;
        }
        let stop = value_end(b, start)?;
        out.push((key, &text[start..stop]));
        i = stop;
        if i < n && is_ws(b[i]) {
            i = skip_ws(b, i);
        }
        if i >= n {
            return None;
        }
        match b[i] {
            b',' => {
                i += 1;
                if i < n && is_ws(b[i]) {
                    i = skip_ws(b, i);
                }
            }
            b'}' => return (skip_ws(b, i + 1) == n).then_some(out),
            _ => return None,
        }
    }
}

/// The index of the closing quote of the key that opens at `i`: a string without escapes.
fn key_end(b: &[u8], i: usize) -> Option<usize> {
    if i >= b.len() || b[i] != b'"' {
        return None;
    }
    let mut end = i + 1;
    while end < b.len() && b[end] != b'"' {
        if b[end] == b'\\' {
            return None;
        }
        end += 1;
    }
    (end < b.len()).then_some(end)
}

/// The index just past the scalar value that starts at `start` (`None` for an object, an
/// array, an unterminated string or nothing).
fn value_end(b: &[u8], start: usize) -> Option<usize> {
    let n = b.len();
    let mut stop = start;
    match b[start] {
        b'"' => {
            stop += 1;
            while stop < n && b[stop] != b'"' {
                // An escape: the backslash and the character it escapes.
                stop += if b[stop] == b'\\' { 2 } else { 1 };
            }
            if stop >= n {
                return None;
            }
            stop += 1;
        }
        b'{' | b'[' => return None,
        // A number or a literal: up to a comma, a brace or a space.
        _ => {
            while stop < n && !matches!(b[stop], b',' | b'}') && !is_ws(b[stop]) {
                stop += 1;
            }
        }
    }
    (stop > start).then_some(stop)
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}

/// The text a raw JSON string value (with its quotes) holds, borrowed when it has no escape.
pub fn string_value(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(raw).ok().map(Into::into)
    } else {
        Some(inner.into())
    }
}

/// The JSON value of one raw member value from [`members`], as `serde_json` would parse it
/// (numbers through `serde_json::Number`'s own parser, so integers stay integers).
pub fn value(raw: &str) -> Option<serde_json::Value> {
    use serde_json::Value;
    Some(match raw {
        "null" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ if raw.starts_with('"') => Value::String(string_value(raw)?.into_owned()),
        _ => Value::Number(raw.parse().ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_row_is_read_member_by_member() {
        let row = r#"{"Date":"2026-11-20","Name":"A, \"B\"","C":1807.0,"V":null,"E":"","X":-1.25e3,"B":true}"#;
        assert_eq!(
            members(row).unwrap(),
            vec![
                ("Date", r#""2026-11-20""#),
                ("Name", r#""A, \"B\"""#),
                ("C", "1807.0"),
                ("V", "null"),
                ("E", r#""""#),
                ("X", "-1.25e3"),
                ("B", "true"),
            ]
        );
        assert_eq!(members("{}").unwrap(), vec![]);
        assert_eq!(
            members(" { \"a\" : 1 , \"b\" : \"x\" } ").unwrap(),
            vec![("a", "1"), ("b", "\"x\"")]
        );
    }

    #[test]
    fn anything_but_a_flat_object_is_left_to_a_full_parse() {
        for text in [
            r#"{"a":{"b":1}}"#,
            r#"{"a":[1]}"#,
            r#"{"a\"b":1}"#,
            r#"{"a":1"#,
            r#"{"a":}"#,
            r#"{"a":1}x"#,
            r#"[1]"#,
            r#"{"a":"unterminated}"#,
        ] {
            assert_eq!(members(text), None, "{text}");
        }
    }

    #[test]
    fn values_are_what_a_full_parse_gives() {
        let text = r#"{"Code":"13010","C":1807.0,"Vo":1200,"Neg":-3,"Big":18446744073709551616,"N":null,"S":"a\nb\u00e9","T":true,"F":false,"E":""}"#;
        let full: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).unwrap();
        let read: Vec<(String, serde_json::Value)> = members(text)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k.to_string(), value(v).unwrap()))
            .collect();
        assert_eq!(read, full.into_iter().collect::<Vec<_>>());
        assert_eq!(value("01"), None);
        assert_eq!(value("nul"), None);
    }
}
