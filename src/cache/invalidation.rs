//! Dropping answers that are no longer right: a newly seen split rewrites the adjusted
//! history of its code (every answer holding that history from before the split goes, in
//! memory, in Postgres and in the row store), and an admin purge by endpoint and/or code.
//!
//! Invariant: a split is acted on once per replica and once across replicas (recorded in
//! Postgres when there is one); the answer that revealed it is kept.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Cache, Entry};
use crate::schedule::splits;

impl Cache {
    pub(super) async fn apply_splits(&self, entry: &Arc<Entry>) {
        for s in splits::find(&entry.merged.rows) {
            let new_here = self.known_splits.lock().insert((s.code.clone(), s.ex_date));
            if !new_here {
                continue;
            }
            let new_in_store = match &self.store {
                Some(store) => store
                    .record_split(&s.code, s.ex_date, s.factor, entry.fetched_at)
                    .await
                    .unwrap_or(true),
                None => true,
            };
            if !new_in_store {
                continue;
            }
            self.rows
                .split(splits::ADJUSTED_ENDPOINT, &s.code, s.ex_date)
                .await;
            let published = splits::published_at(s.ex_date);
            let dropped = self
                .invalidate_where(|k, e| {
                    k != entry.key
                        && e.endpoint.path == splits::ADJUSTED_ENDPOINT
                        && splits::holds_pre_split(e.split_scope(), &s.code, s.ex_date, published)
                })
                .await;
            let stored = match &self.store {
                Some(store) => {
                    store
                        .invalidate_split(splits::ADJUSTED_ENDPOINT, &s.code, s.ex_date, published)
                        .await
                }
                None => 0,
            };
            self.counters.invalidated.fetch_add(1, Ordering::Relaxed);
            tracing::info!(code = %s.code, ex_date = %s.ex_date, factor = s.factor, memory_dropped = dropped, stored_dropped = stored, "new split seen; adjusted histories invalidated");
        }
    }

    /// Drops answers by endpoint path and/or issue code from both tiers.
    pub async fn purge(&self, endpoint: Option<&'static str>, code: Option<String>) -> (u64, u64) {
        let l1 = self
            .invalidate_where(|_k, e| {
                endpoint.is_none_or(|p| e.endpoint.path == p)
                    && code.as_ref().is_none_or(|c| e.code.as_ref() == Some(c))
            })
            .await;
        let l2 = match &self.store {
            Some(s) => s.purge(endpoint, code.as_deref()).await,
            None => 0,
        };
        self.rows.purge(endpoint, code.as_deref()).await;
        (l1, l2)
    }

    /// Removes matching answers from memory now (moka's predicate invalidation is lazy, and
    /// callers report how many went).
    async fn invalidate_where(&self, pred: impl Fn(&str, &Entry) -> bool) -> u64 {
        let doomed: Vec<Arc<String>> = self
            .l1
            .iter()
            .filter(|(k, e)| pred(k, e))
            .map(|(k, _)| k)
            .collect();
        for k in &doomed {
            self.l1.invalidate(k.as_str()).await;
        }
        doomed.len() as u64
    }
}
