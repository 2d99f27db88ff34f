//! Dates and times as the upstream sees them: Japan Standard Time (UTC+9, no DST) and the
//! two date spellings J-Quants accepts in parameters (`YYYYMMDD` and `YYYY-MM-DD`).
//!
//! The wall clock is injectable ([`Clock`]) because freshness rules follow the JST
//! publication schedule (docs/upstream.md, "Update times") and tests must be able to stand
//! at 16:29 or 16:31 on a given day.
//!
//! Invariant: nothing here panics on a date taken from a request or an upstream body; an
//! impossible date parses to `None` and the caller answers the upstream's 400.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// UTC+9; Japan has no daylight saving time, so a fixed offset is exact.
pub fn offset() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("valid offset")
}

/// Parses a parameter date in either upstream spelling. Impossible dates (20240230) are
/// `None`, which the caller turns into the upstream's 400.
/// Parsed by hand rather than with a chrono format string: every request's dates go through
/// here, and interpreting a format string per call is a visible share of a cache hit.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.trim().as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (y, m, d) = match b.len() {
        8 => (digits(0..4)?, digits(4..6)?, digits(6..8)?),
        10 if b[4] == b'-' && b[7] == b'-' => (digits(0..4)?, digits(5..7)?, digits(8..10)?),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// The upstream's response spelling of a date. Written digit by digit: it runs for every
/// date of every request, and the formatting machinery costs more than the rest of it.
pub fn fmt_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    let y = d.year();
    if !(0..=9999).contains(&y) {
        return d.format("%Y-%m-%d").to_string();
    }
    let y = y.unsigned_abs();
    let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
    let mut s = String::with_capacity(10);
    for n in [y / 1000, y / 100, y / 10, y] {
        s.push(digit(n));
    }
    s.push('-');
    s.extend([digit(d.month() / 10), digit(d.month())]);
    s.push('-');
    s.extend([digit(d.day() / 10), digit(d.day())]);
    s
}

/// JST wall time of a UTC instant.
pub fn to_jst(t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&offset()).naive_local()
}

/// The UTC instant of a JST wall time.
pub fn from_jst(t: NaiveDateTime) -> DateTime<Utc> {
    // A fixed offset is never ambiguous; `None` only past chrono's range, kept as UTC there.
    offset()
        .from_local_datetime(&t)
        .single()
        .map_or_else(|| t.and_utc(), |d| d.with_timezone(&Utc))
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
///
/// Every request reads it, so the setting is one atomic (nanoseconds since the epoch, or
/// [`SYSTEM`] for the real clock) rather than a lock all requests would share.
#[derive(Clone)]
pub struct Clock {
    fixed: Arc<AtomicI64>,
}

/// The `fixed` value meaning "follow the system clock".
const SYSTEM: i64 = i64::MIN;

impl Default for Clock {
    fn default() -> Self {
        Self {
            fixed: Arc::new(AtomicI64::new(SYSTEM)),
        }
    }
}

fn nanos(t: DateTime<Utc>) -> i64 {
    // Representable until 2262; later instants saturate rather than wrap.
    t.timestamp_nanos_opt().unwrap_or(i64::MAX)
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

    fn fixed_at(&self) -> Option<DateTime<Utc>> {
        match self.fixed.load(Ordering::Acquire) {
            SYSTEM => None,
            n => Some(DateTime::from_timestamp_nanos(n)),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.fixed_at().unwrap_or_else(Utc::now)
    }

    pub fn set(&self, t: DateTime<Utc>) {
        self.fixed.store(nanos(t), Ordering::Release);
    }

    pub fn advance(&self, d: Duration) {
        let step = d.num_nanoseconds().unwrap_or(i64::MAX);
        let _ = self
            .fixed
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                let base = if n == SYSTEM { nanos(Utc::now()) } else { n };
                Some(base.saturating_add(step))
            });
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.fixed_at() {
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
        assert_eq!(fmt_date(d), "2024-01-05");
        assert_eq!(
            parse_date(" 2024-12-31 ").map(fmt_date).as_deref(),
            Some("2024-12-31")
        );
        assert_eq!(parse_date("2024-01+05"), None);
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
