//! The market-data service: everything the derived routes need from the upstream, read
//! through a [`Source`] (today the response cache) and handed to the pure functions of
//! `crate::derived`. Per issue it reads whole histories (one cached answer per code and
//! dataset serves every range); for the whole market it reads date cross-sections, reduced
//! once to digests (`digest`) and memoised with the rows computed from them (`margin`).
//!
//! Invariants: every request it sends passes the same admission as a client's
//! ([`crate::request::admit`]), so the proxy's own reads never cost a call the upstream would
//! refuse; its memos belong to one application (fields here, never statics) and serve only
//! what the source still holds fresh; a whole-market read never gives up on one slow
//! cross-section while the others load (see [`MarketData::digest`]).

pub mod digest;
mod issue;
pub mod jobs;
pub mod margin;
pub mod source;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::{FutureExt, StreamExt, TryStreamExt};

use crate::catalog::{self, FINS_PER_MINUTE, Plan};
use crate::derived::Row;
use crate::derived::margin_market::MarketMarginRow;
use crate::error::{ApiError, ApiResult};
use crate::jst::Clock;
use crate::request::CanonicalRequest;
use crate::upstream::UpstreamConfig;
use digest::{Digest, DigestMemo, Held};
pub use issue::Dividends;
use jobs::{Jobs, Pace, Prepared, Tally};
pub use margin::MarketRange;
pub use source::{BulkFirst, CacheSource, Snapshot, Source};

/// Cross-sections fetched at once.
const CONCURRENCY: usize = 8;
/// How often one cross-section is asked again after the source's bounded wait ran out.
const MAX_REWAITS: u32 = 60;

/// The market-data service's settings.
#[derive(Debug, Clone)]
pub struct MarketConfig {
    /// How long a request waits for a whole-market job before it answers with the job's
    /// progress (a client may ask for longer with `Prefer: wait=N`).
    pub wait: Duration,
}

impl Default for MarketConfig {
    fn default() -> Self {
        Self {
            wait: Duration::from_secs(10),
        }
    }
}

pub struct MarketData {
    source: Arc<dyn Source>,
    plan: Plan,
    /// Reads a second the plan allows: the base of a job's estimate.
    pace: Pace,
    clock: Clock,
    cfg: MarketConfig,
    digests: DigestMemo,
    computed: margin::ComputedMemo,
    jobs: Arc<Jobs<Arc<Vec<MarketMarginRow>>>>,
}

impl MarketData {
    /// The service reading from `source` for the subscription `upstream` describes.
    pub fn new(
        source: Arc<dyn Source>,
        upstream: &UpstreamConfig,
        clock: Clock,
        cfg: MarketConfig,
    ) -> MarketData {
        let per_second = |per_window: u32| {
            f64::from(per_window.max(1)) / upstream.rate_window.as_secs_f64().max(1e-3)
        };
        let plan = upstream.plan;
        MarketData {
            source,
            plan,
            pace: Pace {
                per_second: per_second(plan.per_minute()),
                statements_per_second: per_second(plan.per_minute().min(FINS_PER_MINUTE)),
            },
            clock,
            cfg,
            digests: DigestMemo::default(),
            computed: margin::ComputedMemo::default(),
            jobs: Arc::default(),
        }
    }

    /// How long a request waits for a job unless the client asks otherwise.
    pub fn default_wait(&self) -> Duration {
        self.cfg.wait
    }

    /// Jobs running now, or failed in the last minute.
    pub fn job_stats(&self) -> Vec<jobs::JobStats> {
        self.jobs.stats(self.pace)
    }

    /// The market rows of `m` if they are ready within `wait`, else the progress of the job
    /// preparing them (which runs on whether or not anyone waits); the job's error if it
    /// failed.
    pub async fn market_margin_within(
        self: &Arc<Self>,
        m: &MarketRange,
        wait: Duration,
    ) -> ApiResult<Prepared<Arc<Vec<MarketMarginRow>>>> {
        let what = format!(
            "the market-wide margin table from {} to {}{}",
            m.from,
            m.to,
            m.segment.map(|s| format!(" ({s})")).unwrap_or_default()
        );
        let (this, range) = (Arc::clone(self), m.clone());
        let job = self.jobs.start(&m.key(), what, move |progress| async move {
            this.market_margin_tracked(&range, &progress).await
        });
        job.within(wait, self.pace).await
    }

