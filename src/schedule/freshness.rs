//! How long a cached answer stays fresh: every rule in one place, driven by the upstream's
//! publication schedule in JST (`docs/upstream.md`, "Update times").
//!
//! | dataset | settled (fresh for [`SETTLED_TTL`]) when the request's last date D... | otherwise fresh until |
//! |---|---|---|
//! | DailyClose (bars, indices, TOPIX, short ratio, margin alerts, valuation, minute bars) | D < today | next weekday 16:30 |
//! | MorningSession (`/equities/bars/daily/am`) | never | next weekday 12:00 or 16:30 |
//! | Master | D < today | next weekday 08:00 or 17:30 |
//! | Statements (`/fins/summary`, `/fins/details`) | now >= D+1 06:00 (after the 24:30 final run) | next 18:00 or 00:30 |
//! | Dividend | D < today | next weekday hour 12:00..19:00 |
//! | EarningsDate | D < today (by `date` only) | next weekday 10:05 |
//! | EarningsCalendar | never | next weekday 19:00 |
//! | MarginInterest | D + 7 days < today (weekly rows publish 2 business days later) | next weekday 16:30 |
//! | InvestorTypes | D + 14 days < today | next weekday 18:00 |
//! | ShortSaleReport | D < today | next weekday 17:30 |
//! | Breakdown | D < today | next weekday 18:00 |
//! | Derivatives | now >= D+1 06:00 (published ~27:00) | next 03:00 |
//! | Calendar | never | 24 hours |
//! | BulkList | never | next weekday 16:30 |
//! | BulkUrl (`/bulk/get`, `/td/files`, `/td/bulk`) | never | 4 minutes (presigned URLs live 5) |
//! | Tdnet | D < today | 5 minutes |
//! | Edinet | D < today | 1 hour |
//!
//! A request without a last date (a whole history, an open range) is never settled.
//! Schedules are approximate upstream times, so for [`GRACE`] after each one answers are
//! re-checked every [`POLL`] instead of being trusted until the next day. Empty answers are
//! fresh for at most [`EMPTY_TTL`]. Splits invalidate settled bars separately (`super::splits`).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};

use crate::catalog::Dataset;
use crate::jst;
use crate::request::CanonicalRequest;

/// Settled answers are re-checked monthly: the upstream does publish corrections.
pub const SETTLED_TTL: Duration = Duration::days(30);
pub const EMPTY_TTL: Duration = Duration::minutes(10);
pub const GRACE: Duration = Duration::minutes(90);
pub const POLL: Duration = Duration::minutes(10);

/// When an answer to `req` fetched at `now` stops being fresh.
pub fn fresh_until(req: &CanonicalRequest, now: DateTime<Utc>, empty: bool) -> DateTime<Utc> {
    let dataset = req.endpoint.dataset;
    let until = if is_settled(dataset, req, now) {
        now + SETTLED_TTL
    } else {
        next_change(dataset, now)
    };
    if empty {
        until.min(now + EMPTY_TTL)
    } else {
        until
    }
}

/// True when nothing the upstream publishes later can change the answer.
pub fn is_settled(dataset: Dataset, req: &CanonicalRequest, now: DateTime<Utc>) -> bool {
    let Some(d) = req.last_date() else {
        return false;
    };
    let today = jst::today(now);
    match dataset {
        Dataset::DailyClose
        | Dataset::Master
        | Dataset::Dividend
        | Dataset::ShortSaleReport
        | Dataset::Breakdown
        | Dataset::Tdnet
        | Dataset::Edinet => d < today,
        Dataset::EarningsDate => req.get("date").is_some() && d < today,
        Dataset::Statements | Dataset::Derivatives => now >= jst::at(d + Duration::days(1), 6, 0),
        Dataset::MarginInterest => d + Duration::days(7) < today,
        Dataset::InvestorTypes => d + Duration::days(14) < today,
        Dataset::MorningSession
        | Dataset::EarningsCalendar
        | Dataset::Calendar
        | Dataset::BulkList
        | Dataset::BulkUrl => false,
    }
}

/// Publication times as (hour, minute) JST and whether they happen on weekdays only.
fn schedule(dataset: Dataset) -> Option<(&'static [(u32, u32)], bool)> {
    Some(match dataset {
        Dataset::DailyClose | Dataset::MarginInterest | Dataset::BulkList => (&[(16, 30)], true),
        Dataset::MorningSession => (&[(12, 0), (16, 30)], true),
        Dataset::Master => (&[(8, 0), (17, 30)], true),
        Dataset::Statements => (&[(0, 30), (18, 0)], false),
        Dataset::Dividend => (
            &[
                (12, 0),
                (13, 0),
                (14, 0),
                (15, 0),
                (16, 0),
                (17, 0),
                (18, 0),
                (19, 0),
            ],
            true,
        ),
        Dataset::EarningsDate => (&[(10, 5)], true),
        Dataset::EarningsCalendar => (&[(19, 0)], true),
        Dataset::InvestorTypes | Dataset::Breakdown => (&[(18, 0)], true),
        Dataset::ShortSaleReport => (&[(17, 30)], true),
        Dataset::Derivatives => (&[(3, 0)], false),
        Dataset::Calendar | Dataset::BulkUrl | Dataset::Tdnet | Dataset::Edinet => return None,
    })
}

