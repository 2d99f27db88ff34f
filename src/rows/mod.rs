//! The market row store: upstream rows kept one by one, so the proxy answers from what it
//! holds rather than from remembered URLs. `shape` says which endpoints and how a row is
//! identified; `coverage` which slices are complete and fresh; `planner` decides per request;
//! `mem` holds rows in memory (bounded), `pg` in Postgres (optional); `days` treats a
//! whole-market day as one unit (for the market computations and the bulk tier).
//!
//! Invariants: every answer assembled here is byte-identical to the upstream's answer to the
//! same request (the held rows as received, in the upstream's order, in its envelope); a
//! slice's coverage is recorded only after its rows; nothing here is answered from a slice
//! that freshness rules say may have changed. The cache calls [`RowStore::answer`] before
//! spending an upstream call and [`RowStore::absorb`] after one.

pub mod coverage;
mod days;
mod fetches;
pub mod holidays;
pub mod mem;
pub mod pg;
pub mod planner;
pub mod progress;
pub mod shape;

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;
use tokio::sync::OnceCell;

use crate::envelope::{self, Merged};
use crate::request::CanonicalRequest;
use crate::upstream::Upstream;
use coverage::{Dirty, OPEN_FROM, OPEN_TO, Slice};
pub use days::Filler;
use mem::{Held, Key};
use planner::{Plan, Read};
use shape::Row;

/// Settings of the row store.
#[derive(Debug, Clone)]
pub struct RowConfig {
    /// Bound of the rows held in memory, in bytes.
    pub max_bytes: usize,
    /// Off: the cache works on whole answers alone (what the benchmark compares against).
    pub enabled: bool,
}

impl Default for RowConfig {
    fn default() -> Self {
        Self {
            max_bytes: 256 * 1024 * 1024,
            enabled: true,
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct RowStats {
    /// Requests answered from held rows, without an upstream call.
    pub answered_from_rows: u64,
    /// Of those, closed-market days answered from the trading calendar.
    pub closed_days: u64,
    /// Whole histories re-fetched because a split rewrote them.
    pub split_rewrites: u64,
    /// Complete slices held (code histories and date cross-sections).
    pub slices: u64,
    /// Market rows held in memory, all datasets, count.
    pub rows_in_memory: u64,
    /// Size of the JSON text of the rows held in memory, bytes (kept within the row store's
    /// memory limit by evicting the slices fetched longest ago).
    pub memory_bytes: u64,
    /// Days the held trading calendar (`/markets/calendar`) covers, count.
    pub calendar_days: u64,
    /// The current or last `sync` (CLI or scheduled).
    pub sync: progress::SyncStats,
}

/// An answer assembled from held rows.
#[derive(Debug)]
pub struct Answered {
    pub merged: Merged,
    /// Until when it is fresh at most.
    pub until: DateTime<Utc>,
    /// True when it cost no upstream call (the response cache reports it as a hit).
    pub free: bool,
}

pub struct RowStore {
    held: Mutex<Held>,
    pool: Option<PgPool>,
    loaded: OnceCell<()>,
    cfg: RowConfig,
    answered: AtomicU64,
    closed: AtomicU64,
    rewrites: AtomicU64,
    progress: progress::Progress,
    /// When the planner last fetched the calendar itself.
    calendar_tried: tokio::sync::Mutex<Option<DateTime<Utc>>>,
    /// Weak: the filler holds the cache that holds this store.
    filler: std::sync::OnceLock<std::sync::Weak<dyn Filler>>,
}

impl std::fmt::Debug for RowStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowStore")
            .field("postgres", &self.pool.is_some())
            .finish_non_exhaustive()
    }
}

impl RowStore {
    pub fn new(pool: Option<PgPool>, cfg: RowConfig) -> RowStore {
        RowStore {
            held: Mutex::default(),
            pool,
            loaded: OnceCell::new(),
            cfg,
            answered: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            rewrites: AtomicU64::new(0),
            progress: Default::default(),
            calendar_tried: Default::default(),
            filler: Default::default(),
        }
    }

    fn held(&self) -> parking_lot::MutexGuard<'_, Held> {
        self.held.lock()
    }

