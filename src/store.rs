//! The Postgres tier (L2): every answer fetched survives a restart.
//!
//! Postgres is optional and allowed to fail. Every operation has a short deadline; on an
//! error the store marks itself degraded, reads skip it, and writes wait in a bounded
//! in-memory queue that a background task flushes once Postgres answers again, so nothing
//! fetched while it was down is lost (up to [`PENDING_MAX_BYTES`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};
use tokio::sync::Mutex;

/// Writes kept while Postgres is down; beyond this the oldest are dropped (and counted).
pub const PENDING_MAX_BYTES: usize = 256 * 1024 * 1024;
const OP_TIMEOUT: Duration = Duration::from_secs(3);

/// One cached answer as stored.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub key: String,
    pub endpoint: &'static str,
    pub code: Option<String>,
    pub last_date: Option<NaiveDate>,
    /// Identity body, as served.
    pub body: Bytes,
    /// The same body gzip-compressed, when known: stored instead of `body` (smaller, and no
    /// recompression when loaded back).
    pub gzip: Option<Bytes>,
    pub etag: String,
    pub row_count: i32,
    pub fetched_at: DateTime<Utc>,
    pub fresh_until: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize, utoipa::ToSchema)]
pub struct StoreStats {
    /// Whether Postgres answered its last operation; false until it is reachable and
    /// migrated, and after a failure until the recovery task reconnects.
    pub healthy: bool,
    /// Rows in `cached_response` (None when Postgres cannot be asked).
    pub entries: Option<i64>,
    /// Bytes of stored bodies.
    pub bytes: Option<i64>,
    /// Answers queued in memory to be written once Postgres is back, count.
    pub pending_writes: usize,
    /// Queued answers dropped (oldest first) because the queue exceeded its byte limit, count
    /// since start.
    pub dropped_writes: u64,
    /// Postgres operations that failed or timed out, count since start.
    pub errors: u64,
}

impl StoredEntry {
    /// The bytes written to Postgres and their encoding.
    fn stored(&self) -> (&[u8], &'static str) {
        match &self.gzip {
            Some(z) if !z.is_empty() => (z, "gzip"),
            _ => (&self.body, "identity"),
        }
    }
}

pub struct Store {
    pool: PgPool,
    healthy: AtomicBool,
    migrated: AtomicBool,
    pending: Mutex<VecDeque<StoredEntry>>,
    pending_bytes: AtomicU64,
    dropped: AtomicU64,
    errors: AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("healthy", &self.is_healthy())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Connects lazily and migrates; a Postgres that is down at start-up leaves the store
    /// degraded (not fatal): the recovery task migrates once it can connect.
    pub async fn connect(url: &str) -> anyhow::Result<Arc<Store>> {
        let opts: PgConnectOptions = url.parse()?;
        Self::with_options(opts).await
    }

