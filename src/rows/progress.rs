//! Progress of the current (or last) sync of the row store, kept with the rows it fills so
//! `/admin/cache/stats` and `/metrics` can show it without knowing who runs the sync.
//!
//! Invariant: counters only grow during a run and are reset when the next run starts; a
//! snapshot is a consistent-enough view for display (relaxed atomics, no lock).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Progress of the current (or last) sync, shared with `/admin/cache/stats` and `/metrics`.
#[derive(Debug, Default)]
pub struct Progress {
    pub running: AtomicBool,
    pub slices_total: AtomicU64,
    pub slices_done: AtomicU64,
    /// Slices already held and fresh, so not fetched.
    pub slices_skipped: AtomicU64,
    pub rows: AtomicU64,
    pub upstream_calls: AtomicU64,
    pub errors: AtomicU64,
    pub files_total: AtomicU64,
    pub files_done: AtomicU64,
}

#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct SyncStats {
    /// Whether a sync is running now; false when none has run since start.
    pub running: bool,
    /// Slices the sync covers: business days in its range x datasets, count.
    pub slices_total: u64,
    /// Slices finished so far (fetched, skipped or failed), count.
    pub slices_done: u64,
    /// Slices already held and fresh, so not fetched, count.
    pub slices_skipped: u64,
    /// Rows in the answers of the slices fetched, count.
    pub rows: u64,
    /// Complete answers fetched from upstream since the sync started (the calendar included;
    /// counted process-wide, so client misses during the sync count too), count.
    pub upstream_calls: u64,
    /// Slices whose fetch failed (logged and left for the next sync), count.
    pub errors: u64,
    /// Monthly bulk files the sync loads (whole months for one listing and one call each),
    /// count.
    pub files_total: u64,
    /// Of those, loaded so far, count.
    pub files_done: u64,
}

impl Progress {
    pub fn snapshot(&self) -> SyncStats {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SyncStats {
            running: self.running.load(Ordering::Relaxed),
            slices_total: g(&self.slices_total),
            slices_done: g(&self.slices_done),
            slices_skipped: g(&self.slices_skipped),
            rows: g(&self.rows),
            upstream_calls: g(&self.upstream_calls),
            errors: g(&self.errors),
            files_total: g(&self.files_total),
            files_done: g(&self.files_done),
        }
    }

    pub fn publish(&self) {
        let s = self.snapshot();
        metrics::gauge!("jqp_sync_running").set(if s.running { 1.0 } else { 0.0 });
        metrics::gauge!("jqp_sync_slices_total").set(s.slices_total as f64);
        metrics::gauge!("jqp_sync_slices_done").set(s.slices_done as f64);
        metrics::gauge!("jqp_sync_rows").set(s.rows as f64);
        metrics::gauge!("jqp_sync_upstream_calls").set(s.upstream_calls as f64);
    }
}