    /// Coverage, calendar and splits from Postgres, once.
    async fn ensure_loaded(&self) {
        self.loaded
            .get_or_init(|| async {
                let Some(pool) = &self.pool else { return };
                let Some(l) = pg::load(pool).await else {
                    return;
                };
                let mut h = self.held();
                h.calendar = l.calendar;
                for (path, cov) in l.coverage {
                    if let Some(ep) = crate::catalog::find(&path) {
                        h.table(ep.path).cov = cov;
                    }
                }
                for (code, ex_date) in l.splits {
                    let d = Dirty {
                        ex_date,
                        published: crate::schedule::splits::published_at(ex_date),
                    };
                    let path = crate::schedule::splits::ADJUSTED_ENDPOINT;
                    h.table(path).cov.split(&code, d);
                }
            })
            .await;
    }

    /// The answer to `req` from held rows, if the planner can give one (possibly after
    /// fetching the trading calendar, a missing day or a split code's history through
    /// `upstream`).
    pub async fn answer(
        &self,
        req: &CanonicalRequest,
        now: DateTime<Utc>,
        upstream: &Upstream,
    ) -> Option<Answered> {
        let p = shape::planned(req.endpoint.path).filter(|p| self.cfg.enabled && p.answers(req))?;
        self.ensure_loaded().await;
        let window = crate::request::history_window(upstream.plan(), crate::jst::today(now));
        let (mut spent, mut asked_calendar, mut tried_fill) = (false, false, false);
        for _ in 0..5 {
            let plan = {
                let mut h = self.held();
                let Held { tables, calendar } = &mut *h;
                let cov = &tables.entry(p.ep.path).or_default().cov;
                planner::plan(p, req, cov, calendar, window, now)
            };
            match plan {
                // Before the calendar: a day's file answers closed days too.
                Plan::Fetch
                    if !tried_fill && shape::Shape::of(req) == Some(shape::Shape::Section) =>
                {
                    tried_fill = true;
                    let d = req.date_param("date")?;
                    // What the filler spends (a listing, a file) is upstream calls too.
                    spent |= self.try_fill(p.ep.path, d).await;
                }
                Plan::Fetch if !asked_calendar && self.calendar_may_help(p, req) => {
                    asked_calendar = true;
                    spent |= self.learn_calendar(now, upstream).await;
                }
                Plan::Fetch => return None,
                Plan::Rewrite(code) => {
                    self.rewrite(p, &code, upstream, now).await?;
                    spent = true;
                }
                Plan::Section(d) => {
                    let day = coverage::day_request(p.ep, d);
                    self.fetch_and_absorb(&day, upstream, now).await?;
                    spent = true;
                }
                Plan::Local { read, until } => {
                    let closed = read == Read::Empty;
                    let rows = self.read(p.ep, read).await?;
                    self.answered.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!("jqp_rows_answers_total", "endpoint" => p.ep.path)
                        .increment(1);
                    if closed {
                        self.closed.fetch_add(1, Ordering::Relaxed);
                    }
                    let merged = envelope::from_rows(&rows);
                    let free = !spent;
                    return Some(Answered {
                        merged,
                        until,
                        free,
                    });
                }
            }
        }
        None
    }

    /// The rows `read` names, from memory or else Postgres.
    async fn read(
        &self,
        ep: &'static crate::catalog::Endpoint,
        read: Read,
    ) -> Option<Vec<bytes::Bytes>> {
        {
            let mut h = self.held();
            let t = h.table(ep.path);
            match &read {
                Read::Empty => return Some(vec![]),
                Read::Code { code, from, to } if t.code_resident(code, *from, *to) => {
                    return Some(t.code_rows(code, *from, *to));
                }
                Read::Date(d) if t.date_resident(*d) => return Some(t.date_rows(*d)),
                Read::CodeOnDays { code, days } if days.iter().all(|d| t.date_resident(*d)) => {
                    return Some(days.iter().filter_map(|d| t.row(code, *d)).collect());
                }
                _ => {}
            }
        }
        let pool = self.pool.as_ref()?;
        let rows = match &read {
            Read::Empty => vec![],
            Read::Code { code, from, to } => pg::code_rows(pool, ep, code, *from, *to).await?,
            Read::Date(d) => pg::date_rows(pool, ep, *d).await?,
            Read::CodeOnDays { code, days } => pg::code_day_rows(pool, ep, code, days).await?,
        };
        Some(rows.into_iter().map(|r| r.raw).collect())
    }

