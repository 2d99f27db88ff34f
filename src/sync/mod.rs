//! Sync: fills the market row store ahead of demand, inside the upstream rate limit (every
//! call goes through the same `Upstream`). Where the plan has bulk files, whole months come
//! from the monthly files first (`files`: one listing, one call per month, and one
//! comparison call that proves the files' rows byte-identical to the API's); the days no
//! monthly file covers (the current month) and every day of a dataset whose files differ from
//! the API come as one date cross-section each (~245 calls per year and dataset). `estimate`
//! says what either way costs without spending anything (`sync --dry-run`).
//!
//! Invariants: a slice's rows and coverage are committed together (`rows::pg`), and a file's
//! rows are kept in Postgres once ingested, so a killed sync resumes where it stopped and
//! never re-fetches a completed slice or file that is still fresh; the calendar is fetched
//! first (one call) unless held; days after today are not asked for.

pub mod estimate;
mod files;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::NaiveDate;

use crate::bulk::BulkHistory;
use crate::cache::Cache;
use crate::catalog::Endpoint;
use crate::request::{self, CanonicalRequest};
use crate::rows::progress::{Progress, SyncStats};
use crate::rows::shape;

/// What to sync.
#[derive(Debug, Clone)]
pub struct SyncJob {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub datasets: Vec<&'static Endpoint>,
}

impl SyncJob {
    /// `datasets`: endpoint paths (with or without `/v2`); only planned endpoints can be synced.
    pub fn new(from: NaiveDate, to: NaiveDate, datasets: &[String]) -> anyhow::Result<SyncJob> {
        anyhow::ensure!(from <= to, "--from {from} is after --to {to}");
        let datasets = datasets
            .iter()
            .map(|p| {
                let p = p.trim().trim_start_matches("/v2");
                shape::planned(p).map(|p| p.ep).ok_or_else(|| {
                    anyhow::anyhow!(
                        "cannot sync {p}: syncable datasets are {}",
                        shape::paths().collect::<Vec<_>>().join(", ")
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!datasets.is_empty(), "no datasets to sync");
        Ok(SyncJob { from, to, datasets })
    }
}

fn request(path: &str, query: &str) -> anyhow::Result<CanonicalRequest> {
    let ep = crate::catalog::find(path).ok_or_else(|| anyhow::anyhow!("no endpoint {path}"))?;
    Ok(request::parse(ep, Some(query))
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .request)
}

/// What the CLI draws as the sync goes: `tick` after every slice and file, `file` when a bulk
/// file starts and ends.
#[derive(Clone, Copy)]
pub struct Watch<'a> {
    pub tick: &'a (dyn Fn(&Progress) + Sync),
    pub file: &'a (dyn Fn(files::FileEvent<'_>) + Sync),
}

impl Watch<'_> {
    /// Watching nothing (the scheduled sync, tests).
    pub fn none() -> Watch<'static> {
        Watch {
            tick: &|_| {},
            file: &|_| {},
        }
    }
}

pub use files::FileEvent;

/// Runs `job`, taking whole months from `bulk`'s files where it can.
pub async fn run(
    cache: &Arc<Cache>,
    bulk: Option<&BulkHistory>,
    job: &SyncJob,
    watch: Watch<'_>,
) -> anyhow::Result<SyncStats> {
    let rows = cache.rows().clone();
    let p = rows.progress();
    for a in [
        &p.slices_total,
        &p.slices_done,
        &p.slices_skipped,
        &p.rows,
        &p.upstream_calls,
        &p.errors,
        &p.files_total,
        &p.files_done,
    ] {
        a.store(0, Ordering::Relaxed);
    }
    p.running.store(true, Ordering::Relaxed);
    let result = sync_days(cache, bulk, job, p, watch).await;
    p.running.store(false, Ordering::Relaxed);
    p.publish();
    result.map(|()| p.snapshot())
}

