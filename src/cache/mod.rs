//! The cache tiers between the routes and the upstream: L1 in memory (moka, bounded in
//! bytes, holding ready-to-send identity and gzip bodies) in front of L2 in Postgres
//! (`crate::store`), keyed by the canonical request.
//!
//! Upstream quota is the scarcest resource here, so: concurrent identical misses share one
//! fetch (`flight`); an expired answer is served at once while one background refresh runs
//! (stale-while-revalidate); when the upstream fails, an expired answer is served marked
//! stale (stale-if-error); freshness follows the upstream's schedule (`freshness`); a newly
//! seen split invalidates the adjusted histories it rewrote (`splits`). Answers larger than
//! the page size are served in the proxy's own pages (`paging`).

mod entry;
pub mod flight;
mod invalidation;
mod miss;
pub mod paging;
mod stats;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::FutureExt;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::auth::Client;

use crate::envelope::{self, Merged};
use crate::error::ApiError;
use crate::jst::Clock;
use crate::request::CanonicalRequest;
use crate::rows::RowStore;
use crate::schedule::{freshness, splits};

use crate::store::{Store, StoredEntry};
use crate::upstream::{Upstream, UpstreamError};
use entry::Meta;
pub use entry::{CacheStatus, Entry, Served, Tier};
pub use paging::Page;
pub use stats::CacheStats;
use stats::Counters;

#[derive(Debug, Clone)]
pub struct CacheConfig {
    pub max_bytes: u64,
    pub max_page_bytes: usize,
    /// How long after expiry an answer may still be served while it is refreshed.
    pub stale_while_revalidate: Duration,
    /// The market row store the planner answers from (`crate::rows`).
    pub rows: crate::rows::RowConfig,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_bytes: 512 * 1024 * 1024,
            max_page_bytes: 5_000_000,
            stale_while_revalidate: Duration::hours(1),
            rows: Default::default(),
        }
    }
}

/// The single flight carries the upstream's own error (`Clone`), so every waiter gets the
/// same kind of failure; routes turn it into an `ApiError`.
type FetchResult = Result<Arc<Entry>, UpstreamError>;

/// An expired answer found on the way to a fetch, and the tier it came from.
type Stale = Option<(Arc<Entry>, Tier)>;

