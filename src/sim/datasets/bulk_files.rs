//! The bulk files the simulated upstream holds: which datasets have them, how a file is
//! named, which business days it covers, when it was written and how big it is said to be.
//! A file is either a complete month (`..._YYYYMM.csv.gz`) or one day (`..._YYYYMMDD.csv.gz`);
//! its rows are the API's date cross-sections for the days it covers (built in `sim::files`).
//!
//! Invariants: [`BulkFile::parse`] accepts exactly the keys [`BulkFile::key`] writes; a file's
//! `LastModified` never precedes the publication of the days it covers, and a correction
//! only moves it forward. Everything here is a pure function of the key, the clock, the plan
//! window and the corrections made so far.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::catalog;
use crate::jst;
use crate::sim::calendar::{
    self, add_business_days, add_months, is_business_day, prev_business_day,
};
use crate::sim::market::history_start;
use crate::sim::random::{h, hs, unit};

/// How the API answers one day's cross-section of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cross {
    /// `{param}=YYYY-MM-DD`.
    Param(&'static str),
    /// `from=D&to=D`.
    FromTo,
}

/// When a day's file is written: this many business days after the day, at this many
/// minutes after midnight JST (past 24:00 is the next calendar day).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ready(u32, i64);

const EVENING: Ready = Ready(0, 19 * 60);

/// Datasets with bulk files (`bulk_available` in `jpx/endpoints.json`, plus valuation; the
/// calendar has none; minute bars and ticks are add-ons the simulator does not file), the
/// query of one day's cross-section, and when that day's file is written: after the
/// dataset's last update for the day (margin interest for a day is out the next business day).
const BULK: &[(&str, Cross, Ready)] = &[
    ("/equities/master", Cross::Param("date"), EVENING),
    ("/equities/bars/daily", Cross::Param("date"), EVENING),
    ("/equities/investor-types", Cross::FromTo, EVENING),
    ("/equities/valuation", Cross::Param("date"), EVENING),
    ("/fins/summary", Cross::Param("date"), Ready(0, 25 * 60)),
    ("/fins/details", Cross::Param("date"), Ready(0, 25 * 60)),
    ("/fins/dividend", Cross::Param("date"), Ready(0, 20 * 60)),
    ("/indices/bars/daily", Cross::Param("date"), EVENING),
    ("/indices/bars/daily/topix", Cross::FromTo, EVENING),
    (
        "/derivatives/bars/daily/futures",
        Cross::Param("date"),
        Ready(0, 28 * 60),
    ),
    (
        "/derivatives/bars/daily/options",
        Cross::Param("date"),
        Ready(0, 28 * 60),
    ),
    (
        "/derivatives/bars/daily/options/225",
        Cross::Param("date"),
        Ready(0, 28 * 60),
    ),
    (
        "/markets/margin-interest",
        Cross::Param("date"),
        Ready(1, 17 * 60),
    ),
    ("/markets/short-ratio", Cross::Param("date"), EVENING),
    (
        "/markets/short-sale-report",
        Cross::Param("disc_date"),
        EVENING,
    ),
    ("/markets/margin-alert", Cross::Param("date"), EVENING),
    ("/markets/breakdown", Cross::Param("date"), EVENING),
];

/// Endpoints with bulk files, in listing order.
pub fn bulk_endpoints() -> impl Iterator<Item = &'static str> {
    BULK.iter().map(|b| b.0)
}

/// A correction of one file: how many times it was replaced, and when last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Correction {
    pub revision: u32,
    pub at: DateTime<Utc>,
}

/// Corrections by key; files not in it were never replaced.
pub type Corrections = BTreeMap<String, Correction>;

/// What a file covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// A whole month, by its first day.
    Month(NaiveDate),
    /// One business day.
    Day(NaiveDate),
}

impl Period {
    /// First and last calendar day covered.
    pub fn bounds(self) -> (NaiveDate, NaiveDate) {
        match self {
            Period::Month(first) => (first, add_months(first, 1) - Duration::days(1)),
            Period::Day(d) => (d, d),
        }
    }
}

