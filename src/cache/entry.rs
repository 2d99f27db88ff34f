//! A cached answer ready to send ([`Entry`]: identity and gzip bodies, ETag, freshness, the
//! proxy's own pages) and how it was served ([`Served`]: `X-Cache`, `X-Cache-Tier`).
//!
//! Invariant: an entry is immutable once built; its gzip form and pages are made once, when
//! it is built, and shared by every response that sends it.

use std::sync::Arc;

use axum::http::HeaderValue;
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};

use super::paging::{self, Page};
use crate::catalog::{self, Endpoint};
use crate::envelope::{self, Merged};
use crate::schedule::splits;
use crate::store::StoredEntry;

/// How an answer was served; sent as `X-Cache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    Miss,
    Stale,
    Coalesced,
}

impl CacheStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Stale => "STALE",
            CacheStatus::Coalesced => "COALESCED",
        }
    }
}

/// Where an answer came from: the `x-cache-tier` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Memory.
    L1,
    /// Postgres.
    L2,
    /// Assembled from the market row store (`crate::rows`) without an upstream call.
    Rows,
    Upstream,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::L1 => "l1",
            Tier::L2 => "l2",
            Tier::Rows => "rows",
            Tier::Upstream => "upstream",
        }
    }
}

/// A cached answer, ready to send.
#[derive(Debug)]
pub struct Entry {
    pub endpoint: &'static Endpoint,
    pub key: String,
    pub code: Option<String>,
    pub last_date: Option<NaiveDate>,
    pub merged: Merged,
    pub gzip: Bytes,
    pub etag: String,
    /// `etag` as a header value, made once: a hit sends it without copying.
    pub etag_header: Option<HeaderValue>,
    pub fetched_at: DateTime<Utc>,
    pub fresh_until: DateTime<Utc>,
    /// Assembled from held rows without an upstream call (served first as a `rows` hit).
    pub from_rows: bool,
    /// The proxy's own pages when the answer exceeds the page size (`paging`).
    pub pages: Option<Vec<Page>>,
}

/// What identifies and dates an answer, apart from its body.
pub(super) struct Meta {
    pub(super) endpoint: &'static Endpoint,
    pub(super) key: String,
    pub(super) code: Option<String>,
    pub(super) last_date: Option<NaiveDate>,
    pub(super) fetched_at: DateTime<Utc>,
    pub(super) fresh_until: DateTime<Utc>,
    pub(super) from_rows: bool,
}

impl Entry {
    /// `gzip`: the body's gzip form when already known (loaded from Postgres), so it is not
    /// compressed again.
    pub(super) fn build(
        m: Meta,
        merged: Merged,
        gzip: Option<Bytes>,
        max_page_bytes: usize,
    ) -> Entry {
        let Meta {
            endpoint,
            key,
            code,
            last_date,
            fetched_at,
            fresh_until,
            from_rows,
        } = m;
        let etag = paging::etag(&merged.body);
        let pages =
            paging::Cut::new(&merged, max_page_bytes, &key, &etag).map(|c| c.pages(&merged));
        let gzip = match (&pages, gzip) {
            (Some(_), _) => Bytes::new(),
            (None, Some(z)) => z,
            (None, None) => crate::gzip::compress(&merged.body),
        };
        Entry {
            endpoint,
            key,
            code,
            last_date,
            merged,
            gzip,
            etag_header: HeaderValue::try_from(&etag).ok(),
            etag,
            fetched_at,
            fresh_until,
            from_rows,
            pages,
        }
    }

    pub(super) fn from_stored(s: StoredEntry, max_page_bytes: usize) -> anyhow::Result<Entry> {
        let endpoint = catalog::find(s.endpoint)
            .ok_or_else(|| anyhow::anyhow!("unknown endpoint {}", s.endpoint))?;
        let merged = envelope::parse(endpoint, s.body)?;
        let gzip = s.gzip;
        let meta = Meta {
            endpoint,
            key: s.key,
            code: s.code,
            last_date: s.last_date,
            fetched_at: s.fetched_at,
            fresh_until: s.fresh_until,
            from_rows: false,
        };
        Ok(Entry::build(meta, merged, gzip, max_page_bytes))
    }

    pub(super) fn weight(&self) -> u32 {
        let pages: usize = self
            .pages
            .iter()
            .flatten()
            .map(|p| p.body.len() + p.gzip.len())
            .sum();
        let n = self.merged.body.len() + self.gzip.len() + pages + self.key.len() + 256;
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// What the split rule needs to know of this answer.
    pub fn split_scope(&self) -> splits::AnswerScope<'_> {
        splits::AnswerScope {
            code: self.code.as_deref(),
            last_date: self.last_date,
            fetched_at: self.fetched_at,
        }
    }

    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        now < self.fresh_until
    }
}

/// What a route gets back.
#[derive(Debug, Clone)]
pub struct Served {
    pub entry: Arc<Entry>,
    pub status: CacheStatus,
    pub tier: Tier,
}

impl Served {
    pub(super) fn hit(entry: Arc<Entry>, tier: Tier) -> Served {
        Served {
            entry,
            status: CacheStatus::Hit,
            tier,
        }
    }
}