pub struct Cache {
    l1: moka::future::Cache<String, Arc<Entry>>,
    /// Answers still being paged through by clients (`paging`).
    snapshots: paging::Snapshots,
    store: Option<Arc<Store>>,
    rows: Arc<RowStore>,
    upstream: Upstream,
    flights: Arc<flight::Flights<Arc<Entry>, UpstreamError>>,
    /// Cross-replica single flight; with Postgres only.
    leases: Option<flight::Leases>,
    clock: Clock,
    cfg: CacheConfig,
    known_splits: parking_lot::Mutex<HashSet<(String, NaiveDate)>>,
    counters: Counters,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("cfg", &self.cfg)
            .field("l2", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

/// Failures where an older answer is better than none.
fn serve_stale_on(e: &UpstreamError) -> bool {
    match e {
        UpstreamError::Unavailable(_)
        | UpstreamError::QueueTimeout
        | UpstreamError::RateLimited => true,
        UpstreamError::Status { status, .. } => status.is_server_error() || status.as_u16() == 429,
    }
}

impl Cache {
    pub fn new(
        upstream: Upstream,
        store: Option<Arc<Store>>,
        clock: Clock,
        cfg: CacheConfig,
    ) -> Arc<Cache> {
        let l1 = moka::future::Cache::builder()
            .max_capacity(cfg.max_bytes)
            .weigher(|_k: &String, v: &Arc<Entry>| v.weight())
            .build();
        let snapshots = paging::Snapshots::new(cfg.max_bytes / 4);
        let pool = store.as_ref().map(|s| s.pool().clone());
        let rows = Arc::new(RowStore::new(pool, cfg.rows.clone()));
        let leases = store.as_ref().map(|s| {
            flight::Leases::new(
                s.pool().clone(),
                flight::holder_id(),
                upstream.sharing().lease(),
            )
        });
        Arc::new(Cache {
            l1,
            snapshots,
            store,
            rows,
            upstream,
            flights: Arc::default(),
            leases,
            clock,
            cfg,
            known_splits: Default::default(),
            counters: Counters::default(),
        })
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Answers larger than this are paged by the proxy (mirror and derived alike).
    pub fn max_page_bytes(&self) -> usize {
        self.cfg.max_page_bytes
    }

    pub fn store(&self) -> Option<&Arc<Store>> {
        self.store.as_ref()
    }

    pub fn rows(&self) -> &Arc<RowStore> {
        &self.rows
    }

    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// The answer to `req` for the proxy's own use (no client key of its own).
    pub async fn get(self: &Arc<Self>, req: &CanonicalRequest) -> Result<Served, ApiError> {
        self.get_as(req, &Client::proxy()).await
    }

    /// The answer to `req`, from the cheapest tier that has it fresh; a miss takes
    /// `client`'s turn in the fair upstream queue, and a client waits at most the bounded
    /// wait (then an expired answer, or 429 + Retry-After while the fetch lands in the cache).
    pub async fn get_as(
        self: &Arc<Self>,
        req: &CanonicalRequest,
        client: &Client,
    ) -> Result<Served, ApiError> {
        let now = self.clock.now();
        let key = req.key();
        let stale = match self.lookup(req, &key, now).await {
            Ok(fresh) => return Ok(fresh),
            Err(stale) => stale,
        };
        if let Some((s, tier)) = &stale
            && now < s.fresh_until + self.cfg.stale_while_revalidate
        {
            return Ok(self.revalidate(req, &key, client, s.clone(), *tier));
        }
        self.await_fetch(req, &key, client, stale).await
    }

    /// A fresh answer L1 holds, found without waiting: the hit path's lookup. `None` covers
    /// everything else (absent, expired, or this get's turn at moka's upkeep), which `get_as`
    /// answers. Not counted as a hit until [`Cache::served_from_memory`].
    pub fn peek_fresh(&self, key: &str) -> Option<Arc<Entry>> {
        // moka's future cache has no synchronous get. A present entry is returned on the
        // first poll; a get that would wait (moka applying its pending reads) is dropped,
        // which moka supports, and the request takes the full path.
        let e = self.l1.get(key).now_or_never().flatten()?;
        e.is_fresh(self.clock.now()).then_some(e)
    }

    /// `entry`, found by [`Cache::peek_fresh`], served: counted as an L1 hit.
    pub fn served_from_memory(&self, entry: Arc<Entry>) -> Served {
        self.counters.l1_hits.fetch_add(1, Ordering::Relaxed);
        Served::hit(entry, Tier::L1)
    }

    /// A fresh answer from L1, else from L2 (`Ok`); or the expired one found, if any.
    async fn lookup(
        &self,
        req: &CanonicalRequest,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Served, Stale> {
        if let Some(e) = self.l1.get(key).await {
            if e.is_fresh(now) {
                return Ok(self.served_from_memory(e));
            }
            return Err(Some((e, Tier::L1)));
        }
        let Some(store) = &self.store else {
            return Err(None);
        };
        let stored = store.get(key, req.endpoint.path).await.ok_or(None)?;
        match Entry::from_stored(stored, self.cfg.max_page_bytes) {
            Ok(e) => {
                let e = Arc::new(e);
                self.l1.insert(key.to_string(), e.clone()).await;
                if e.is_fresh(now) {
                    self.counters.l2_hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(Served::hit(e, Tier::L2));
                }
                Err(Some((e, Tier::L2)))
            }
            Err(err) => {
                tracing::warn!(key, error = %err, "unreadable stored answer; refetching");
                Err(None)
            }
        }
    }

    /// Serves an expired answer at once while one background refresh runs.
    fn revalidate(
        self: &Arc<Self>,
        req: &CanonicalRequest,
        key: &str,
        client: &Client,
        entry: Arc<Entry>,
        tier: Tier,
    ) -> Served {
        let (this, r, c) = (Arc::clone(self), req.clone(), client.queue_key());
        self.flights
            .spawn_if_idle(key, async move { this.fetch_once(r, c).await });
        self.counters.stale.fetch_add(1, Ordering::Relaxed);
        Served {
            entry,
            status: CacheStatus::Stale,
            tier,
        }
    }

    /// Starts or joins the fetch of `req` and waits for it at most the bounded wait; the
    /// expired answer, if any, stands in when the wait runs out or the upstream fails.
    async fn await_fetch(
        self: &Arc<Self>,
        req: &CanonicalRequest,
        key: &str,
        client: &Client,
        stale: Stale,
    ) -> Result<Served, ApiError> {
        let (this, r, c) = (Arc::clone(self), req.clone(), client.queue_key());
        let flight = self
            .flights
            .run(key, async move { this.fetch_once(r, c).await });
        let max_wait = self.upstream.sharing().max_wait();
        let Ok((out, joined)) = tokio::time::timeout(max_wait, flight).await else {
            // The fetch runs on in its own task and lands in the cache.
            return self.waited_too_long(key, client, stale);
        };
        match out {
            Ok(entry) => {
                let (status, tier) = match (joined, entry.from_rows) {
                    (true, _) => (CacheStatus::Coalesced, Tier::Upstream),
                    // Counted by the row store (`rows.answered_from_rows`), not as a miss.
                    (false, true) => (CacheStatus::Hit, Tier::Rows),
                    (false, false) => (CacheStatus::Miss, Tier::Upstream),
                };
                let counter = match status {
                    CacheStatus::Coalesced => Some(&self.counters.coalesced),
                    CacheStatus::Miss => Some(&self.counters.misses),
                    _ => None,
                };
                if let Some(c) = counter {
                    c.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Served {
                    entry,
                    status,
                    tier,
                })
            }
            Err(e) => match stale {
                Some((entry, tier)) if serve_stale_on(&e) => {
                    tracing::warn!(key, error = %e, "upstream failed; serving stale answer");
                    self.counters.stale.fetch_add(1, Ordering::Relaxed);
                    Ok(Served {
                        entry,
                        status: CacheStatus::Stale,
                        tier,
                    })
                }
                _ => Err(e.into()),
            },
        }
    }

    /// Answers `req` as a miss would, without consulting the response tiers first (the
    /// sync fills the row store this way even where a whole answer is cached).
    pub async fn fetch_now(
        self: &Arc<Self>,
        req: &CanonicalRequest,
    ) -> Result<Arc<Entry>, UpstreamError> {
        Arc::clone(self)
            .fetch(req.clone(), Client::proxy().queue_key())
            .await
    }

    /// Fetches of complete answers from upstream so far.
    pub fn upstream_fetches(&self) -> u64 {
        self.counters.upstream_fetches.load(Ordering::Relaxed)
    }

    /// Answers from the row store when its planner can, else fetches from upstream (and
    /// feeds the row store); stores in both tiers, and applies split invalidation.
    async fn fetch(self: Arc<Self>, req: CanonicalRequest, client: Arc<str>) -> FetchResult {
        let now = self.clock.now();
        let (merged, fresh_until, from_rows) =
            match self.rows.answer(&req, now, &self.upstream).await {
                Some(a) => {
                    let fresh = freshness::fresh_until(&req, now, a.merged.is_empty());
                    (a.merged, fresh.min(a.until), a.free)
                }
                None => {
                    let merged = self.fetch_upstream(&req, &client).await?;
                    let now = self.clock.now();
                    let fresh = freshness::fresh_until(&req, now, merged.is_empty());
                    self.rows.absorb(&req, &merged, now, fresh).await;
                    (merged, fresh, false)
                }
            };
        self.keep(req, merged, fresh_until, from_rows).await
    }

    /// The upstream's answer to `req` for `client`, neither kept in memory nor stored: for
    /// answers the proxy must not hold (a bulk link it cannot vouch for).
    pub async fn pass_through(
        &self,
        req: &CanonicalRequest,
        client: &Client,
    ) -> Result<Merged, ApiError> {
        Ok(self.fetch_upstream(req, &client.queue_key()).await?)
    }

    async fn fetch_upstream(
        &self,
        req: &CanonicalRequest,
        client: &Arc<str>,
    ) -> Result<Merged, UpstreamError> {
        self.counters
            .upstream_fetches
            .fetch_add(1, Ordering::Relaxed);
        let pages = self
            .upstream
            .fetch_pages(req, client)
            .await
            .inspect_err(|_| {
                self.counters
                    .upstream_errors
                    .fetch_add(1, Ordering::Relaxed);
            })?;
        envelope::merge(req.endpoint, pages).map_err(|e| {
            self.counters
                .upstream_errors
                .fetch_add(1, Ordering::Relaxed);
            UpstreamError::Unavailable(format!("unparseable upstream answer: {e:#}"))
        })
    }

    /// Stores an answer in both tiers and applies split invalidation.
    async fn keep(
        &self,
        req: CanonicalRequest,
        merged: Merged,
        fresh_until: DateTime<Utc>,
        from_rows: bool,
    ) -> FetchResult {
        let now = self.clock.now();
        let key = req.key();
        let code = req.code().map(str::to_string);
        let meta = Meta {
            endpoint: req.endpoint,
            key: key.clone(),
            code: code.clone(),
            last_date: req.last_date(),
            fetched_at: now,
            fresh_until,
            from_rows,
        };
        let entry = Arc::new(Entry::build(meta, merged, None, self.cfg.max_page_bytes));
        self.l1.insert(key.clone(), entry.clone()).await;
        if let Some(store) = &self.store {
            store
                .put(StoredEntry {
                    key,
                    endpoint: req.endpoint.path,
                    code,
                    last_date: entry.last_date,
                    body: entry.merged.body.clone(),
                    gzip: (!entry.gzip.is_empty()).then(|| entry.gzip.clone()),
                    etag: entry.etag.clone(),
                    row_count: i32::try_from(entry.merged.rows.len()).unwrap_or(i32::MAX),
                    fetched_at: now,
                    fresh_until,
                })
                .await;
        }
        if req.endpoint.path == splits::ADJUSTED_ENDPOINT {
            self.apply_splits(&entry).await;
        }
        Ok(entry)
    }
}