async fn sync_days(
    cache: &Arc<Cache>,
    bulk: Option<&BulkHistory>,
    job: &SyncJob,
    p: &Progress,
    watch: Watch<'_>,
) -> anyhow::Result<()> {
    let rows = cache.rows().clone();
    let now = cache.clock().now();
    let (lo, _) = request::history_window(cache.upstream().plan(), crate::jst::today(now));
    let from = job.from.max(lo);
    let to = job.to.min(crate::jst::today(now));
    if from > to {
        return Ok(());
    }
    let calls_before = cache.upstream_fetches();
    if rows.business_days(from, to).await.is_none() {
        let cal = request("/markets/calendar", &format!("from={from}&to={to}"))?;
        cache
            .fetch_now(&cal)
            .await
            .map_err(|e| anyhow::anyhow!("calendar: {e}"))?;
    }
    let days = rows
        .business_days(from, to)
        .await
        .ok_or_else(|| anyhow::anyhow!("the upstream calendar does not cover {from}..{to}"))?;
    p.slices_total
        .store((days.len() * job.datasets.len()) as u64, Ordering::Relaxed);
    for ep in &job.datasets {
        if let Some(bulk) = bulk {
            files::load_months(cache, bulk, ep.path, &days, p, watch).await;
            p.upstream_calls
                .store(cache.upstream_fetches() - calls_before, Ordering::Relaxed);
        }
        for d in &days {
            if rows.has_date(ep.path, *d, cache.clock().now()).await {
                p.slices_skipped.fetch_add(1, Ordering::Relaxed);
            } else {
                let req = request(ep.path, &format!("date={d}"))?;
                match cache.fetch_now(&req).await {
                    Ok(e) => {
                        p.rows
                            .fetch_add(e.merged.rows.len() as u64, Ordering::Relaxed);
                    }
                    Err(e) => {
                        p.errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(endpoint = ep.path, date = %d, error = %e, "sync: slice failed");
                    }
                }
            }
            p.slices_done.fetch_add(1, Ordering::Relaxed);
            p.upstream_calls
                .store(cache.upstream_fetches() - calls_before, Ordering::Relaxed);
            p.publish();
            (watch.tick)(p);
        }
    }
    Ok(())
}

/// Settings of the sync `serve` runs on a schedule. [`Default`]: off, a week back.
#[derive(clap::Args, Debug, Clone)]
pub struct ScheduleArgs {
    /// Endpoint paths to keep synced in the background, each run shortly after the datasets'
    /// JST update time (comma separated; empty: off).
    #[arg(long, env = "JQP_SYNC_DATASETS", value_delimiter = ',')]
    pub sync_datasets: Vec<String>,
    /// Days back (from today) each scheduled run covers; held fresh days cost nothing.
    #[arg(long, env = "JQP_SYNC_DAYS", default_value_t = ScheduleArgs::default().sync_days)]
    pub sync_days: u32,
}

impl Default for ScheduleArgs {
    fn default() -> Self {
        Self {
            sync_datasets: vec![],
            sync_days: 7,
        }
    }
}

/// How long after a dataset's update time the scheduled run starts (the upstream is late
/// sometimes; an early run only fetches an empty day again).
const AFTER_UPDATE: chrono::Duration = chrono::Duration::minutes(15);

/// Starts the scheduled sync if datasets are configured; validates them first.
pub fn spawn_schedule(cache: Arc<Cache>, cfg: &ScheduleArgs) -> anyhow::Result<()> {
    if cfg.sync_datasets.iter().all(|d| d.trim().is_empty()) {
        return Ok(());
    }
    let today = crate::jst::today(cache.clock().now());
    SyncJob::new(today, today, &cfg.sync_datasets)?;
    let cfg = cfg.clone();
    tokio::spawn(async move {
        loop {
            let now = cache.clock().now();
            let today = crate::jst::today(now);
            let from = today - chrono::Duration::days(i64::from(cfg.sync_days));
            let Ok(job) = SyncJob::new(from, today, &cfg.sync_datasets) else {
                return;
            };
            // A week at most: day by day (a month's file would not be cheaper).
            match run(&cache, None, &job, Watch::none()).await {
                Ok(s) => tracing::info!(?s, "scheduled sync done"),
                Err(e) => tracing::warn!(error = %e, "scheduled sync failed"),
            }
            let next = job
                .datasets
                .iter()
                .map(|e| crate::schedule::freshness::next_change(e.dataset, now))
                .min()
                .unwrap_or(now)
                + AFTER_UPDATE;
            let wait = (next - cache.clock().now())
                .to_std()
                .unwrap_or_default()
                .max(std::time::Duration::from_secs(60));
            tokio::time::sleep(wait).await;
        }
    });
    Ok(())
}
