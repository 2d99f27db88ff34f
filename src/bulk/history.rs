//! The bulk files as whole-market history: which files cover which days of a dataset, their
//! rows once ingested, a day's cross-section answered from them, and, for the mirror, the
//! check that lets them count as held rows.
//!
//! Invariants:
//! - No bulk call on a plan without bulk (Free), nor for a dataset whose file was refused.
//! - Files are listed and fetched only when more than [`FEW_DAYS`] wanted days are neither
//!   covered by ingested files nor held by the row store: a few days cost a few
//!   cross-sections, which is as cheap and fresher.
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
use futures::future::BoxFuture;
use parking_lot::Mutex;

use super::convert::{self, Refused};
use super::datasets::{self, BulkSet};
use super::ingest::{Failure, FileRows, Ingested};
use super::store::Version;
use super::verify::{self, Difference};
use super::{BulkFiles, Listed};
use crate::catalog::Plan;
use crate::error::ApiResult;
use crate::rows::RowStore;

/// Days a request may lack before files are fetched for it.
pub const FEW_DAYS: usize = 3;
/// Files ingested at once, all datasets together: each holds a Postgres transaction while
/// its file downloads (so replicas download it once), and the pool is small.
const PARALLEL: usize = 2;

/// Whether a dataset's converted rows may stand for the API's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Trust {
    /// Not compared yet: rows feed derived computations only.
    Unchecked,
    /// One date's rows were identical to the API's answer (after dropping `dropped`, file
    /// columns the API does not send on this plan and that were empty in every row): they
    /// count as held.
    Identical {
        /// The date compared.
        date: NaiveDate,
        /// File columns left out to match the API's keys (empty in every row).
        dropped: Vec<String>,
    },
    /// One date's rows differed: derived computations only.
    Differs {
        /// The date compared.
        date: NaiveDate,
        /// The first difference found.
        difference: Difference,
    },
    /// A file could not be ingested (a missing column, a bad value): the dataset uses date
    /// cross-sections.
    Refused {
        /// The file and what was wrong with it.
        reason: String,
    },
}

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
struct State {
    covered: HashMap<&'static str, BTreeMap<NaiveDate, Cover>>,
    trust: HashMap<&'static str, Trust>,
    /// Per trusted dataset, the keys the API sends (when the files have more columns).
    kept: HashMap<&'static str, Vec<String>>,
}