    /// The request for `path?query`, admitted as a client's would be.
    fn request(&self, path: &str, query: &str) -> ApiResult<CanonicalRequest> {
        let ep = catalog::find(path)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("{path} not in catalog")))?;
        let today = crate::jst::today(self.clock.now());
        Ok(crate::request::admit(ep, Some(query), self.plan, today)?.request)
    }

    /// Whether the plan admits `path?query` (the upstream's 403 or 400 if not), spending
    /// nothing.
    pub(super) fn admit(&self, path: &str, query: &str) -> ApiResult<()> {
        self.request(path, query).map(|_| ())
    }

    /// Rows of one upstream request, parsed (a per-issue input).
    async fn rows(&self, path: &str, query: &str) -> ApiResult<Vec<Row>> {
        let req = self.request(path, query)?;
        let snap = self.source.snapshot(&req).await?;
        snap.rows
            .iter()
            .map(|r| {
                serde_json::from_slice::<Row>(r)
                    .map_err(|e| ApiError::Internal(anyhow::anyhow!("row of {path}: {e}")))
            })
            .collect()
    }

    /// One whole-market answer as a digest: from the memo while fresh, else from the source.
    pub async fn digest(&self, path: &'static str, query: String) -> ApiResult<Arc<Digest>> {
        let req = self.request(path, &query)?;
        let key = req.key();
        let held = self.digests.get(&key).await;
        if let Some(h) = &held
            && self.clock.now() < h.fresh_until
        {
            return Ok(h.digest.clone());
        }
        let snap = self.snapshot_waiting(&req).await?;
        let digest = match held {
            Some(h) if h.version == snap.version => h.digest.clone(),
            // Off the async workers: a whole-market day is thousands of rows, and a market
            // query parses hundreds of days, [`CONCURRENCY`] at a time, on every core.
            _ => {
                let rows = snap.rows;
                let parsed = tokio::task::spawn_blocking(move || digest::parse(path, &rows))
                    .await
                    .map_err(|e| ApiError::Internal(anyhow::anyhow!("digest of {path}: {e}")))?;
                Arc::new(parsed?)
            }
        };
        let held = Held {
            digest: digest.clone(),
            version: snap.version,
            fresh_until: snap.fresh_until,
        };
        self.digests.insert(key, held).await;
        Ok(digest)
    }

    /// The digests of `path` for each query, in order, [`CONCURRENCY`] at a time; each one
    /// read counts in `tally`.
    pub async fn digests(
        &self,
        path: &'static str,
        queries: impl Iterator<Item = String>,
        tally: &Tally,
    ) -> ApiResult<Vec<Arc<Digest>>> {
        let read = |q| {
            self.digest(path, q).inspect(|_| {
                tally.done.fetch_add(1, Ordering::Relaxed);
            })
        };
        futures::stream::iter(queries.map(read))
            .buffered(CONCURRENCY)
            .try_collect()
            .await
    }

    /// The digests of `path`'s date cross-sections on `dates`, in order, after letting the
    /// source fetch them in bulk (files, for the days that many cross-sections would cost).
    pub async fn day_digests(
        &self,
        path: &'static str,
        dates: &[chrono::NaiveDate],
        tally: &Tally,
    ) -> ApiResult<Vec<Arc<Digest>>> {
        self.prepare(path, dates).await;
        let q = |d: &chrono::NaiveDate| format!("date={}", crate::jst::fmt_date(*d));
        self.digests(path, dates.iter().map(q), tally).await
    }

    /// Lets the source fetch `path`'s cross-sections on `dates` in bulk. A failure only
    /// costs the bulk route: the days are then read one by one. A bounded wait that ran out
    /// is waited again, as for a cross-section (the listing kept its place).
    async fn prepare(&self, path: &str, dates: &[chrono::NaiveDate]) {
        for _ in 0..MAX_REWAITS {
            match self.source.prepare(path, dates).await {
                Err(ApiError::QueueWait { retry_after }) => {
                    tokio::time::sleep(Duration::from_secs(retry_after.clamp(1, 5))).await;
                }
                Err(e) => {
                    tracing::warn!(path, error = %e, "bulk files unavailable; reading day by day");
                    return;
                }
                Ok(()) => return,
            }
        }
    }

    /// The source's answer to `req`. A market query needs every one of its cross-sections, so
    /// when the source's bounded wait runs out (429 for a plain client) it asks again after
    /// the suggested pause: the fetch kept its place and runs on, so asking again joins it and
    /// costs no upstream call. Meanwhile the other cross-sections keep loading, rather than
    /// the whole query failing and a retry starting over.
    async fn snapshot_waiting(&self, req: &CanonicalRequest) -> ApiResult<Snapshot> {
        let mut rewaits = 0;
        loop {
            match self.source.snapshot(req).await {
                Err(ApiError::QueueWait { retry_after }) if rewaits < MAX_REWAITS => {
                    rewaits += 1;
                    let pause = std::time::Duration::from_secs(retry_after.clamp(1, 5));
                    tokio::time::sleep(pause).await;
                }
                other => return other,
            }
        }
    }
}
