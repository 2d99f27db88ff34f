//! One upstream budget for every replica, kept in the Postgres they already share.
//!
//! Each upstream call takes its slot with one statement (`jqp_take_slot`, see the
//! migration `replica_coordination`): a GCRA "theoretical arrival time" per budget (the plan,
//! and the `/fins/summary`+`/fins/details` cap), advanced atomically under a row lock, on
//! Postgres' clock so replicas' clocks never matter. The answer is how long to sleep before
//! calling. A 429 seen by any replica sets `paused_until` on every budget, so all replicas
//! cool down together.
//!
//! Invariant: Postgres never holds up an upstream call for long. Every operation has a
//! short deadline; on failure the budget reports itself down for [`RETRY_AFTER_FAILURE`] and
//! the limiter falls back to its local share of the plan (`JQP_REPLICAS`) meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use sqlx::PgPool;
use tokio::time::Instant;

use crate::store::Store;

const OP_TIMEOUT: Duration = Duration::from_millis(1500);
/// How long after a failure Postgres is left alone before being tried again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

pub(crate) struct SharedBudget {
    store: Arc<Store>,
    down_until: Mutex<Option<Instant>>,
    ops: AtomicU64,
    op_nanos: AtomicU64,
    failures: AtomicU64,
}

/// A slot taken in the shared budget.
pub(crate) struct Slot {
    /// Sleep this long, then call.
    pub(crate) delay: Duration,
}

impl SharedBudget {
    pub(crate) fn new(store: Arc<Store>) -> Self {
        Self {
            store,
            down_until: Mutex::new(None),
            ops: AtomicU64::new(0),
            op_nanos: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    fn pool(&self) -> &PgPool {
        self.store.pool()
    }

    /// True while the shared budget is in use (Postgres reachable, no recent failure).
    pub(crate) fn is_up(&self) -> bool {
        self.store.is_healthy() && self.down_until.lock().is_none_or(|t| Instant::now() >= t)
    }

    fn failed(&self, what: &str, e: impl std::fmt::Display) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("jqp_coordination_errors_total", "op" => what.to_string()).increment(1);
        let was_up = {
            let mut d = self.down_until.lock();
            let was_up = d.is_none_or(|t| Instant::now() >= t);
            *d = Some(Instant::now() + RETRY_AFTER_FAILURE);
            was_up
        };
        if was_up {
            tracing::warn!(op = what, error = %e, "replica coordination through Postgres failed; using the local share of the plan");
        }
    }

    async fn timed<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Option<T> {
        let start = std::time::Instant::now();
        let out = crate::store::within_or(OP_TIMEOUT, fut, |e| self.failed(what, e)).await;
        if out.is_some() {
            self.ops.fetch_add(1, Ordering::Relaxed);
            self.op_nanos
                .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
            let mut d = self.down_until.lock();
            if d.take().is_some() {
                tracing::info!("replica coordination through Postgres restored");
            }
        }
        out
    }

    /// Takes the next slot of every budget in `budgets` at one instant; `None` when
    /// Postgres cannot be asked (the caller then uses its local share).
    pub(crate) async fn take_slot(&self, budgets: &[(&str, Duration)]) -> Option<Slot> {
        if !self.is_up() {
            return None;
        }
        let names: Vec<&str> = budgets.iter().map(|b| b.0).collect();
        let secs: Vec<f64> = budgets.iter().map(|b| b.1.as_secs_f64()).collect();
        let delay: f64 = self
            .timed(
                "take_slot",
                sqlx::query_scalar("SELECT jqp_take_slot($1, $2)")
                    .bind(&names)
                    .bind(&secs)
                    .fetch_one(self.pool()),
            )
            .await?;
        Some(Slot {
            delay: Duration::from_secs_f64(delay.max(0.0)),
        })
    }

    /// Makes every replica wait out `cooldown` from now.
    pub(crate) async fn pause(&self, cooldown: Duration) {
        if !self.is_up() {
            return;
        }
        self.timed(
            "pause",
            sqlx::query(
                "UPDATE upstream_budget SET paused_until = greatest(coalesce(paused_until, '-infinity'), clock_timestamp() + make_interval(secs => $1))",
            )
            .bind(cooldown.as_secs_f64())
            .execute(self.pool()),
        )
        .await;
    }

    /// Mean time of one successful coordination statement, and how many failed.
    pub(crate) fn overhead(&self) -> (Duration, u64) {
        let n = self.ops.load(Ordering::Relaxed).max(1);
        (
            Duration::from_nanos(self.op_nanos.load(Ordering::Relaxed) / n),
            self.failures.load(Ordering::Relaxed),
        )
    }
}
