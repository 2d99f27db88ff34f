//! Where the market-data service reads upstream answers from: the response cache (which
//! answers from memory, Postgres, the row store or one upstream call), with the bulk files in
//! front of it for the days they cover ([`BulkFirst`]).
//!
//! Invariant: a [`Snapshot`]'s rows are the upstream's answer to that request, raw, and its
//! `version` changes whenever the rows do, so a consumer may keep what it derived from a
//! snapshot while the version is unchanged.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use futures::future::BoxFuture;

use crate::bulk::BulkHistory;
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

    /// Told before a query reads the cross-sections of `path` on `dates`, so a source can
    /// fetch them in bulk rather than day by day. The default does nothing.
    fn prepare<'a>(
        &'a self,
        _path: &'a str,
        _dates: &'a [NaiveDate],
    ) -> BoxFuture<'a, ApiResult<()>> {
        Box::pin(async { Ok(()) })
    }
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

/// The bulk files first, for a `date=` cross-section of a day they cover; the response cache
/// for everything else. Rows from files may spell values differently from the API's (their
/// version says where they came from); the market computations read values, not spellings.
pub struct BulkFirst {
    pub bulk: Arc<BulkHistory>,
    pub cache: CacheSource,
}

impl Source for BulkFirst {
    fn snapshot<'a>(&'a self, req: &'a CanonicalRequest) -> BoxFuture<'a, ApiResult<Snapshot>> {
        Box::pin(async move {
            let day = match (req.params.len(), req.date_param("date")) {
                (1, Some(d)) => Some(d),
                _ => None,
            };
            if let Some(d) = day
                && let Some((rows, version, fresh_until)) =
                    self.bulk.day(req.endpoint.path, d).await
            {
                return Ok(Snapshot {
                    rows,
                    version,
                    fresh_until,
                });
            }
            self.cache.snapshot(req).await
        })
    }

    fn prepare<'a>(
        &'a self,
        path: &'a str,
        dates: &'a [NaiveDate],
    ) -> BoxFuture<'a, ApiResult<()>> {
        Box::pin(self.bulk.cover(path, dates))
    }
}
