//! The proxy's own pages: the one owner of paging, for the mirror and the derived routes alike.
//!
//! An answer larger than the page size is cut into pages ([`Cut`]); every page but the last
//! names the next in its `pagination_key` ([`PageKey`]); a client's key is resolved back to a
//! page by [`Cache::page`] (mirror answers, which are cached) or [`page_of`] (derived answers,
//! computed per request).
//!
//! Invariants:
//! - One key format: base64url of `jqp2:{query}:{answer}:{index}`, where `query` is a hash of
//!   the canonical request the key was issued for and `answer` the ETag of the answer cut. A
//!   key sent with any other query is refused before anything is fetched or computed; a key of
//!   an answer that has changed since is refused as expired, so a client never gets pages of
//!   two different answers.
//! - An answer that fits one page is never cut: clients get it as it is (the upstream's bytes).
//! - Pages cover every row once, in order; each holds at least one row and, unless that one
//!   row is larger, at most the page size with its envelope and key; the answer's `cursor`
//!   (`/fins/*`) goes on the last page only.
//! - A cached answer a client starts paging through is kept as a snapshot (until 30 minutes
//!   unused) so a refresh in between does not change the pages it follows.

use std::ops::Range;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::{Cache, Entry, Served, Tier};
use crate::auth::Client;
use crate::envelope::{self, Merged};
use crate::error::ApiError;
use crate::request::CanonicalRequest;

const PREFIX: &str = "jqp2:";

fn invalid() -> ApiError {
    ApiError::bad_request(
        "Invalid pagination_key: send the same query with the pagination_key of its previous page.",
    )
}

fn expired() -> ApiError {
    ApiError::bad_request(
        "This pagination_key has expired (the answer was refreshed). Request the first page again.",
    )
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// An answer's identity, quoted as an HTTP ETag: a hash of its body.
pub fn etag(body: &[u8]) -> String {
    format!("\"{}\"", hex(&Sha256::digest(body)[..16]))
}

/// What a key says of the query it was issued for: a hash of its canonical form.
fn query_tag(canonical: &str) -> String {
    hex(&Sha256::digest(canonical.as_bytes())[..8])
}

/// One of the proxy's pages, ready to send in either encoding.
#[derive(Debug)]
pub struct Page {
    pub body: Bytes,
    pub gzip: Bytes,
}

/// A proxy `pagination_key`: page `index` of the answer with ETag `answer` to the query
/// tagged `query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageKey {
    query: String,
    /// The ETag without its quotes.
    answer: String,
    index: usize,
}

impl PageKey {
    fn encode(&self) -> String {
        let PageKey {
            query,
            answer,
            index,
        } = self;
        URL_SAFE_NO_PAD.encode(format!("{PREFIX}{query}:{answer}:{index}"))
    }

    fn decode(raw: &str) -> Option<PageKey> {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
        let mut parts = text.strip_prefix(PREFIX)?.split(':');
        let (query, answer, index) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(PageKey {
            query: query.to_string(),
            answer: answer.to_string(),
            index: index.parse().ok()?,
        })
    }

    /// A client's key, checked to be one issued for the query `canonical`; else the 400
    /// clients get for a key that is not.
    pub fn parse_for(raw: &str, canonical: &str) -> Result<PageKey, ApiError> {
        PageKey::decode(raw)
            .filter(|k| k.query == query_tag(canonical))
            .ok_or_else(invalid)
    }

    /// The page this key names of the answer `etag`, cut into `pages` pages (0: not cut).
    pub fn index_in(&self, etag: &str, pages: usize) -> Result<usize, ApiError> {
        if self.answer != etag.trim_matches('"') {
            return Err(expired());
        }
        if self.index >= pages {
            return Err(invalid());
        }
        Ok(self.index)
    }
}

/// Row index ranges of pages no larger than `max_bytes` (each page holds at least one row).
/// `None` when the whole answer fits in one page.
fn ranges(merged: &Merged, max_bytes: usize) -> Option<Vec<Range<usize>>> {
    if merged.body.len() <= max_bytes || merged.rows.len() < 2 {
        return None;
    }
    // Room for the envelope and the key.
    let budget = max_bytes.saturating_sub(200).max(1);
    let mut ranges = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, r) in merged.rows.iter().enumerate() {
        if i > start && size + r.len() + 1 > budget {
            ranges.push(start..i);
            start = i;
            size = 0;
        }
        size += r.len() + 1;
    }
    ranges.push(start..merged.rows.len());
    Some(ranges)
}