fn fixed_ttl(dataset: Dataset) -> Duration {
    match dataset {
        Dataset::Calendar => Duration::hours(24),
        Dataset::BulkUrl => Duration::minutes(4),
        Dataset::Tdnet => Duration::minutes(5),
        _ => Duration::hours(1),
    }
}

fn scheduled_times(dataset: Dataset, day: NaiveDate) -> Vec<DateTime<Utc>> {
    let Some((times, weekdays_only)) = schedule(dataset) else {
        return vec![];
    };
    if weekdays_only && matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        return vec![];
    }
    times.iter().map(|&(h, m)| jst::at(day, h, m)).collect()
}

/// The next instant at which the upstream may change an unsettled answer.
pub fn next_change(dataset: Dataset, now: DateTime<Utc>) -> DateTime<Utc> {
    if schedule(dataset).is_none() {
        return now + fixed_ttl(dataset);
    }
    let today = jst::today(now);
    // Just after a scheduled time the upstream may not have published yet: poll.
    for back in 0..=1 {
        for t in scheduled_times(dataset, today - Duration::days(back)) {
            if t <= now && now < t + GRACE {
                return now + POLL;
            }
        }
    }
    for ahead in 0..10 {
        let mut times = scheduled_times(dataset, today + Duration::days(ahead));
        times.sort();
        if let Some(t) = times.into_iter().find(|t| *t > now) {
            return t;
        }
    }
    now + Duration::hours(24)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::find;
    use crate::request::parse;

    fn req(path: &str, q: &str) -> CanonicalRequest {
        parse(find(path).unwrap(), Some(q)).unwrap().request
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn past_bars_are_settled_latest_bars_expire_at_next_close() {
        // Tuesday 2026-03-03 10:00 JST.
        let now = jst::at(d(2026, 3, 3), 10, 0);
        let past = req("/equities/bars/daily", "date=20260302");
        assert_eq!(fresh_until(&past, now, false), now + SETTLED_TTL);
        let today = req("/equities/bars/daily", "date=20260303");
        assert_eq!(
            fresh_until(&today, now, false),
            jst::at(d(2026, 3, 3), 16, 30)
        );
        let history = req("/equities/bars/daily", "code=7203");
        assert_eq!(
            fresh_until(&history, now, false),
            jst::at(d(2026, 3, 3), 16, 30)
        );
        // After the close, the next change is the next business day's close.
        let evening = jst::at(d(2026, 3, 3), 20, 0);
        assert_eq!(
            fresh_until(&history, evening, false),
            jst::at(d(2026, 3, 4), 16, 30)
        );
    }

    #[test]
    fn friday_evening_waits_for_monday_and_grace_polls() {
        let fri = jst::at(d(2026, 3, 6), 19, 0);
        let history = req("/equities/bars/daily", "code=7203");
        assert_eq!(
            fresh_until(&history, fri, false),
            jst::at(d(2026, 3, 9), 16, 30)
        );
        let just_after = jst::at(d(2026, 3, 6), 16, 35);
        assert_eq!(fresh_until(&history, just_after, false), just_after + POLL);
    }

    #[test]
    fn statements_settle_after_the_final_run() {
        let q = req("/fins/summary", "date=20260303");
        // Settled from 06:00 the next day, after the final run at 00:30.
        for (day, h, m, settled) in [(3, 23, 0, false), (4, 0, 45, false), (4, 7, 0, true)] {
            let at = jst::at(d(2026, 3, day), h, m);
            assert_eq!(is_settled(Dataset::Statements, &q, at), settled, "{at}");
        }
        let at_19 = jst::at(d(2026, 3, 3), 19, 45);
        assert_eq!(
            next_change(Dataset::Statements, at_19),
            jst::at(d(2026, 3, 4), 0, 30)
        );
    }

    #[test]
    fn empty_answers_expire_within_minutes_and_dividends_hourly() {
        let now = jst::at(d(2026, 3, 3), 10, 0);
        let past = req("/equities/bars/daily", "date=20260301");
        assert_eq!(fresh_until(&past, now, true), now + EMPTY_TTL);
        // Hourly runs 12:00-19:00: polled through the afternoon, then quiet until tomorrow noon.
        assert_eq!(
            next_change(Dataset::Dividend, jst::at(d(2026, 3, 3), 11, 0)),
            jst::at(d(2026, 3, 3), 12, 0)
        );
        let afternoon = jst::at(d(2026, 3, 3), 14, 20);
        assert_eq!(next_change(Dataset::Dividend, afternoon), afternoon + POLL);
        assert_eq!(
            next_change(Dataset::Dividend, jst::at(d(2026, 3, 3), 21, 0)),
            jst::at(d(2026, 3, 4), 12, 0)
        );
    }

    #[test]
    fn margin_interest_settles_a_week_later_and_urls_are_short_lived() {
        let q = req("/markets/margin-interest", "date=20260220");
        for (day, settled) in [(24, false), (28, true)] {
            let at = jst::at(d(2026, 2, day), 17, 0);
            assert_eq!(is_settled(Dataset::MarginInterest, &q, at), settled, "{at}");
        }
        let now = jst::at(d(2026, 3, 3), 10, 0);
        let url = req("/bulk/get", "key=abc");
        assert_eq!(fresh_until(&url, now, false), now + Duration::minutes(4));
    }
}
