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

/// Numbers the way Python's json and the upstream print them: integral floats keep `.0`.
pub fn push_num(out: &mut String, x: f64) {
    use std::fmt::Write;
    if !x.is_finite() {
        out.push_str("null");
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        let _ = write!(out, "{x:.1}");
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
