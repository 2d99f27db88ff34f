//! Whole months from files, for the mirror and the sync: a `date=` request of a past month
//! (the row store asks through [`crate::rows::Filler`]) and a sync of a long range load the
//! month's file once, so every day of it is held when the dataset is trusted.
//!
//! Invariant: only monthly files are used here (a day's file costs as much as the day's
//! cross-section and is not compared more cheaply), and never for a dataset known to differ.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use futures::future::BoxFuture;

use super::Listed;
use super::datasets::BulkSet;
use super::history::{BulkHistory, period};
use super::ingest::FileRows;
use super::trust::Trust;
use crate::error::ApiResult;
use crate::rows::RowStore;

impl BulkHistory {
    /// For the row store: fills day `d` of `path` (a `date=` request not held) from the
    /// month's file, when the month has one and the dataset is not known to differ. A client
    /// asking for one day of a past month usually asks for the others next (J-Quants' client
    /// walks a range day by day, five at a time): the listing and the file cost two calls,
    /// the comparison the day's own, and the month's other days nothing. True when `d` is
    /// held now.
    pub(super) async fn fill_day(&self, path: &'static str, d: NaiveDate) -> bool {
        let Some(set) = self.allowed(path) else {
            return false;
        };
        if matches!(self.trust.get(set.path), Trust::Differs { .. }) {
            return false;
        }
        // The current month has no monthly file yet: not even worth a listing.
        let today = crate::jst::today(self.now());
        if d.with_day(1) >= today.with_day(1) {
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
        let one = self
            .filling
            .lock()
            .entry(file.key.clone())
            .or_default()
            .clone();
        let _one = one.lock().await;
        if self.rows.has_date(path, d, self.now()).await {
            return true;
        }
        // Ingested already (by the market routes, or a request before): no call but the
        // comparison, if the dataset is unchecked.
        self.load(set, file, fresh_until, Some(d)).await;
        self.rows.has_date(path, d, self.now()).await
    }
}

impl BulkHistory {
    /// Ingests a file and hands its rows to the row store if the dataset proves trusted.
    async fn load(
        &self,
        set: &'static BulkSet,
        l: &Listed,
        fresh_until: DateTime<Utc>,
        probe: Option<NaiveDate>,
    ) {
        if let Some((rows, period)) = self.ingest(set, l, fresh_until).await {
            self.check_and_share(set, &rows, period, probe).await;
        }
    }
}

impl BulkHistory {
    /// Compares the file's rows with the API's for one date if the dataset is unchecked: a
    /// date the row store holds (free), else `probe` (or the nearest day of the file with
    /// rows), fetched for one call. Then hands the rows to the row store if the dataset is
    /// trusted: every day of the file's period, a day without rows as an empty answer where
    /// the dataset's closed days are empty.
    pub(super) async fn check_and_share(
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
            let _one = self.trust.comparing.lock().await;
            if self.trust.get(set.path) == Trust::Unchecked {
                self.compare_one(set, rows, probe).await;
            }
        }
        if !matches!(self.trust.get(set.path), Trust::Identical { .. }) {
            return;
        }
        let empty_days = RowStore::closed_days_empty(set.path);
        let days: Vec<NaiveDate> = match period {
            Some((a, b)) if empty_days => a.iter_days().take_while(|d| *d <= b).collect(),
            _ => rows.days.keys().copied().collect(),
        };
        let none = Vec::new();
        for d in days {
            let day = rows.days.get(&d).unwrap_or(&none);
            let Some(day) = self.trust.as_api(set.path, day) else {
                continue;
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
                return self.trust.judge(set.path, *d, &api, file_rows);
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
            self.trust.judge(set.path, *d, &api, file_rows);
        }
    }
}

impl crate::rows::Filler for BulkHistory {
    fn fill<'a>(&'a self, path: &'static str, d: NaiveDate) -> BoxFuture<'a, bool> {
        Box::pin(self.fill_day(path, d))
    }
}

/// A monthly file a sync loads: its listing row and the wanted days it covers.
#[derive(Debug, Clone)]
pub struct MonthFile {
    listed: Listed,
    fresh_until: DateTime<Utc>,
    /// The wanted days inside the file's month, in order.
    pub days: Vec<NaiveDate>,
}

impl MonthFile {
    pub fn key(&self) -> &str {
        &self.listed.key
    }
}

impl BulkHistory {
    /// The monthly files of `path` that cover some of `days` (one listing call, cached), or
    /// none when the plan has no bulk or the dataset's files are known not to do.
    pub async fn month_files(&self, path: &str, days: &[NaiveDate]) -> ApiResult<Vec<MonthFile>> {
        if self.unusable(path) {
            return Ok(Vec::new());
        }
        let (listing, fresh_until) = self.files.listing(path).await?;
        Ok(listing
            .into_iter()
            .filter_map(|l| {
                let (a, b) = period(&l.key).filter(|(a, b)| a < b)?;
                let inside: Vec<NaiveDate> = days
                    .iter()
                    .copied()
                    .filter(|d| a <= *d && *d <= b)
                    .collect();
                (!inside.is_empty()).then_some(MonthFile {
                    listed: l,
                    fresh_until,
                    days: inside,
                })
            })
            .collect())
    }

    /// Loads one month for the row store (comparing its first wanted day with the API's if
    /// the dataset is unchecked, for one call). True when its wanted days are held now.
    pub async fn load_month(&self, path: &str, f: &MonthFile) -> bool {
        let Some(set) = self.allowed(path) else {
            return false;
        };
        self.load(set, &f.listed, f.fresh_until, f.days.first().copied())
            .await;
        let now = self.now();
        for d in &f.days {
            if !self.rows.has_date(path, *d, now).await {
                return false;
            }
        }
        true
    }

    /// Whether `path`'s files were proven to stand for the API's.
    pub fn trusted(&self, path: &str) -> bool {
        self.allowed(path)
            .is_some_and(|set| matches!(self.trust.get(set.path), Trust::Identical { .. }))
    }

    /// Whether `path`'s files cannot fill the row store: no bulk on this plan, or a file was
    /// refused, or the dataset's rows differ from the API's.
    pub fn unusable(&self, path: &str) -> bool {
        match self.allowed(path) {
            None => true,
            Some(set) => matches!(self.trust.get(set.path), Trust::Differs { .. }),
        }
    }
}