    pub async fn with_options(opts: PgConnectOptions) -> anyhow::Result<Arc<Store>> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(opts);
        let store = Arc::new(Store {
            pool,
            healthy: AtomicBool::new(false),
            migrated: AtomicBool::new(false),
            pending: Mutex::new(VecDeque::new()),
            pending_bytes: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        });
        if let Err(e) = store.try_recover().await {
            tracing::warn!(error = %e, "Postgres unavailable at start-up; running on the memory cache until it returns");
        }
        Arc::clone(&store).spawn_recovery();
        Ok(store)
    }

    /// The connection pool, shared with the row store (`crate::rows`) and replica
    /// coordination (`upstream::shared`, `cache::flight`), which share its health.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    fn fail(&self, what: &str, e: impl std::fmt::Display) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("jqp_store_errors_total", "op" => what.to_string()).increment(1);
        if self.healthy.swap(false, Ordering::Relaxed) {
            tracing::warn!(op = what, error = %e, "Postgres failed; cache degraded to memory only");
        }
    }

    async fn timed<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Option<T> {
        within_or(OP_TIMEOUT, fut, |e| self.fail(what, e)).await
    }

    /// Runs one write statement while the store is healthy; `None` when it is not or the
    /// statement failed (the failure marks the store unhealthy).
    async fn write(
        &self,
        what: &str,
        statement: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Option<sqlx::postgres::PgQueryResult> {
        if !self.is_healthy() {
            return None;
        }
        self.timed(what, statement.execute(&self.pool)).await
    }

    /// Migrates if needed, then flushes queued writes. Marks the store healthy on success.
    async fn try_recover(&self) -> anyhow::Result<()> {
        tokio::time::timeout(OP_TIMEOUT, sqlx::query("SELECT 1").execute(&self.pool)).await??;
        if !self.migrated.load(Ordering::Relaxed) {
            tokio::time::timeout(
                Duration::from_secs(30),
                sqlx::migrate!("./migrations").run(&self.pool),
            )
            .await??;
            self.migrated.store(true, Ordering::Relaxed);
        }
        loop {
            let next = self.pending.lock().await.pop_front();
            let Some(e) = next else { break };
            let len = e.stored().0.len() as u64;
            if let Err(err) = tokio::time::timeout(OP_TIMEOUT, self.upsert(&e)).await? {
                self.pending.lock().await.push_front(e);
                return Err(err.into());
            }
            self.pending_bytes.fetch_sub(len, Ordering::Relaxed);
        }
        if !self.healthy.swap(true, Ordering::Relaxed) {
            tracing::info!("Postgres available; cache tier L2 active");
        }
        Ok(())
    }

    fn spawn_recovery(self: Arc<Self>) {
        let weak = Arc::downgrade(&self);
        drop(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let Some(store) = weak.upgrade() else { return };
                let has_pending = !store.pending.lock().await.is_empty();
                if (!store.is_healthy() || has_pending)
                    && let Err(e) = store.try_recover().await
                {
                    tracing::debug!(error = %e, "Postgres still unavailable");
                }
            }
        });
    }

    async fn upsert(&self, e: &StoredEntry) -> Result<(), sqlx::Error> {
        let (stored, encoding) = e.stored();
        sqlx::query(
            "INSERT INTO cached_response (key, endpoint, code, last_date, body, body_encoding, etag, row_count, fetched_at, fresh_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (key) DO UPDATE SET endpoint = EXCLUDED.endpoint, code = EXCLUDED.code,
               last_date = EXCLUDED.last_date, body = EXCLUDED.body, body_encoding = EXCLUDED.body_encoding, etag = EXCLUDED.etag,
               row_count = EXCLUDED.row_count, fetched_at = EXCLUDED.fetched_at, fresh_until = EXCLUDED.fresh_until",
        )
        .bind(&e.key)
        .bind(e.endpoint)
        .bind(&e.code)
        .bind(e.last_date)
        .bind(stored)
        .bind(encoding)
        .bind(&e.etag)
        .bind(e.row_count)
        .bind(e.fetched_at)
        .bind(e.fresh_until)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// Stores an answer, or queues it while Postgres is unavailable.
    pub async fn put(&self, e: StoredEntry) {
        if self.is_healthy() && self.timed("put", self.upsert(&e)).await.is_some() {
            return;
        }
        let len = e.stored().0.len() as u64;
        let mut q = self.pending.lock().await;
        q.retain(|p| p.key != e.key);
        q.push_back(e);
        self.pending_bytes.fetch_add(len, Ordering::Relaxed);
        while self.pending_bytes.load(Ordering::Relaxed) as usize > PENDING_MAX_BYTES {
            let Some(old) = q.pop_front() else { break };
            self.pending_bytes
                .fetch_sub(old.stored().0.len() as u64, Ordering::Relaxed);
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub async fn get(&self, key: &str, endpoint: &'static str) -> Option<StoredEntry> {
        if let Some(p) = self
            .pending
            .lock()
            .await
            .iter()
            .rev()
            .find(|p| p.key == key)
        {
            return Some(p.clone());
        }
        if !self.is_healthy() {
            return None;
        }
        let row = self
            .timed(
                "get",
                sqlx::query(
                    "SELECT code, last_date, body, body_encoding, etag, row_count, fetched_at, fresh_until FROM cached_response WHERE key = $1",
                )
                .bind(key)
                .fetch_optional(&self.pool),
            )
            .await??;
        let stored = Bytes::from(row.get::<Vec<u8>, _>("body"));
        let (body, gzip) = match row.get::<String, _>("body_encoding").as_str() {
            "gzip" => match gunzip(&stored) {
                Ok(b) => (b, Some(stored)),
                Err(e) => {
                    tracing::warn!(key, error = %e, "stored body does not decompress; refetching");
                    return None;
                }
            },
            _ => (stored, None),
        };
        Some(StoredEntry {
            key: key.to_string(),
            endpoint,
            code: row.get("code"),
            last_date: row.get("last_date"),
            body,
            gzip,
            etag: row.get("etag"),
            row_count: row.get("row_count"),
            fetched_at: row.get("fetched_at"),
            fresh_until: row.get("fresh_until"),
        })
    }

    /// Deletes answers by endpoint and/or code; returns how many rows went.
    pub async fn purge(&self, endpoint: Option<&str>, code: Option<&str>) -> u64 {
        let mut q = self.pending.lock().await;
        q.retain(|p| {
            !(endpoint.is_none_or(|e| p.endpoint == e)
                && code.is_none_or(|c| p.code.as_deref() == Some(c)))
        });
        drop(q);
        self.write(
            "purge",
            sqlx::query("DELETE FROM cached_response WHERE ($1::text IS NULL OR endpoint = $1) AND ($2::text IS NULL OR code = $2)")
                .bind(endpoint)
                .bind(code),
        )
        .await
        .map_or(0, |r| r.rows_affected())
    }

    /// Records a split; true if it was not known before (so it must invalidate).
    pub async fn record_split(
        &self,
        code: &str,
        ex_date: NaiveDate,
        factor: f64,
        seen_at: DateTime<Utc>,
    ) -> Option<bool> {
        let insert = sqlx::query(
            "INSERT INTO split_event (code, ex_date, factor, seen_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        );
        self.write(
            "split",
            insert.bind(code).bind(ex_date).bind(factor).bind(seen_at),
        )
        .await
        .map(|r| r.rows_affected() == 1)
    }

    /// Deletes stored answers of `endpoint` holding `code`'s history before `ex_date` that
    /// were fetched before `published`: they carry pre-split adjusted values.
    pub async fn invalidate_split(
        &self,
        endpoint: &str,
        code: &str,
        ex_date: NaiveDate,
        published: DateTime<Utc>,
    ) -> u64 {
        let delete = sqlx::query(
            "DELETE FROM cached_response WHERE endpoint = $1 AND fetched_at < $4
               AND (code = $2 OR (code IS NULL AND (last_date IS NULL OR last_date < $3)))",
        );
        let bound = delete
            .bind(endpoint)
            .bind(code)
            .bind(ex_date)
            .bind(published);
        self.write("invalidate", bound)
            .await
            .map_or(0, |r| r.rows_affected())
    }

    pub async fn stats(&self) -> StoreStats {
        let mut s = StoreStats {
            healthy: self.is_healthy(),
            pending_writes: self.pending.lock().await.len(),
            dropped_writes: self.dropped.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            ..Default::default()
        };
        if s.healthy
            && let Some(row) = self
                .timed(
                    "stats",
                    sqlx::query("SELECT count(*) AS n, coalesce(sum(length(body)), 0)::bigint AS b FROM cached_response")
                        .fetch_one(&self.pool),
                )
                .await
        {
            s.entries = Some(row.get("n"));
            s.bytes = Some(row.get("b"));
        }
        s
    }

    /// Readiness probe: one quick query.
    pub async fn ping(&self) -> bool {
        self.timed("ping", sqlx::query("SELECT 1").execute(&self.pool))
            .await
            .is_some()
    }
}

/// Why one Postgres statement gave no value.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StatementError {
    #[error(transparent)]
    Failed(#[from] sqlx::Error),
    #[error("timed out")]
    TimedOut,
}

/// Runs one statement with a deadline, so that a stalled database degrades a caller instead of
/// blocking it.
pub(crate) async fn within<T>(
    limit: Duration,
    statement: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, StatementError> {
    match tokio::time::timeout(limit, statement).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(StatementError::TimedOut),
    }
}

/// [`within`], handing a failure to `failed` (which counts it and degrades its owner) and
/// giving `None` for it: the one way the store and replica coordination run a statement.
pub(crate) async fn within_or<T>(
    limit: Duration,
    statement: impl Future<Output = Result<T, sqlx::Error>>,
    failed: impl FnOnce(StatementError),
) -> Option<T> {
    within(limit, statement).await.map_err(failed).ok()
}

fn gunzip(z: &[u8]) -> std::io::Result<Bytes> {
    let mut out = Vec::with_capacity(z.len() * 4);
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(z), &mut out)?;
    Ok(Bytes::from(out))
}
