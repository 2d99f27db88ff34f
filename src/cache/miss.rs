//! What a miss costs a client and the upstream: at most the bounded wait for the client
//! (then an expired answer, or 429 + Retry-After while the fetch keeps its place and lands in
//! the cache), and one upstream fetch across every replica sharing this Postgres (the lease
//! holder fetches; the others take its answer from Postgres when it lands).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};

use super::{Cache, CacheStatus, Entry, FetchResult, Served, Stale, flight};
use crate::auth::Client;
use crate::error::ApiError;
use crate::request::CanonicalRequest;

impl Cache {
    /// Past the bounded wait: an expired answer if there is one, else 429 + Retry-After.
    pub(super) fn waited_too_long(
        &self,
        key: &str,
        client: &Client,
        stale: Stale,
    ) -> Result<Served, ApiError> {
        if let Some((entry, tier)) = stale {
            self.counters.stale.fetch_add(1, Ordering::Relaxed);
            return Ok(Served {
                entry,
                status: CacheStatus::Stale,
                tier,
            });
        }
        let queue_key = client.queue_key();
        let retry_after = self.upstream.retry_after(&queue_key);
        metrics::counter!("jqp_upstream_wait_exceeded_total", "client" => queue_key.to_string())
            .increment(1);
        tracing::info!(
            key,
            client = %client,
            retry_after,
            "bounded wait exceeded; the fetch keeps its place"
        );
        Err(ApiError::QueueWait { retry_after })
    }

    /// One fetch across every replica on this Postgres: the lease holder fetches, the
    /// others take its answer from Postgres when it lands.
    pub(super) async fn fetch_once(
        self: Arc<Self>,
        req: CanonicalRequest,
        client: Arc<str>,
    ) -> FetchResult {
        let lease = match &self.leases {
            Some(leases) if self.store.as_ref().is_some_and(|s| s.is_healthy()) => {
                let key = req.key();
                let since = self.clock.now();
                match leases.wait_turn(&key, || self.landed(&req, since)).await {
                    flight::Across::Landed(entry) => return Ok(entry),
                    flight::Across::Fetch(lease) => lease,
                }
            }
            _ => None,
        };
        let out = Arc::clone(&self).fetch(req, client).await;
        if let Some(lease) = lease {
            lease.release().await;
        }
        out
    }

    /// Another replica's answer to `req`, stored since `since` (or still fresh).
    async fn landed(&self, req: &CanonicalRequest, since: DateTime<Utc>) -> Option<Arc<Entry>> {
        let key = req.key();
        let stored = self.store.as_ref()?.get(&key, req.endpoint.path).await?;
        let entry = Entry::from_stored(stored, self.cfg.max_page_bytes).ok()?;
        if entry.fetched_at < since && !entry.is_fresh(self.clock.now()) {
            return None;
        }
        let entry = Arc::new(entry);
        self.l1.insert(key, entry.clone()).await;
        Some(entry)
    }
}
