//! Compact JSON writing for generated rows: values as the upstream prints them (integral
//! floats keep `.0`, as Python's json does) and objects whose keys come in the order given.
//! Rows are written straight to text because date cross-sections over thousands of issues
//! must stay fast in debug builds too. Invariant: output is valid JSON with no whitespace.

/// A JSON value as the upstream sends it.
pub enum V<'a> {
    Null,
    S(&'a str),
    St(String),
    N(f64),
    B(bool),
    /// Already-serialised JSON (objects, arrays).
    Raw(String),
}

pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    // Keys and most values (dates, codes, flags) need no escape: copied whole.
    if plain(s) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether `s` goes into a JSON string as it is. A plain loop: rows are written by the
/// million, and in a debug build an iterator adapter costs several times the comparison.
fn plain(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] < 0x20 || b[i] == b'"' || b[i] == b'\\' {
            return false;
        }
        i += 1;
    }
    true
}

/// Numbers the way Python's json and the upstream print them: integral floats keep `.0`.
pub fn push_num(out: &mut String, x: f64) {
    use std::fmt::Write;
    if !x.is_finite() {
        out.push_str("null");
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        // What `{x:.1}` prints (`-0.0` included), without its exact-decimal float formatting.
        if x.is_sign_negative() && x == 0.0 {
            out.push('-');
        }
        out.push_str(itoa::Buffer::new().format(x as i64));
        out.push_str(".0");
    } else {
        let _ = write!(out, "{x}");
    }
}

pub fn push_val(out: &mut String, v: &V) {
    match v {
        V::Null => out.push_str("null"),
        V::S(s) => push_str(out, s),
        V::St(s) => push_str(out, s),
        V::N(x) => push_num(out, *x),
        V::B(b) => out.push_str(if *b { "true" } else { "false" }),
        V::Raw(r) => out.push_str(r),
    }
}

/// `"k":v`, after a comma unless it is the object's first member.
fn push_member(out: &mut String, first: bool, k: &str, v: &V) {
    if !first {
        out.push(',');
    }
    push_str(out, k);
    out.push(':');
    push_val(out, v);
}

/// One JSON object with `keys` in order, values from `f`.
pub fn row<'k>(keys: &[&'k str], mut f: impl FnMut(&'k str) -> V<'k>) -> String {
    let mut out = String::with_capacity(keys.len() * 16);
    out.push('{');
    for (i, k) in keys.iter().enumerate() {
        push_member(&mut out, i == 0, k, &f(k));
    }
    out.push('}');
    out
}

/// A compact JSON object from (key, value) pairs.
pub fn obj(pairs: &[(&str, V)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        push_member(&mut out, i == 0, k, v);
    }
    out.push('}');
    out
}

pub fn fmt_num_str(x: f64) -> String {
    let mut s = String::new();
    if x.fract() == 0.0 && x.abs() < 1e15 {
        s = format!("{}", x as i64);
    } else {
        push_num(&mut s, (x * 100.0).round() / 100.0);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_before() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            1807.0,
            -1807.0,
            999_999_999_999_999.0,
            1e15,
            1.25,
            -0.5,
            1e-7,
            123456.789,
            f64::NAN,
        ] {
            let mut fast = String::new();
            push_num(&mut fast, x);
            let slow = if !x.is_finite() {
                "null".to_string()
            } else if x.fract() == 0.0 && x.abs() < 1e15 {
                format!("{x:.1}")
            } else {
                format!("{x}")
            };
            assert_eq!(fast, slow, "{x}");
        }
        let mut s = String::new();
        push_str(&mut s, "a\"b\\c\nd\u{1}");
        assert_eq!(s, r#""a\"b\\c\nd\u0001""#);
    }
}
