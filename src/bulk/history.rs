//! The bulk files as whole-market history: which files cover which days of a dataset, their
//! rows once ingested (`super::ingest`), and a day's cross-section answered from them for the
//! derived computations. Handing rows to the row store (the mirror) is `super::months`'s,
//! after `super::trust` found them identical to the API's.
//!
//! Invariants:
//! - No bulk call on a plan without bulk (Free), for a dataset above the plan, nor for a
//!   dataset whose file was refused.
//! - For the derived computations, files are listed and fetched only when more than
//!   [`FEW_DAYS`] wanted days are neither covered by ingested files nor held by the row
//!   store: a few days cost a few cross-sections, which is as cheap and fresher.
//! - A day counts as covered only while the listing it came from is fresh; then the listing
//!   is read again, and a file whose `LastModified` moved is ingested again.
//! - Rows reach the row store (and so the mirror) only for a dataset whose converted rows
//!   were found byte-identical to the API's for one date; otherwise they feed the derived
//!   computations alone, and the first difference is kept for the admin stats.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use chrono::{DateTime, Months, NaiveDate, Utc};
use futures::StreamExt;
use parking_lot::Mutex;

use super::convert::{self, Refused};
use super::datasets::{self, BulkSet};
use super::ingest::{Failure, FileRows, Ingested};
use super::store::Version;
use super::trust::{Trust, TrustBook};
use super::{BulkFiles, Listed};
use crate::catalog::Plan;
use crate::error::ApiResult;
use crate::rows::RowStore;

/// Days a request may lack before files are fetched for it.
pub const FEW_DAYS: usize = 3;
/// Files ingested at once, all datasets together: each holds a Postgres transaction while
/// its file downloads (so replicas download it once), and the pool is small.
const PARALLEL: usize = 2;

/// One dataset in the admin stats.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DatasetStats {
    /// Whether the dataset's file rows may answer the mirror, and if not, why.
    pub trust: Trust,
    /// Days answered from ingested files now.
    pub days_covered: usize,
}

/// The bulk tier in the admin stats.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct BulkStats {
    /// Files downloaded from the upstream's file host by this replica.
    pub downloads: u64,
    /// File versions converted to rows by this replica.
    pub files_ingested: u64,
    /// Rows those files held.
    pub rows_ingested: u64,
    /// Per ingested dataset.
    pub datasets: BTreeMap<String, DatasetStats>,
}

/// The file version holding a covered day.
#[derive(Debug, Clone)]
struct Cover {
    key: String,
    last_modified: String,
    fresh_until: DateTime<Utc>,
}

#[derive(Default)]
pub(super) struct State {
    covered: HashMap<&'static str, BTreeMap<NaiveDate, Cover>>,
}

pub struct BulkHistory {
    pub(super) files: Arc<BulkFiles>,
    enabled: bool,
    ingested: Ingested,
    pub(super) rows: Arc<RowStore>,
    pub(super) state: Mutex<State>,
    files_ingested: AtomicU64,
    rows_ingested: AtomicU64,
    /// Bounds the files ingested at once ([`PARALLEL`]).
    slots: tokio::sync::Semaphore,
    /// Whether each dataset's rows may stand for the API's.
    pub(super) trust: TrustBook,
    /// Per file key, held while a `date=` request fills its day from that file, so the
    /// month's other requests wait for its rows to be shared rather than find their day not
    /// yet held and spend a cross-section on it.
    pub(super) filling: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// What a key's name says it covers: `..._YYYYMM.csv.gz` a month, `..._YYYYMMDD.csv.gz` a
/// day. Only a hint: the rows have the last word (see [`covered_days`]).
pub fn period(key: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (_, stamp) = key.strip_suffix(".csv.gz")?.rsplit_once('_')?;
    match stamp.len() {
        6 => {
            let first = NaiveDate::parse_from_str(&format!("{stamp}01"), "%Y%m%d").ok()?;
            Some((first, first + Months::new(1) - chrono::Days::new(1)))
        }
        8 => NaiveDate::parse_from_str(stamp, "%Y%m%d")
            .ok()
            .map(|d| (d, d)),
        _ => None,
    }
}

/// The days a file covers: its name's period when every row lies in it (a day without rows
/// is then an empty day), else only from its first row's day to its last.
fn covered_days(key: &str, rows: &FileRows) -> Option<(NaiveDate, NaiveDate)> {
    let (Some(lo), Some(hi)) = (rows.days.keys().next(), rows.days.keys().next_back()) else {
        // No rows at all: a day (or month) of nothing, if the name says which.
        return period(key);
    };
    let (lo, hi) = (*lo, *hi);
    match period(key) {
        Some((a, b)) if a <= lo && hi <= b => Some((a, b)),
        _ => Some((lo, hi)),
    }
}

impl BulkHistory {
    pub fn new(files: Arc<BulkFiles>, rows: Arc<RowStore>, cfg: &super::BulkConfig) -> BulkHistory {
        let pool = files.cache.store().map(|s| s.pool().clone());
        BulkHistory {
            ingested: Ingested::new(pool, cfg.rows_max_bytes),
            enabled: cfg.ingest,
            files,
            rows,
            state: Mutex::default(),
            files_ingested: AtomicU64::default(),
            rows_ingested: AtomicU64::default(),
            slots: tokio::sync::Semaphore::new(PARALLEL),
            trust: TrustBook::default(),
            filling: Mutex::default(),
        }
    }