/// The key the upstream would give a file of `endpoint` (any text) for `period`.
pub fn key_for(endpoint: &str, period: Period) -> String {
    let path = endpoint.trim_start_matches('/');
    let stem = path.replace(['/', '-'], "_");
    match period {
        Period::Month(m) => format!(
            "{path}/historical/{}/{stem}_{}.csv.gz",
            m.year(),
            m.format("%Y%m")
        ),
        Period::Day(d) => format!(
            "{path}/daily/{}/{stem}_{}.csv.gz",
            d.year(),
            d.format("%Y%m%d")
        ),
    }
}

/// One bulk file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkFile {
    pub endpoint: &'static str,
    pub period: Period,
    cross: Cross,
    ready: Ready,
}

impl BulkFile {
    /// The file of a bulk dataset for `period`; `None` for other endpoints.
    pub fn new(endpoint: &str, period: Period) -> Option<BulkFile> {
        let &(endpoint, cross, ready) = BULK.iter().find(|b| b.0 == endpoint)?;
        Some(BulkFile {
            endpoint,
            period,
            cross,
            ready,
        })
    }

    pub fn key(&self) -> String {
        key_for(self.endpoint, self.period)
    }

    /// The file a key names, if it is one [`BulkFile::key`] writes.
    pub fn parse(key: &str) -> Option<BulkFile> {
        let (_, stamp) = key.strip_suffix(".csv.gz")?.rsplit_once('_')?;
        let period = match stamp.len() {
            6 => Period::Month(NaiveDate::parse_from_str(&format!("{stamp}01"), "%Y%m%d").ok()?),
            8 => Period::Day(NaiveDate::parse_from_str(stamp, "%Y%m%d").ok()?),
            _ => return None,
        };
        bulk_endpoints()
            .filter_map(|e| BulkFile::new(e, period))
            .find(|f| f.key() == key)
    }

    /// The API query of the cross-section of day `d`.
    pub fn cross_query(&self, d: NaiveDate) -> String {
        let d = jst::fmt_date(d);
        match self.cross {
            Cross::Param(p) => format!("{p}={d}"),
            Cross::FromTo => format!("from={d}&to={d}"),
        }
    }

    /// Days whose cross-sections the file holds, from `lo` (the plan window's first day) on:
    /// every calendar day (filings and notices are dated on closed days too; a daily dataset's
    /// closed day is simply empty), except for the master, whose closed-day snapshot repeats
    /// the business day before it and is not filed again.
    pub fn days(&self, lo: NaiveDate) -> Vec<NaiveDate> {
        let (a, b) = self.period.bounds();
        let a = a.max(lo).max(history_start());
        if a > b {
            return Vec::new();
        }
        if self.endpoint == "/equities/master" {
            return calendar::business_days(a, b).into_owned();
        }
        a.iter_days().take_while(|d| *d <= b).collect()
    }

    /// When the file was first written: after its last day's data (for a month, one business
    /// day later still); a few minutes of jitter per file.
    pub fn written_at(&self) -> DateTime<Utc> {
        let Ready(lag, minutes) = self.ready;
        let day = match self.period {
            Period::Day(d) => add_business_days(d, lag),
            Period::Month(_) => {
                let after = self.period.bounds().1 + Duration::days(1);
                add_business_days(prev_business_day(after), lag + 1)
            }
        };
        let jitter = (unit(h(&[hs(self.endpoint), day.num_days_from_ce() as u64])) * 40.0) as i64;
        jst::at(day, 0, 0) + Duration::minutes(minutes + jitter)
    }

    /// `LastModified`: when first written, or when last corrected.
    pub fn last_modified(&self, c: Option<&Correction>) -> DateTime<Utc> {
        c.map_or(self.written_at(), |c| c.at)
    }