/// An answer to one query cut into pages, each naming the next.
pub struct Cut {
    ranges: Vec<Range<usize>>,
    query: String,
    answer: String,
}

impl Cut {
    /// The pages of `merged` (the answer `etag` to the query `canonical`); `None` when it
    /// fits in one page of `max_bytes`.
    pub fn new(merged: &Merged, max_bytes: usize, canonical: &str, etag: &str) -> Option<Cut> {
        ranges(merged, max_bytes).map(|ranges| Cut::bound(ranges, canonical, etag))
    }

    fn bound(ranges: Vec<Range<usize>>, canonical: &str, etag: &str) -> Cut {
        Cut {
            ranges,
            query: query_tag(canonical),
            answer: etag.trim_matches('"').to_string(),
        }
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Page `i`: its rows, the key of page `i + 1` unless last, and the answer's cursor if last.
    pub fn page(&self, merged: &Merged, i: usize) -> Bytes {
        let last = i + 1 == self.len();
        let next = (!last).then(|| {
            PageKey {
                query: self.query.clone(),
                answer: self.answer.clone(),
                index: i + 1,
            }
            .encode()
        });
        let cursor = if last { merged.cursor.as_ref() } else { None };
        envelope::assemble(
            &merged.rows[self.ranges[i].clone()],
            next.as_deref(),
            cursor,
        )
    }

    /// Every page with its gzip form, for an answer that is kept.
    pub fn pages(&self, merged: &Merged) -> Vec<Page> {
        (0..self.len())
            .map(|i| {
                let body = self.page(merged, i);
                Page {
                    gzip: crate::gzip::compress(&body),
                    body,
                }
            })
            .collect()
    }
}

/// The page `key` names (the first without one) of an answer computed for this request and
/// not kept: the whole body when it fits one page of `max_bytes`.
pub fn page_of(
    merged: &Merged,
    max_bytes: usize,
    canonical: &str,
    key: Option<&PageKey>,
) -> Result<Bytes, ApiError> {
    let Some(ranges) = ranges(merged, max_bytes) else {
        return match key {
            None => Ok(merged.body.clone()),
            Some(k) => k
                .index_in(&etag(&merged.body), 0)
                .map(|_| merged.body.clone()),
        };
    };
    let cut = Cut::bound(ranges, canonical, &etag(&merged.body));
    let index = match key {
        None => 0,
        Some(k) => k.index_in(&cut.answer, cut.len())?,
    };
    Ok(cut.page(merged, index))
}

/// Answers clients are paging through, by query and ETag.
pub(super) struct Snapshots(moka::future::Cache<String, Arc<Entry>>);

impl Snapshots {
    pub(super) fn new(max_bytes: u64) -> Snapshots {
        Snapshots(
            moka::future::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_k: &String, v: &Arc<Entry>| v.weight())
                .time_to_idle(std::time::Duration::from_secs(30 * 60))
                .build(),
        )
    }

    fn id(canonical: &str, etag: &str) -> String {
        format!("{}|{canonical}", etag.trim_matches('"'))
    }
}

impl Cache {
    /// The page of `req`'s answer a client asked for, and its index: the first without a
    /// `key` (starting to page through an answer keeps its snapshot), else the page `key`
    /// names of the snapshot the client is following, or of the current answer when that is
    /// still the same one.
    pub async fn page(
        self: &Arc<Self>,
        req: &CanonicalRequest,
        key: Option<&str>,
        client: &Client,
    ) -> Result<(Served, usize), ApiError> {
        let Some(raw) = key else {
            let served = self.get_as(req, client).await?;
            if served.entry.pages.is_some() {
                self.keep_snapshot(&served.entry).await;
            }
            return Ok((served, 0));
        };
        let canonical = req.key();
        let key = PageKey::parse_for(raw, &canonical)?;
        let snapshot = self
            .snapshots
            .0
            .get(&Snapshots::id(&canonical, &key.answer))
            .await;
        let served = match snapshot {
            Some(entry) => Served::hit(entry, Tier::L1),
            None => self.get_as(req, client).await?,
        };
        let pages = served.entry.pages.as_ref().map_or(0, Vec::len);
        let index = key.index_in(&served.entry.etag, pages)?;
        Ok((served, index))
    }

