//! Where the market-data service reads upstream answers from. Today one source, the response
//! cache (which answers from memory, Postgres, the row store or one upstream call); a source
//! of bulk files can stand beside it behind the same trait.
//!
//! Invariant: a [`Snapshot`]'s rows are the upstream's answer to that request, raw, and its
//! `version` changes whenever the rows do, so a consumer may keep what it derived from a
//! snapshot while the version is unchanged.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::cache::Cache;
use crate::error::ApiResult;
use crate::request::CanonicalRequest;

/// One answer as a source holds it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The answer's rows, each the raw JSON text the upstream sent.
    pub rows: Vec<Bytes>,
    /// Changes whenever the rows do (the cache's ETag).
    pub version: String,
    /// Until when the source holds this answer fresh.
    pub fresh_until: DateTime<Utc>,
}

/// A source of upstream answers for the market-data service.
pub trait Source: Send + Sync {
    /// The answer to `req`, or the error the source met (a 429 `QueueWait` when it could not
    /// answer within its bounded wait; the fetch keeps its place).
    fn snapshot<'a>(&'a self, req: &'a CanonicalRequest) -> BoxFuture<'a, ApiResult<Snapshot>>;
}

/// The response cache as a source: the answers clients get on the mirror, with the cache's
/// single flight, freshness and fair queueing.
pub struct CacheSource(pub Arc<Cache>);

impl Source for CacheSource {
    fn snapshot<'a>(&'a self, req: &'a CanonicalRequest) -> BoxFuture<'a, ApiResult<Snapshot>> {
        Box::pin(async move {
            let served = self.0.get(req).await?;
            let e = &served.entry;
            Ok(Snapshot {
                rows: e.merged.rows.clone(),
                version: e.etag.clone(),
                fresh_until: e.fresh_until,
            })
        })
    }
}