    /// Stores the rows of an upstream answer to `req` and the slice they complete.
    pub async fn absorb(
        &self,
        req: &CanonicalRequest,
        merged: &Merged,
        fetched_at: DateTime<Utc>,
        fresh_until: DateTime<Utc>,
    ) {
        if !self.cfg.enabled {
            return;
        }
        if req.endpoint.path == pg::CALENDAR {
            return self.absorb_calendar(req, merged, fetched_at).await;
        }
        let Some(p) = shape::planned(req.endpoint.path).filter(|p| p.answers(req)) else {
            return;
        };
        let ep = p.ep;
        let Some((code, key)) = slice_key(req) else {
            return;
        };
        let Some(rows) = merged
            .rows
            .iter()
            .map(|r| shape::identify(p, r))
            .collect::<Option<Vec<Row>>>()
        else {
            tracing::warn!(
                endpoint = ep.path,
                "rows without their identity; not stored"
            );
            return;
        };
        let (from, to) = match &key {
            Key::Code(_, f, t) => (*f, *t),
            Key::Date(d) => (*d, *d),
        };
        let slice = Slice {
            from,
            to,
            fetched_at,
            fresh_until,
        };
        if let Some(pool) = &self.pool {
            // On failure memory still holds the slice; Postgres lacks it, so nothing claims it.
            pg::write_slice(pool, ep.path, &code, slice, &rows).await;
        }
        let mut h = self.held();
        let t = h.table(ep.path);
        t.insert(&rows);
        t.mark_resident(key.clone(), fetched_at);
        match key {
            Key::Date(d) => t.cov.add_date(d, slice),
            Key::Code(c, ..) => t.cov.add_code(&c, slice),
        }
        h.shrink_to(self.cfg.max_bytes, self.pool.is_none());
    }

    /// A split newly seen on `code`'s ex-date: its older adjusted rows are wrong now.
    pub async fn split(&self, path: &'static str, code: &str, ex_date: NaiveDate) {
        self.ensure_loaded().await;
        let d = Dirty {
            ex_date,
            published: crate::schedule::splits::published_at(ex_date),
        };
        if let Some(pool) = &self.pool {
            pg::split(pool, path, code, d).await;
        }
        self.held().table(path).cov.split(code, d);
    }

    /// Drops rows and coverage by endpoint and/or code.
    pub async fn purge(&self, path: Option<&'static str>, code: Option<&str>) {
        if let Some(pool) = &self.pool {
            pg::purge(pool, path, code).await;
        }
        let mut h = self.held();
        for (p, t) in h.tables.iter_mut() {
            if path.is_none_or(|x| x == *p) {
                t.purge(code);
            }
        }
    }

    /// Business days of `[from, to]` per the held calendar, if it covers them.
    pub async fn business_days(&self, from: NaiveDate, to: NaiveDate) -> Option<Vec<NaiveDate>> {
        self.ensure_loaded().await;
        self.held().calendar.business_days(from, to)
    }

    pub fn progress(&self) -> &progress::Progress {
        &self.progress
    }

    pub fn stats(&self) -> RowStats {
        let h = self.held();
        RowStats {
            answered_from_rows: self.answered.load(Ordering::Relaxed),
            closed_days: self.closed.load(Ordering::Relaxed),
            split_rewrites: self.rewrites.load(Ordering::Relaxed),
            slices: h.tables.values().map(|t| t.cov.slices() as u64).sum(),
            rows_in_memory: h.tables.values().map(|t| t.rows() as u64).sum(),
            memory_bytes: h.bytes() as u64,
            calendar_days: h.calendar.len() as u64,
            sync: self.progress.snapshot(),
        }
    }
}

/// The slice a complete answer to `req` fills, with the code it is stored under ('' for a
/// date's cross-section).
fn slice_key(req: &CanonicalRequest) -> Option<(String, Key)> {
    let date = req.date_param("date");
    match (req.get("code"), date) {
        (None, Some(d)) => Some((String::new(), Key::Date(d))),
        (Some(c), Some(d)) => Some((c.to_string(), Key::Code(c.to_string(), d, d))),
        (Some(c), None) => {
            let from = req.date_param("from").unwrap_or(OPEN_FROM);
            let to = req.date_param("to").unwrap_or(OPEN_TO);
            Some((c.to_string(), Key::Code(c.to_string(), from, to)))
        }
        (None, None) => None,
    }
}