    /// `Size` as listed: an estimate from the rows the file holds (not its exact byte count);
    /// every correction changes it.
    pub fn size(&self, issues: usize, c: Option<&Correction>) -> u64 {
        let endpoint = catalog::find(self.endpoint);
        let per_issue = endpoint.is_some_and(|e| e.code_field.is_some());
        // About two gzipped bytes per field, as the files come out.
        let row_bytes = 2 * endpoint.map_or(20, |e| e.fields().len());
        let rows_per_day = if per_issue { issues.max(1) } else { 60 };
        let days = match self.period {
            Period::Month(_) => 20,
            Period::Day(_) => 1,
        };
        let base = (days * rows_per_day * row_bytes) as f64;
        let jitter = 0.9 + 0.2 * unit(h(&[hs(&self.key())]));
        let revision = c.map_or(0, |c| c.revision as u64);
        (base * jitter) as u64 + revision * (1 + h(&[hs(&self.key()), revision]) % 997)
    }

    /// Whether the file host has the file at `now` for a plan whose window starts at `lo`:
    /// a complete month or a business day inside the window and the simulated history,
    /// already written.
    pub fn exists(&self, lo: NaiveDate, now: DateTime<Utc>) -> bool {
        let (first, last) = self.period.bounds();
        // A month is complete once written: `written_at` follows its last day.
        let inside = match self.period {
            Period::Month(_) => first >= lo && last >= history_start(),
            Period::Day(d) => is_business_day(d) && d >= lo && d >= history_start(),
        };
        inside && self.written_at() <= now
    }

    /// Whether `/bulk/list` shows the file: it exists, and a day's file only until its
    /// month's file is written (then the month replaces the days; a month only partly
    /// inside the plan window is listed neither way).
    pub fn listed(&self, lo: NaiveDate, now: DateTime<Utc>) -> bool {
        if !self.exists(lo, now) {
            return false;
        }
        match self.period {
            Period::Month(_) => true,
            Period::Day(d) => {
                let month = BulkFile {
                    period: Period::Month(add_months(d, 0)),
                    ..*self
                };
                month.written_at() > now
            }
        }
    }
}

/// `LastModified` as listed: ISO 8601 in UTC, whole seconds.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The signature of a presigned link to `key` expiring at `expires` (Unix seconds).
pub fn signature(seed: u64, key: &str, expires: i64) -> String {
    format!("{:016x}", h(&[seed, 0xB01C, hs(key), expires as u64]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::calendar::ymd;

    #[test]
    fn keys_round_trip_and_only_bulk_datasets_have_files() {
        for e in bulk_endpoints() {
            for p in [
                Period::Month(ymd(2024, 1, 1)),
                Period::Day(ymd(2026, 11, 20)),
            ] {
                let f = BulkFile::new(e, p).unwrap();
                assert_eq!(BulkFile::parse(&f.key()), Some(f), "{}", f.key());
            }
        }
        let k = key_for("/equities/bars/daily", Period::Month(ymd(2024, 1, 1)));
        assert_eq!(
            k,
            "equities/bars/daily/historical/2024/equities_bars_daily_202401.csv.gz"
        );
        assert!(BulkFile::new("/markets/calendar", Period::Day(ymd(2026, 1, 5))).is_none());
        assert!(BulkFile::parse("equities/bars/daily/historical/2024/x_202401.csv.gz").is_none());
    }

    #[test]
    fn a_month_is_written_after_it_ends_and_replaces_its_days() {
        let f = BulkFile::new("/equities/bars/daily", Period::Month(ymd(2026, 10, 1))).unwrap();
        let day = BulkFile::new("/equities/bars/daily", Period::Day(ymd(2026, 10, 30))).unwrap();
        let lo = ymd(2021, 11, 20);
        assert!(!f.exists(lo, jst::at(ymd(2026, 10, 31), 12, 0)));
        assert!(day.listed(lo, jst::at(ymd(2026, 10, 31), 12, 0)));
        assert!(f.listed(lo, jst::at(ymd(2026, 11, 20), 20, 0)));
        assert!(!day.listed(lo, jst::at(ymd(2026, 11, 20), 20, 0)));
        assert!(day.exists(lo, jst::at(ymd(2026, 11, 20), 20, 0)));
    }
}
