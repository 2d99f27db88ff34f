//! Upstream-style pagination (`docs/upstream.md`): rows are cut into pages of at most
//! `page_bytes` serialised bytes (at least one row each), and each page after the first is
//! addressed by an opaque `pagination_key` bound to the exact query it came from. The last
//! page of `/fins/summary` and `/fins/details` carries a `cursor` instead.

use base64::Engine;
use chrono::NaiveDateTime;

use super::datasets::{fins, push_str};
use super::random::{h, hs};
use crate::request::CanonicalRequest;

/// Bytes of `{"data":[` ... `]}` plus a generous allowance for the key and cursor.
const ENVELOPE: usize = 160;

/// Start offsets of every page of `rows`.
pub fn page_starts(rows: &[String], page_bytes: usize) -> Vec<usize> {
    let mut starts = vec![0];
    let mut size = ENVELOPE;
    for (i, r) in rows.iter().enumerate() {
        let add = r.len() + 1;
        if size + add > page_bytes && i > *starts.last().expect("non-empty") {
            starts.push(i);
            size = ENVELOPE;
        }
        size += add;
    }
    starts
}

fn sig(seed: u64, query: &str, offset: usize) -> u64 {
    h(&[seed, 0x9A6E, hs(query), offset as u64])
}

/// The key of the page starting at `offset` for `query` (canonical, without the key).
pub fn encode_key(seed: u64, query: &str, offset: usize) -> String {
    let raw = format!("{offset}.{:016x}", sig(seed, query, offset));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The row offset a key points at, if it was issued for this same query.
pub fn decode_key(seed: u64, query: &str, key: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key.trim())
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (off, s) = raw.split_once('.')?;
    let off: usize = off.parse().ok()?;
    (format!("{:016x}", sig(seed, query, off)) == s).then_some(off)
}

/// The page of `rows` that `key` (none: the first) points at, as the upstream's JSON body;
/// an error message if the key was not issued for this query.
pub fn page_body(
    seed: u64,
    req: &CanonicalRequest,
    key: Option<&str>,
    rows: &[String],
    page_bytes: usize,
    now_jst: NaiveDateTime,
) -> Result<String, String> {
    let query = req.query_string();
    let start = match key {
        None => 0,
        Some(k) => match decode_key(seed, &query, k) {
            Some(off) if off < rows.len() => off,
            _ => {
                return Err(
                    "Invalid pagination_key. Specify the pagination_key returned for this same query."
                        .into(),
                );
            }
        },
    };
    let starts = page_starts(&rows[start..], page_bytes);
    let end = starts.get(1).map(|e| start + e).unwrap_or(rows.len());
    let mut body =
        String::with_capacity(rows[start..end].iter().map(|r| r.len() + 1).sum::<usize>() + 200);
    body.push_str("{\"data\":[");
    for (i, r) in rows[start..end].iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(r);
    }
    body.push(']');
    if end < rows.len() {
        body.push_str(",\"pagination_key\":");
        push_str(&mut body, &encode_key(seed, &query, end));
    } else if matches!(req.endpoint.path, "/fins/summary" | "/fins/details") {
        body.push_str(",\"cursor\":");
        push_str(&mut body, &fins::cursor_for(now_jst));
    }
    body.push('}');
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_respect_the_budget_and_keys_bind_the_query() {
        let rows: Vec<String> = (0..100).map(|i| format!("{{\"i\":{i:05}}}")).collect();
        let starts = page_starts(&rows, 300);
        assert!(starts.len() > 5);
        for w in starts.windows(2) {
            let bytes: usize = rows[w[0]..w[1]].iter().map(|r| r.len() + 1).sum();
            assert!(bytes + ENVELOPE <= 300);
        }
        let k = encode_key(1, "code=72030", 17);
        assert_eq!(decode_key(1, "code=72030", &k), Some(17));
        assert_eq!(decode_key(1, "code=86970", &k), None);
        assert_eq!(decode_key(2, "code=72030", &k), None);
        assert_eq!(decode_key(1, "code=72030", "garbage"), None);
        assert_ne!(encode_key(1, "q", 1), encode_key(1, "q", 2));
    }
}
