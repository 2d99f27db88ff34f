//! Single flight: concurrent identical misses share one upstream fetch, within this process
//! ([`Flights`]) and across replicas sharing one Postgres ([`Leases`]).
//!
//! The fetch runs in its own task, so a client that disconnects does not cancel work other
//! clients wait for, and an answer already paid for in upstream quota is always stored.
//!
//! Across replicas: the replica that takes a request's lease (a row in `upstream_lease`)
//! fetches it; the others poll until its answer lands in Postgres. The holder renews the
//! lease while it works, so only a crashed holder's lease expires, and then the next
//! replica to ask takes over. Postgres being unreachable never blocks a fetch: each replica
//! then fetches for itself.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use sqlx::PgPool;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

type SharedFetch<T, E> = Shared<BoxFuture<'static, Result<T, E>>>;

pub struct Flights<T: Clone, E: Clone> {
    inflight: Mutex<HashMap<String, SharedFetch<T, E>>>,
}

impl<T, E> Default for Flights<T, E>
where
    T: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self {
            inflight: Mutex::new(HashMap::new()),
        }
    }
}

impl<T, E> Flights<T, E>
where
    T: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    /// Joins the flight for `key`, or starts `fetch` as it. Returns the result and whether
    /// this caller joined a flight another caller started.
    pub async fn run<F>(self: &Arc<Self>, key: &str, fetch: F) -> (Result<T, E>, bool)
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let (fut, joined) = {
            let mut map = self.inflight.lock();
            if let Some(f) = map.get(key) {
                (f.clone(), true)
            } else {
                let this = Arc::clone(self);
                let owned_key = key.to_string();
                let task = tokio::spawn(async move {
                    let out = fetch.await;
                    this.inflight.lock().remove(&owned_key);
                    out
                });
                let fut: BoxFuture<'static, Result<T, E>> = async move {
                    match task.await {
                        Ok(out) => out,
                        Err(e) => std::panic::resume_unwind(e.into_panic()),
                    }
                }
                .boxed();
                let shared = fut.shared();
                map.insert(key.to_string(), shared.clone());
                (shared, false)
            }
        };
        (fut.await, joined)
    }

    /// Starts `fetch` for `key` unless a flight is already under way; does not wait.
    pub fn spawn_if_idle<F>(self: &Arc<Self>, key: &str, fetch: F)
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        if self.inflight.lock().contains_key(key) {
            return;
        }
        let this = Arc::clone(self);
        let key = key.to_string();
        tokio::spawn(async move {
            let _ = this.run(&key, fetch).await;
        });
    }

    pub fn in_flight(&self) -> usize {
        self.inflight.lock().len()
    }
}

/// How often a replica waiting on another's lease looks for the answer.
const LEASE_POLL: Duration = Duration::from_millis(40);
const LEASE_OP_TIMEOUT: Duration = Duration::from_millis(1500);

/// Names this process among replicas: pid plus a random part (pids repeat across hosts).
pub fn holder_id() -> String {
    format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple())
}

/// Cross-replica fetch leases in Postgres.
pub struct Leases {
    pool: PgPool,
    /// This process, as written in `upstream_lease.holder`.
    holder: String,
    ttl: Duration,
}

/// What waiting on another replica's lease produced.
pub enum Across<T> {
    /// This replica holds the lease (or Postgres is unreachable): fetch, then release.
    Fetch(Option<HeldLease>),
    /// Another replica's answer landed.
    Landed(T),
}

/// A lease this replica holds; renewed in the background until released or dropped.
pub struct HeldLease {
    pool: PgPool,
    key: String,
    holder: String,
    renew: tokio::task::JoinHandle<()>,
}

impl HeldLease {
    /// Gives the lease up once the answer is stored (or the fetch failed).
    pub async fn release(self) {
        self.renew.abort();
        let q = sqlx::query("DELETE FROM upstream_lease WHERE key = $1 AND holder = $2")
            .bind(&self.key)
            .bind(&self.holder)
            .execute(&self.pool);
        let _ = tokio::time::timeout(LEASE_OP_TIMEOUT, q).await;
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        self.renew.abort();
    }
}

