//! What a sync would spend, day by day and with bulk files, without spending anything
//! (`sync --dry-run`): the days held already cost nothing either way; day by day, each other
//! business day is one call per dataset; with files, each dataset takes one listing, one call
//! per complete month inside the plan window, one comparison (until its files are proven),
//! and one call per day no monthly file covers (the current month). The calendar is one call
//! unless held; without it, business days are counted as weekdays (`approximate`).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Weekday};

use super::SyncJob;
use crate::bulk::{BulkHistory, history::FEW_DAYS};
use crate::cache::Cache;
use crate::request;

/// Upstream calls a sync would make.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Estimate {
    /// Business days in the range (inside the plan window, not after today), per dataset.
    pub days: usize,
    /// Day-dataset slices already held and fresh.
    pub held: usize,
    /// Whether the calendar must be fetched first (not held): then `days` counts weekdays.
    pub approximate: bool,
    /// Calls day by day, the calendar included.
    pub by_day: u64,
    /// Calls with bulk files where the plan has them (`None`: no dataset could use files).
    pub with_files: Option<WithFiles>,
}

/// The calls of a sync that takes whole months from files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WithFiles {
    pub listings: u64,
    pub months: u64,
    pub comparisons: u64,
    /// Days no monthly file covers, fetched one by one.
    pub days: u64,
    /// Everything, the calendar included.
    pub total: u64,
}

pub async fn estimate(cache: &Arc<Cache>, bulk: Option<&BulkHistory>, job: &SyncJob) -> Estimate {
    let rows = cache.rows();
    let now = cache.clock().now();
    let today = crate::jst::today(now);
    let (lo, _) = request::history_window(cache.upstream().plan(), today);
    let (from, to) = (job.from.max(lo), job.to.min(today));
    if from > to {
        return Estimate::default();
    }
    let held_days = rows.business_days(from, to).await;
    let approximate = held_days.is_none();
    let days = held_days.unwrap_or_else(|| weekdays(from, to));
    let calendar = u64::from(approximate);
    let mut e = Estimate {
        days: days.len(),
        approximate,
        by_day: calendar,
        ..Estimate::default()
    };
    let mut files = WithFiles {
        total: calendar,
        ..WithFiles::default()
    };
    let mut any_files = false;
    let this_month = today.with_day(1).unwrap_or(today);
    for ep in &job.datasets {
        let mut missing = Vec::new();
        for d in &days {
            if rows.has_date(ep.path, *d, now).await {
                e.held += 1;
            } else {
                missing.push(*d);
            }
        }
        e.by_day += missing.len() as u64;
        let usable = bulk.is_some_and(|b| !b.unusable(ep.path)) && missing.len() > FEW_DAYS;
        if !usable {
            files.days += missing.len() as u64;
            files.total += missing.len() as u64;
            continue;
        }
        any_files = true;
        // Complete months inside the window: a month only partly inside is not listed.
        let months: BTreeSet<NaiveDate> = missing
            .iter()
            .filter_map(|d| d.with_day(1))
            .filter(|m| *m >= lo && *m < this_month)
            .collect();
        let other = missing
            .iter()
            .filter(|d| !d.with_day(1).is_some_and(|m| months.contains(&m)))
            .count() as u64;
        let comparison = u64::from(!bulk.is_some_and(|b| b.trusted(ep.path)) && !months.is_empty());
        files.listings += 1;
        files.months += months.len() as u64;
        files.comparisons += comparison;
        files.days += other;
        files.total += 1 + months.len() as u64 + comparison + other;
    }
    e.with_files = any_files.then_some(files);
    e
}

fn weekdays(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days()
        .take_while(|d| *d <= to)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .collect()
}
