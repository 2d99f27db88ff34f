//! A whole-market day of a dataset as one unit: whether its cross-section is held, its rows,
//! fetching or storing it whole, and the [`Filler`] (the bulk tier, above this store) that may
//! make a missing day held without a cross-section call. The market computations and the bulk
//! tier use these; client requests go through [`RowStore::answer`].
//!
//! Invariant: a day stored here through [`RowStore::absorb_date`] is recorded exactly as if
//! the upstream had answered its `date=` request with those rows, so the mirror's byte-for-byte
//! rule holds for it only when the caller vouches for the rows (the bulk tier after comparing a
//! file with the API).

use chrono::{DateTime, NaiveDate, Utc};

use super::planner::Read;
use super::{RowStore, coverage, shape};
use crate::envelope;
use crate::upstream::Upstream;

/// Something that can make a missing day's cross-section held without spending a
/// cross-section call on it (the bulk tier, which sits above this store and is handed in at
/// startup): true when the day is held afterwards.
pub trait Filler: Send + Sync {
    fn fill<'a>(&'a self, path: &'static str, d: NaiveDate)
    -> futures::future::BoxFuture<'a, bool>;
}

impl RowStore {
    /// Hands in what may fill a missing day before the planner fetches it (once).
    pub fn set_filler(&self, f: std::sync::Weak<dyn Filler>) {
        let _ = self.filler.set(f);
    }

    pub(super) async fn try_fill(&self, path: &'static str, d: NaiveDate) -> bool {
        let Some(f) = self.filler.get().and_then(|w| w.upgrade()) else {
            return false;
        };
        f.fill(path, d).await
    }

    /// Whether the cross-section of `d` is held and usable now (sync skips it).
    pub async fn has_date(&self, path: &str, d: NaiveDate, now: DateTime<Utc>) -> bool {
        self.ensure_loaded().await;
        let Some(p) = shape::planned(path) else {
            return false;
        };
        self.held()
            .table(p.ep.path)
            .cov
            .date_slice(p.ep, d, now)
            .is_some()
    }

    /// The rows of `d`'s cross-section of `path` if held and usable now, read from memory or
    /// Postgres; never fetched.
    pub async fn held_date_rows(
        &self,
        path: &str,
        d: NaiveDate,
        now: DateTime<Utc>,
    ) -> Option<Vec<bytes::Bytes>> {
        if !self.has_date(path, d, now).await {
            return None;
        }
        let p = shape::planned(path)?;
        self.read(p.ep, Read::Date(d)).await
    }

    /// Fetches `d`'s cross-section of `path` from the upstream (one call, outside the
    /// response cache's single flight, so a caller already inside that flight may use it) and
    /// stores it; its rows, as held.
    pub async fn fetch_date(
        &self,
        path: &str,
        d: NaiveDate,
        upstream: &Upstream,
        now: DateTime<Utc>,
    ) -> Option<Vec<bytes::Bytes>> {
        let p = shape::planned(path)?;
        let day = coverage::day_request(p.ep, d);
        self.fetch_and_absorb(&day, upstream, now).await?;
        self.held_date_rows(path, d, now).await
    }

    /// Whether a date with no rows is an empty answer for `path` (a closed day of a daily
    /// dataset), rather than a day the rows do not say.
    pub fn closed_days_empty(path: &str) -> bool {
        shape::planned(path).is_some_and(|p| p.shape.closed_days_empty)
    }

    /// Stores `rows` as the complete cross-section of `d` of `path`, as if the upstream had
    /// just answered `date=d` with them (callers vouch that it would have: the bulk tier
    /// after comparing a file with the API).
    pub async fn absorb_date(
        &self,
        path: &str,
        d: NaiveDate,
        rows: &[bytes::Bytes],
        now: DateTime<Utc>,
    ) {
        let Some(p) = shape::planned(path) else {
            return;
        };
        let query = format!("date={}", crate::jst::fmt_date(d));
        let Ok(parsed) = crate::request::parse(p.ep, Some(&query)) else {
            return;
        };
        let req = parsed.request;
        let until = crate::schedule::freshness::fresh_until(&req, now, rows.is_empty());
        self.absorb(&req, &envelope::from_rows(rows), now, until)
            .await;
    }
}
