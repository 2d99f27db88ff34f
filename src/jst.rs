//! Dates and times as the upstream sees them: Japan Standard Time (UTC+9, no DST) and the
//! two date spellings J-Quants accepts in parameters (`YYYYMMDD` and `YYYY-MM-DD`).
//!
//! The wall clock is injectable ([`Clock`]) because freshness rules follow the JST
//! publication schedule and tests must be able to stand at 16:29 or 16:31 on a given day.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// UTC+9; Japan has no daylight saving time, so a fixed offset is exact.
pub fn offset() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("valid offset")
}

/// Parses a parameter date in either upstream spelling. Impossible dates (20240230) are
/// `None`, which the caller turns into the upstream's 400.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let fmt = match s.len() {
        8 if s.bytes().all(|b| b.is_ascii_digit()) => "%Y%m%d",
        10 => "%Y-%m-%d",
        _ => return None,
    };
    NaiveDate::parse_from_str(s, fmt).ok()
}

/// The upstream's response spelling of a date.
pub fn fmt_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// JST wall time of a UTC instant.
pub fn to_jst(t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&offset()).naive_local()
}

/// The UTC instant of a JST wall time.
pub fn from_jst(t: NaiveDateTime) -> DateTime<Utc> {
    offset()
        .from_local_datetime(&t)
        .single()
        .expect("fixed offsets are never ambiguous")
        .with_timezone(&Utc)
}

/// The UTC instant of `date` at `h:m` JST (minutes past 24:00 roll into the next day, as the
/// upstream's "24:30" and "27:00" update times do).
pub fn at(date: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    let base = from_jst(date.and_time(NaiveTime::MIN));
    base + Duration::hours(h as i64) + Duration::minutes(m as i64)
}

/// Today's date in Japan.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    to_jst(now).date()
}

/// Wall clock, real or set by tests. Cloning shares the same setting.
#[derive(Clone, Default)]
pub struct Clock {
    fixed: Arc<RwLock<Option<DateTime<Utc>>>>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock standing still at `t` until moved with [`Clock::set`] or [`Clock::advance`].
    pub fn fixed(t: DateTime<Utc>) -> Self {
        let c = Self::default();
        c.set(t);
        c
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.fixed
            .read()
            .expect("clock lock")
            .unwrap_or_else(Utc::now)
    }

    pub fn set(&self, t: DateTime<Utc>) {
        *self.fixed.write().expect("clock lock") = Some(t);
    }

    pub fn advance(&self, d: Duration) {
        let mut g = self.fixed.write().expect("clock lock");
        let base = g.unwrap_or_else(Utc::now);
        *g = Some(base + d);
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self.fixed.read().expect("clock lock") {
            Some(t) => write!(f, "Clock(fixed {t})"),
            None => write!(f, "Clock(system)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_parse_and_impossible_dates_do_not() {
        let d = NaiveDate::from_ymd_opt(2024, 1, 5).unwrap();
        assert_eq!(parse_date("20240105"), Some(d));
        assert_eq!(parse_date("2024-01-05"), Some(d));
        assert_eq!(parse_date("20240230"), None);
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_date("2024/01/05"), None);
        assert_eq!(parse_date("240105"), None);
        assert_eq!(parse_date("2024-1-5x"), None);
    }

    #[test]
    fn jst_is_nine_hours_ahead() {
        let t = at(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(), 16, 30);
        assert_eq!(t.to_rfc3339(), "2026-03-02T07:30:00+00:00");
        let late = at(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(), 24, 30);
        assert_eq!(today(late), NaiveDate::from_ymd_opt(2026, 3, 3).unwrap());
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let t0 = at(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(), 9, 0);
        let c = Clock::fixed(t0);
        let shared = c.clone();
        assert_eq!(c.now(), t0);
        shared.advance(Duration::minutes(90));
        assert_eq!(c.now(), t0 + Duration::minutes(90));
    }
}