    pub(super) fn now(&self) -> DateTime<Utc> {
        self.files.clock.now()
    }

    /// The dataset at `path` if this plan has its files and none was refused.
    pub fn allowed(&self, path: &str) -> Option<&'static BulkSet> {
        let set = datasets::set(path)?;
        let plan = self.files.cache.upstream().plan();
        // Files of a dataset above the plan are the upstream's 403, as its API is.
        let plan_has_bulk =
            plan >= Plan::Light && crate::catalog::find(path).is_some_and(|e| e.min_plan <= plan);
        let refused = matches!(self.trust.get(set.path), Trust::Refused { .. });
        (self.enabled && plan_has_bulk && !refused).then_some(set)
    }

    fn cover_of(&self, path: &str, d: NaiveDate) -> Option<Cover> {
        let now = self.now();
        let s = self.state.lock();
        let c = s.covered.get(path)?.get(&d)?;
        (now < c.fresh_until).then(|| c.clone())
    }

    /// Whether ingested files answer day `d` of `path` now.
    pub fn covers(&self, path: &str, d: NaiveDate) -> bool {
        self.cover_of(path, d).is_some()
    }

    /// Fetches and ingests the files covering `dates` of `path` when more than [`FEW_DAYS`]
    /// of them are neither covered nor held. A file that fails is logged and its days left
    /// to cross-sections; only a failed listing is an error.
    pub async fn cover(&self, path: &str, dates: &[NaiveDate]) -> ApiResult<()> {
        let Some(set) = self.allowed(path) else {
            return Ok(());
        };
        let now = self.now();
        let mut missing = Vec::new();
        for d in dates {
            if !self.covers(set.path, *d) && !self.rows.has_date(set.path, *d, now).await {
                missing.push(*d);
            }
        }
        if missing.len() <= FEW_DAYS {
            return Ok(());
        }
        let (listing, fresh_until) = self.files.listing(set.path).await?;
        let wanted: Vec<&Listed> = listing
            .iter()
            .filter(|l| {
                period(&l.key).is_some_and(|(a, b)| missing.iter().any(|d| a <= *d && *d <= b))
            })
            .collect();
        let jobs: Vec<_> = wanted
            .into_iter()
            .map(|l| async move {
                self.ingest(set, l, fresh_until).await;
            })
            .collect();
        futures::stream::iter(jobs)
            .buffer_unordered(PARALLEL)
            .collect::<Vec<()>>()
            .await;
        Ok(())
    }

    /// Ingests one listed file (once per version, across replicas) and records the days it
    /// covers; its rows and those days, or `None` when it failed (logged; its days are left
    /// to cross-sections).
    pub(super) async fn ingest(
        &self,
        set: &'static BulkSet,
        l: &Listed,
        fresh_until: DateTime<Utc>,
    ) -> Option<(Arc<FileRows>, Option<(NaiveDate, NaiveDate)>)> {
        let v = Version {
            key: &l.key,
            last_modified: &l.last_modified,
        };
        let converted = self
            .ingested
            .get_or_put(set.path, &v, async {
                let other = |e: String| Failure::Other(e);
                let _slot = self
                    .slots
                    .acquire()
                    .await
                    .map_err(|e| other(e.to_string()))?;
                let gz = self
                    .files
                    .file_bytes(l)
                    .await
                    .map_err(|e| other(format!("{e:#}")))?;
                let rows = tokio::task::spawn_blocking(move || {
                    convert::rows(set, flate2::read::MultiGzDecoder::new(&gz[..]))
                })
                .await
                .map_err(|e| other(e.to_string()))?
                .map_err(Failure::Refused)?;
                self.files_ingested.fetch_add(1, Ordering::Relaxed);
                self.rows_ingested
                    .fetch_add(rows.len() as u64, Ordering::Relaxed);
                Ok(rows)
            })
            .await;
        let rows = match converted {
            Ok(rows) => rows,
            Err(e) => {
                self.failed(set, &l.key, e);
                return None;
            }
        };
        let covered = covered_days(&l.key, &rows);
        if let Some((a, b)) = covered {
            let now = self.now();
            let mut s = self.state.lock();
            let days = s.covered.entry(set.path).or_default();
            for d in a.iter_days().take_while(|d| *d <= b) {
                let newer = days
                    .get(&d)
                    .is_none_or(|c| c.last_modified <= l.last_modified || c.fresh_until <= now);
                if newer {
                    days.insert(
                        d,
                        Cover {
                            key: l.key.clone(),
                            last_modified: l.last_modified.clone(),
                            fresh_until,
                        },
                    );
                }
            }
        }
        Some((rows, covered))
    }

