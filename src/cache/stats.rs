//! What the cache counts and reports on `/admin/cache/stats` and `/metrics`.
//!
//! Invariant: every request the cache answers is counted once, in exactly one of hits (per
//! tier), misses, coalesced and stale; the ratios are over that total.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Cache;
use crate::store::StoreStats;

#[derive(Default)]
pub(super) struct Counters {
    pub(super) l1_hits: AtomicU64,
    pub(super) l2_hits: AtomicU64,
    pub(super) misses: AtomicU64,
    pub(super) coalesced: AtomicU64,
    pub(super) stale: AtomicU64,
    pub(super) upstream_fetches: AtomicU64,
    pub(super) upstream_errors: AtomicU64,
    pub(super) invalidated: AtomicU64,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CacheStats {
    /// Answers in memory (L1).
    pub l1_entries: u64,
    /// Bytes held by L1 (bodies, gzip forms and pages).
    pub l1_bytes: u64,
    /// Capacity of L1, bytes (`l1_bytes` is kept at or below it by evicting answers).
    pub l1_max_bytes: u64,
    /// Requests answered with a fresh answer from memory (L1), count since start.
    pub l1_hits: u64,
    /// Requests answered with a fresh answer read from Postgres (L2) after missing L1, count
    /// since start.
    pub l2_hits: u64,
    /// Requests that found no usable answer in either tier and started a fetch of their own
    /// (answered by the row store or the upstream), count since start.
    pub misses: u64,
    /// Requests that joined a fetch of the same answer already in flight instead of starting
    /// one, count since start.
    pub coalesced: u64,
    /// Requests answered with an expired answer: within the stale-while-revalidate window
    /// (while it is refreshed in the background), when the upstream fetch failed, or when the
    /// bounded wait for an upstream slot ran out; count since start.
    pub stale_served: u64,
    /// Requests answered without an upstream call of their own (hits, coalesced, stale).
    pub upstream_calls_saved: u64,
    /// Fetches of complete answers from upstream (each may span several upstream pages).
    pub upstream_fetches: u64,
    /// Upstream fetches that failed (after the upstream client's retries) or returned an
    /// unparseable answer, count since start.
    pub upstream_errors: u64,
    /// Answers dropped because a newly seen split rewrote the adjusted history they hold.
    pub split_invalidations: u64,
    /// Hits (both tiers) over all requests, 0..1.
    pub hit_ratio: f64,
    /// L1 hits over all requests (hits, misses, coalesced and stale), ratio 0..1.
    pub l1_hit_ratio: f64,
    /// L2 hits over all requests (hits, misses, coalesced and stale), ratio 0..1.
    pub l2_hit_ratio: f64,
    /// The Postgres tier (L2); null when running without Postgres (no DATABASE_URL).
    pub l2: Option<StoreStats>,
    /// The market row store and its planner.
    pub rows: crate::rows::RowStats,
}

impl Cache {
    pub async fn stats(&self) -> CacheStats {
        self.l1.run_pending_tasks().await;
        let c = &self.counters;
        let l1_hits = c.l1_hits.load(Ordering::Relaxed);
        let l2_hits = c.l2_hits.load(Ordering::Relaxed);
        let misses = c.misses.load(Ordering::Relaxed);
        let coalesced = c.coalesced.load(Ordering::Relaxed);
        let stale = c.stale.load(Ordering::Relaxed);
        let total = (l1_hits + l2_hits + misses + coalesced + stale).max(1) as f64;
        CacheStats {
            l1_entries: self.l1.entry_count(),
            l1_bytes: self.l1.weighted_size(),
            l1_max_bytes: self.cfg.max_bytes,
            l1_hits,
            l2_hits,
            misses,
            coalesced,
            stale_served: stale,
            upstream_calls_saved: l1_hits + l2_hits + coalesced + stale,
            upstream_fetches: c.upstream_fetches.load(Ordering::Relaxed),
            upstream_errors: c.upstream_errors.load(Ordering::Relaxed),
            split_invalidations: c.invalidated.load(Ordering::Relaxed),
            hit_ratio: (l1_hits + l2_hits) as f64 / total,
            l1_hit_ratio: l1_hits as f64 / total,
            l2_hit_ratio: l2_hits as f64 / total,
            l2: match &self.store {
                Some(s) => Some(s.stats().await),
                None => None,
            },
            rows: self.rows.stats(),
        }
    }
}
