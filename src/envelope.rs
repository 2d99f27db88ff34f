//! The upstream's response envelope, handled without re-typing a single value.
//!
//! Rows are kept as the raw JSON text the upstream sent (zero-copy slices of its bodies), so
//! numbers, strings, `""`, `"-"` and nulls reach clients byte for byte. A one-page answer is
//! passed through untouched; pages are merged by concatenating raw rows (a merged answer
//! larger than the configured size is cut into the proxy's own pages by `cache::paging`).
//!
//! Invariants: every row of a [`Merged`] is a slice of its `body`, byte for byte as the
//! upstream sent it; a body that is not the endpoint's envelope is an error, never a panic.

use anyhow::Context;
use bytes::{BufMut, Bytes, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::catalog::{Endpoint, Envelope};

#[derive(Deserialize)]
struct RawPage<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    cursor: Option<&'a RawValue>,
}

/// A complete answer: the body clients get when it fits in one page, and its rows.
#[derive(Debug, Clone)]
pub struct Merged {
    pub body: Bytes,
    /// Raw JSON of each row, slices of `body` (empty for object envelopes).
    pub rows: Vec<Bytes>,
    /// Raw JSON of the last page's `cursor` (`/fins/*`), if any.
    pub cursor: Option<Bytes>,
}

impl Merged {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && !self.is_object()
    }

    fn is_object(&self) -> bool {
        self.rows.is_empty() && !self.body.starts_with(b"{\"data\"")
    }
}

fn slice_of(buf: &Bytes, part: &str) -> Bytes {
    buf.slice_ref(part.as_bytes())
}

/// Parses `body` (a complete answer as stored) back into rows, zero-copy.
pub fn parse(endpoint: &Endpoint, body: Bytes) -> anyhow::Result<Merged> {
    if endpoint.envelope == Envelope::Object {
        serde_json::from_slice::<&RawValue>(&body).context("upstream object body is not JSON")?;
        return Ok(Merged {
            body,
            rows: vec![],
            cursor: None,
        });
    }
    let text = std::str::from_utf8(&body).context("body is not UTF-8")?;
    let page: RawPage = serde_json::from_str(text).context("body is not a data envelope")?;
    let rows = page.data.iter().map(|r| slice_of(&body, r.get())).collect();
    let cursor = page.cursor.map(|c| slice_of(&body, c.get()));
    Ok(Merged {
        body: body.clone(),
        rows,
        cursor,
    })
}

/// Merges the upstream's pages of one request. A single page is kept byte for byte.
pub fn merge(endpoint: &Endpoint, mut pages: Vec<Bytes>) -> anyhow::Result<Merged> {
    anyhow::ensure!(!pages.is_empty(), "no pages");
    if pages.len() == 1
        && let Some(page) = pages.pop()
    {
        return parse(endpoint, page);
    }
    let mut rows = Vec::new();
    let mut cursor = None;
    for page in &pages {
        let m = parse(endpoint, page.clone())?;
        rows.extend(m.rows);
        cursor = m.cursor.or(cursor);
    }
    // The rows are re-sliced from the new body, so it alone holds them in memory.
    let (body, rows, cursor) = assemble_sliced(&rows, None, cursor.as_ref());
    Ok(Merged { body, rows, cursor })
}

/// A `{"data":[...]}` answer made of `rows` (raw JSON text, in order), as the upstream lays
/// out a one-page answer without a cursor.
pub fn from_rows(rows: &[Bytes]) -> Merged {
    let (body, rows, cursor) = assemble_sliced(rows, None, None);
    Merged { body, rows, cursor }
}

/// `{"data":[rows],"pagination_key":"..."}` with `cursor` last, as the upstream lays it out.
pub fn assemble(rows: &[Bytes], pagination_key: Option<&str>, cursor: Option<&Bytes>) -> Bytes {
    assemble_sliced(rows, pagination_key, cursor).0
}

/// [`assemble`], also returning the rows and cursor as slices of the new body (no re-parse).
fn assemble_sliced(
    rows: &[Bytes],
    pagination_key: Option<&str>,
    cursor: Option<&Bytes>,
) -> (Bytes, Vec<Bytes>, Option<Bytes>) {
    let len: usize = rows.iter().map(|r| r.len() + 1).sum::<usize>() + 64;
    let mut out = BytesMut::with_capacity(len);
    out.put_slice(b"{\"data\":[");
    let mut spans = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        spans.push(out.len()..out.len() + r.len());
        out.put_slice(r);
    }
    out.put_u8(b']');
    if let Some(k) = pagination_key {
        out.put_slice(b",\"pagination_key\":");
        out.put_slice(serde_json::to_string(k).expect("string").as_bytes());
    }
    let mut cursor_span = None;
    if let Some(c) = cursor {
        out.put_slice(b",\"cursor\":");
        cursor_span = Some(out.len()..out.len() + c.len());
        out.put_slice(c);
    }
    out.put_u8(b'}');
    let body = out.freeze();
    let rows = spans.into_iter().map(|r| body.slice(r)).collect();
    let cursor = cursor_span.map(|r| body.slice(r));
    (body, rows, cursor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::find;

    fn bars() -> &'static Endpoint {
        find("/equities/bars/daily").unwrap()
    }

    #[test]
    fn single_page_passes_through_byte_for_byte() {
        let raw =
            Bytes::from_static(br#"{"data":[{"Date":"2024-01-05","C":2047.0,"O":null,"X":"-"}]}"#);
        let m = merge(bars(), vec![raw.clone()]).unwrap();
        assert_eq!(m.body, raw);
        assert_eq!(m.rows.len(), 1);
        assert_eq!(
            &m.rows[0][..],
            br#"{"Date":"2024-01-05","C":2047.0,"O":null,"X":"-"}"#
        );
    }

    #[test]
    fn pages_merge_without_retyping_values() {
        let p1 =
            Bytes::from_static(br#"{"data":[{"a":1.50},{"a":"","b":null}],"pagination_key":"k1"}"#);
        let p2 = Bytes::from_static(br#"{"data":[{"a":1e3}]}"#);
        let m = merge(bars(), vec![p1, p2]).unwrap();
        assert_eq!(
            &m.body[..],
            br#"{"data":[{"a":1.50},{"a":"","b":null},{"a":1e3}]}"#
        );
        assert_eq!(m.rows.len(), 3);
    }

    #[test]
    fn cursor_of_the_last_page_is_kept() {
        let fins = find("/fins/summary").unwrap();
        let p1 = Bytes::from_static(br#"{"data":[{"a":1}],"pagination_key":"k"}"#);
        let p2 = Bytes::from_static(br#"{"data":[{"a":2}],"cursor":"c9"}"#);
        let m = merge(fins, vec![p1, p2]).unwrap();
        assert_eq!(&m.body[..], br#"{"data":[{"a":1},{"a":2}],"cursor":"c9"}"#);
    }

    #[test]
    fn empty_and_object_envelopes() {
        let m = merge(bars(), vec![Bytes::from_static(br#"{"data":[]}"#)]).unwrap();
        assert!(m.is_empty());
        let get = find("/bulk/get").unwrap();
        let m = merge(get, vec![Bytes::from_static(br#"{"url":"https://x"}"#)]).unwrap();
        assert!(!m.is_empty());
        assert!(merge(bars(), vec![Bytes::from_static(b"<html>")]).is_err());
    }
}