pub struct BulkHistory {
    files: Arc<BulkFiles>,
    enabled: bool,
    ingested: Ingested,
    rows: Arc<RowStore>,
    state: Mutex<State>,
    files_ingested: AtomicU64,
    rows_ingested: AtomicU64,
    /// Bounds the files ingested at once ([`PARALLEL`]).
    slots: tokio::sync::Semaphore,
    /// Held while a dataset is compared with the API.
    verifying: tokio::sync::Mutex<()>,
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
            verifying: tokio::sync::Mutex::new(()),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.files.clock.now()
    }

    /// The dataset at `path` if this plan has its files and none was refused.
    pub fn allowed(&self, path: &str) -> Option<&'static BulkSet> {
        let set = datasets::set(path)?;
        let plan_has_bulk = self.files.cache.upstream().plan() >= Plan::Light;
        let refused = matches!(self.trust(set.path), Trust::Refused { .. });
        (self.enabled && plan_has_bulk && !refused).then_some(set)
    }

    fn trust(&self, path: &'static str) -> Trust {
        let s = self.state.lock();
        s.trust.get(path).cloned().unwrap_or(Trust::Unchecked)
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
            .map(|l| self.ingest(set, l, fresh_until, None))
            .collect();
        futures::stream::iter(jobs)
            .buffer_unordered(PARALLEL)
            .collect::<Vec<()>>()
            .await;
        Ok(())
    }

    /// Ingests one listed file (once per version, across replicas), records the days it
    /// covers, and shares its rows with the row store if the dataset is trusted.
    pub(super) async fn ingest(
        &self,
        set: &'static BulkSet,
        l: &Listed,
        fresh_until: DateTime<Utc>,
        probe: Option<NaiveDate>,
    ) {
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
            Err(e) => return self.failed(set, &l.key, e),
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
        self.check_and_share(set, &rows, covered, probe).await;
    }

    fn failed(&self, set: &'static BulkSet, key: &str, e: Failure) {
        match e {
            Failure::Refused(r @ Refused::Missing(_)) => {
                tracing::error!(endpoint = set.path, key, reason = %r, "bulk file refused; this dataset falls back to date cross-sections");
                let reason = format!("{key}: {r}");
                self.state
                    .lock()
                    .trust
                    .insert(set.path, Trust::Refused { reason });
            }
            Failure::Refused(r) => {
                tracing::warn!(endpoint = set.path, key, reason = %r, "bulk file not ingested; its days use date cross-sections");
            }
            Failure::Other(e) => {
                tracing::warn!(endpoint = set.path, key, error = %e, "bulk file not ingested; its days use date cross-sections");
            }
        }
    }

    /// Compares the file's rows with the API's for one date if the dataset is unchecked: a
    /// date the row store holds (free), else `probe` (or the nearest day of the file with
    /// rows), fetched for one call. Then hands the rows to the row store if the dataset is
    /// trusted: every day of the file's period, a day without rows as an empty answer where
    /// the dataset's closed days are empty.
    async fn check_and_share(
        &self,
        set: &'static BulkSet,
        rows: &FileRows,
        period: Option<(NaiveDate, NaiveDate)>,
        probe: Option<NaiveDate>,
    ) {
        if !crate::rows::shape::is_planned(set.path) {
            return;
        }
        {
            // One comparison per dataset, however many requests wait on the file.
            let _one = self.verifying.lock().await;
            if self.trust(set.path) == Trust::Unchecked {
                self.compare_one(set, rows, probe).await;
            }
        }
        if !matches!(self.trust(set.path), Trust::Identical { .. }) {
            return;
        }
        let kept = self.state.lock().kept.get(set.path).cloned();
        let empty_days = RowStore::closed_days_empty(set.path);
        let days: Vec<NaiveDate> = match period {
            Some((a, b)) if empty_days => a.iter_days().take_while(|d| *d <= b).collect(),
            _ => rows.days.keys().copied().collect(),
        };
        let none = Vec::new();
        for d in days {
            let day = rows.days.get(&d).unwrap_or(&none);
            let day = match &kept {
                None => day.clone(),
                Some(k) => match day.iter().map(|r| verify::project(r, k)).collect() {
                    Some(v) => v,
                    None => continue,
                },
            };
            self.rows.absorb_date(set.path, d, &day, self.now()).await;
        }
    }

    /// Judges the dataset on one date with rows: one the row store holds, else `probe`'s
    /// nearest, fetched. Nothing is judged on a date without rows (it proves nothing).
    async fn compare_one(&self, set: &'static BulkSet, rows: &FileRows, probe: Option<NaiveDate>) {
        let now = self.now();
        for (d, file_rows) in &rows.days {
            if let Some(api) = self.rows.held_date_rows(set.path, *d, now).await
                && !api.is_empty()
            {
                return self.judge(set, *d, &api, file_rows);
            }
        }
        let Some(probe) = probe else {
            return;
        };
        let nearest = rows
            .days
            .range(probe..)
            .next()
            .or_else(|| rows.days.range(..probe).next_back());
        let Some((d, file_rows)) = nearest else {
            return;
        };
        let upstream = self.files.cache.upstream();
        if let Some(api) = self.rows.fetch_date(set.path, *d, upstream, now).await
            && !api.is_empty()
        {
            self.judge(set, *d, &api, file_rows);
        }
    }

    /// Records whether `file` (one date's converted rows) is the API's answer `api`: as they
    /// are, or with the file's extra columns dropped when the API sends fewer keys and those
    /// columns are empty.
    fn judge(&self, set: &'static BulkSet, date: NaiveDate, api: &[Bytes], file: &[Bytes]) {
        let api_keys = api.first().map(|r| verify::keys(r)).unwrap_or_default();
        let file_keys = file.first().map(|r| verify::keys(r)).unwrap_or_default();
        let dropped: Vec<String> = file_keys
            .iter()
            .filter(|k| !api_keys.contains(k))
            .cloned()
            .collect();
        let projected: Option<Vec<Bytes>> = if dropped.is_empty() {
            Some(file.to_vec())
        } else {
            file.iter().map(|r| verify::project(r, &api_keys)).collect()
        };
        let difference = match &projected {
            Some(p) => verify::compare(api, p),
            None => verify::compare(api, file),
        };
        let mut s = self.state.lock();
        let t = match difference {
            None => {
                if !dropped.is_empty() {
                    s.kept.insert(set.path, api_keys);
                }
                Trust::Identical { date, dropped }
            }
            Some(difference) => {
                tracing::warn!(endpoint = set.path, %date, field = %difference.field, api = %difference.api, file = %difference.file,
                    "bulk rows differ from the API's; they feed derived figures only");
                Trust::Differs { date, difference }
            }
        };
        s.trust.insert(set.path, t);
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
                let set = self.allowed(path)?;
                let l = Listed {
                    key: c.key.clone(),
                    last_modified: c.last_modified.clone(),
                };
                self.ingest(set, &l, c.fresh_until, None).await;
                self.ingested.get(&v).await.ok()??
            }
        };
        let day = rows.days.get(&d).cloned().unwrap_or_default();
        Some((
            day,
            format!("bulk {} {}", c.key, c.last_modified),
            c.fresh_until,
        ))
    }

    /// For the row store: fills day `d` of `path` (a `date=` request not held) from the
    /// month's file, when the month has one and the dataset is not known to differ. A client
    /// asking for one day of a past month usually asks for the others next (J-Quants' client
    /// walks a range day by day, five at a time): the listing and the file cost two calls,
    /// the comparison the day's own, and the month's other days nothing. True when `d` is
    /// held now.
    async fn fill_day(&self, path: &'static str, d: NaiveDate) -> bool {
        let Some(set) = self.allowed(path) else {
            return false;
        };
        if matches!(self.trust(set.path), Trust::Differs { .. }) || self.covers(path, d) {
            return false;
        }
        let Ok((listing, fresh_until)) = self.files.listing(path).await else {
            return false;
        };
        let month = listing
            .iter()
            .find(|l| period(&l.key).is_some_and(|(a, b)| a < b && a <= d && d <= b));
        let Some(file) = month else {
            return false;
        };
        self.ingest(set, file, fresh_until, Some(d)).await;
        self.rows.has_date(path, d, self.now()).await
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
                let trust = s.trust.get(set.path).cloned().unwrap_or(Trust::Unchecked);
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

impl crate::rows::Filler for BulkHistory {
    fn fill<'a>(&'a self, path: &'static str, d: NaiveDate) -> BoxFuture<'a, bool> {
        Box::pin(self.fill_day(path, d))
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