impl Leases {
    pub fn new(pool: PgPool, holder: String, ttl: Duration) -> Self {
        Self { pool, holder, ttl }
    }

    /// Takes the lease for `key` if it is free or expired. `Err` when Postgres cannot say.
    async fn try_take(&self, key: &str) -> Result<Option<HeldLease>, ()> {
        let q = sqlx::query_scalar::<_, String>(
            "INSERT INTO upstream_lease (key, holder, expires_at)
             VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3))
             ON CONFLICT (key) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
               WHERE upstream_lease.expires_at < clock_timestamp()
             RETURNING holder",
        )
        .bind(key)
        .bind(&self.holder)
        .bind(self.ttl.as_secs_f64())
        .fetch_optional(&self.pool);
        match tokio::time::timeout(LEASE_OP_TIMEOUT, q).await {
            Ok(Ok(Some(_))) => Ok(Some(self.held(key))),
            Ok(Ok(None)) => Ok(None),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "lease unavailable; fetching without it");
                Err(())
            }
            Err(_) => Err(()),
        }
    }

    fn held(&self, key: &str) -> HeldLease {
        let (pool, k, holder, ttl) = (
            self.pool.clone(),
            key.to_string(),
            self.holder.clone(),
            self.ttl,
        );
        let renew = tokio::spawn(async move {
            loop {
                tokio::time::sleep(ttl / 3).await;
                let q = sqlx::query(
                    "UPDATE upstream_lease SET expires_at = clock_timestamp() + make_interval(secs => $3)
                     WHERE key = $1 AND holder = $2",
                )
                .bind(&k)
                .bind(&holder)
                .bind(ttl.as_secs_f64())
                .execute(&pool);
                let _ = tokio::time::timeout(LEASE_OP_TIMEOUT, q).await;
            }
        });
        HeldLease {
            pool: self.pool.clone(),
            key: key.to_string(),
            holder: self.holder.clone(),
            renew,
        }
    }

    /// Waits until this replica may fetch `key` or another replica's answer has landed
    /// (`landed` looks for it). Checks `landed` before and after taking the lease, so an
    /// answer stored just before the lease was released is never fetched twice.
    pub async fn wait_turn<T, L, Fut>(&self, key: &str, landed: L) -> Across<T>
    where
        L: Fn() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let mut waited = false;
        loop {
            if waited && let Some(t) = landed().await {
                return Across::Landed(t);
            }
            match self.try_take(key).await {
                Err(()) => return Across::Fetch(None),
                Ok(Some(lease)) => {
                    if waited && let Some(t) = landed().await {
                        lease.release().await;
                        return Across::Landed(t);
                    }
                    return Across::Fetch(Some(lease));
                }
                Ok(None) => {
                    waited = true;
                    metrics::counter!("jqp_flight_lease_waits_total").increment(1);
                    tokio::time::sleep(LEASE_POLL).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let flights: Arc<Flights<u32, String>> = Arc::default();
        let calls = Arc::new(AtomicUsize::new(0));
        let mut handles = vec![];
        for _ in 0..50 {
            let flights = flights.clone();
            let calls = calls.clone();
            handles.push(tokio::spawn(async move {
                flights
                    .run("k", async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(7)
                    })
                    .await
            }));
        }
        let mut joined = 0;
        for h in handles {
            let (v, j) = h.await.unwrap();
            assert_eq!(v, Ok(7));
            joined += j as usize;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(joined, 49);
        assert_eq!(flights.in_flight(), 0);
        // A later call is a new flight.
        let (v, j) = flights
            .run("k", async { Err::<u32, _>("boom".to_string()) })
            .await;
        assert_eq!((v, j), (Err("boom".to_string()), false));
    }

    #[tokio::test]
    async fn a_cancelled_caller_does_not_cancel_the_fetch() {
        let flights: Arc<Flights<u32, String>> = Arc::default();
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let f2 = flights.clone();
        let h = tokio::spawn(async move {
            f2.run("k", async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                d.fetch_add(1, Ordering::SeqCst);
                Ok(1)
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        h.abort();
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }
}