    /// Keeps `entry` for the clients paging through it, before its first page is sent, so
    /// the key on that page always finds it.
    async fn keep_snapshot(&self, entry: &Arc<Entry>) {
        let id = Snapshots::id(&entry.key, &entry.etag);
        self.snapshots.0.insert(id, entry.clone()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::find;

    fn merged(n: usize) -> Merged {
        let rows: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"i":{i},"pad":"{}"}}"#, "x".repeat(i % 7 * 10)))
            .collect();
        let body = Bytes::from(format!(r#"{{"data":[{}]}}"#, rows.join(",")));
        envelope::parse(find("/equities/bars/daily").unwrap(), body).unwrap()
    }

    #[test]
    fn page_keys_round_trip_and_reject_garbage() {
        let k = PageKey {
            query: query_tag("q"),
            answer: "abc123".into(),
            index: 3,
        };
        assert_eq!(PageKey::decode(&k.encode()), Some(k.clone()));
        assert_eq!(PageKey::parse_for(&k.encode(), "q").ok(), Some(k.clone()));
        assert_eq!(k.index_in("\"abc123\"", 4).ok(), Some(3));
        assert_eq!(PageKey::decode("not-base64!"), None);
        let foreign = URL_SAFE_NO_PAD.encode("other:abc:1");
        assert_eq!(PageKey::decode(&foreign), None);
    }

    #[test]
    fn keys_bind_the_query_and_the_answer() {
        let k = PageKey {
            query: query_tag("q"),
            answer: "abc123".into(),
            index: 3,
        };
        let message = |e: ApiError| e.to_string();
        let other_query = PageKey::parse_for(&k.encode(), "q2").unwrap_err();
        assert!(message(other_query).starts_with("Invalid pagination_key"));
        let refreshed = k.index_in("\"def456\"", 4).unwrap_err();
        assert!(message(refreshed).starts_with("This pagination_key has expired"));
        let past_the_end = k.index_in("\"abc123\"", 3).unwrap_err();
        assert!(message(past_the_end).starts_with("Invalid pagination_key"));
    }

    #[test]
    fn pages_cover_every_row_once_within_budget() {
        let m = merged(100);
        let ranges = ranges(&m, 1200).unwrap();
        assert!(ranges.len() > 3);
        let mut next = 0;
        for r in &ranges {
            assert_eq!(r.start, next);
            next = r.end;
            let page = envelope::assemble(&m.rows[r.clone()], Some("k"), None);
            assert!(page.len() <= 1200, "page of {} bytes", page.len());
        }
        assert_eq!(next, 100);
        assert!(super::ranges(&m, 1 << 20).is_none());
    }

    #[test]
    fn following_the_keys_of_a_computed_answer_yields_every_row_once() {
        let m = merged(100);
        let (mut rows, mut key) = (Vec::new(), None::<PageKey>);
        loop {
            let page = page_of(&m, 1200, "q", key.as_ref()).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&page).unwrap();
            rows.extend(v["data"].as_array().unwrap().iter().cloned());
            match v["pagination_key"].as_str() {
                Some(k) => key = Some(PageKey::parse_for(k, "q").unwrap()),
                None => break,
            }
        }
        let whole: serde_json::Value = serde_json::from_slice(&m.body).unwrap();
        assert_eq!(&rows, whole["data"].as_array().unwrap());
        // A smaller answer to the same query is a changed answer.
        let first = page_of(&m, 1200, "q", None).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&first).unwrap();
        let k = PageKey::parse_for(v["pagination_key"].as_str().unwrap(), "q").unwrap();
        assert!(page_of(&merged(99), 1200, "q", Some(&k)).is_err());
        assert_eq!(page_of(&m, 1 << 20, "q", None).unwrap(), m.body);
    }
}