    fn failed(&self, set: &'static BulkSet, key: &str, e: Failure) {
        match e {
            Failure::Refused(r @ Refused::Missing(_)) => {
                tracing::error!(endpoint = set.path, key, reason = %r, "bulk file refused; this dataset falls back to date cross-sections");
                self.trust.refuse(set.path, format!("{key}: {r}"));
            }
            Failure::Refused(r) => {
                tracing::warn!(endpoint = set.path, key, reason = %r, "bulk file not ingested; its days use date cross-sections");
            }
            Failure::Other(e) => {
                tracing::warn!(endpoint = set.path, key, error = %e, "bulk file not ingested; its days use date cross-sections");
            }
        }
    }

    /// Day `d`'s rows of `path` from ingested files, with the file version they came from
    /// and until when they are fresh.
    pub async fn day(
        &self,
        path: &str,
        d: NaiveDate,
    ) -> Option<(Vec<Bytes>, String, DateTime<Utc>)> {
        let c = self.cover_of(path, d)?;
        let v = Version {
            key: &c.key,
            last_modified: &c.last_modified,
        };
        let rows = match self.ingested.get(&v).await {
            Ok(Some(r)) => r,
            _ => {
                // Evicted from memory with no Postgres: converted again from the stored file.
                // The rows are used as returned: the memo may not admit them again (it
                // weighs a large newcomer against what it holds).
                let set = self.allowed(path)?;
                let l = Listed {
                    key: c.key.clone(),
                    last_modified: c.last_modified.clone(),
                };
                self.ingest(set, &l, c.fresh_until).await?.0
            }
        };
        let day = rows.days.get(&d).cloned().unwrap_or_default();
        Some((
            day,
            format!("bulk {} {}", c.key, c.last_modified),
            c.fresh_until,
        ))
    }

    pub fn stats(&self) -> BulkStats {
        let now = self.now();
        let s = self.state.lock();
        let datasets = datasets::SETS
            .iter()
            .map(|set| {
                let days_covered = s
                    .covered
                    .get(set.path)
                    .map_or(0, |m| m.values().filter(|c| now < c.fresh_until).count());
                let trust = self.trust.get(set.path);
                (
                    set.path.to_string(),
                    DatasetStats {
                        trust,
                        days_covered,
                    },
                )
            })
            .collect();
        BulkStats {
            downloads: self.files.downloads(),
            files_ingested: self.files_ingested.load(Ordering::Relaxed),
            rows_ingested: self.rows_ingested.load(Ordering::Relaxed),
            datasets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_hints_a_month_or_a_day() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            period("equities/bars/daily/historical/2024/equities_bars_daily_202402.csv.gz"),
            Some((d("2024-02-01"), d("2024-02-29")))
        );
        assert_eq!(
            period("x/daily/2026/x_20261204.csv.gz"),
            Some((d("2026-12-04"), d("2026-12-04")))
        );
        assert_eq!(period("x/whatever.csv.gz"), None);
    }

    #[test]
    fn rows_outside_the_named_period_narrow_the_cover_to_the_rows() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let mut rows = FileRows::default();
        rows.days.insert(d("2024-02-05"), vec![]);
        rows.days.insert(d("2024-03-01"), vec![]);
        assert_eq!(
            covered_days("x_202402.csv.gz", &rows),
            Some((d("2024-02-05"), d("2024-03-01")))
        );
        rows.days.remove(&d("2024-03-01"));
        assert_eq!(
            covered_days("x_202402.csv.gz", &rows),
            Some((d("2024-02-01"), d("2024-02-29")))
        );
    }
}
