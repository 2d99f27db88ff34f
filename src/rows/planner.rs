//! The planner: decides, before any quota is spent, how a request to a planned endpoint is
//! answered. Pure: it reads coverage and the trading calendar and returns a [`Plan`].
//!
//! Invariants:
//! - a request is answered locally only when coverage says every row it can contain is held
//!   and usable (`Slice::usable_until`); the answer is then the held rows in the upstream's
//!   order, so it is byte-identical to what the upstream returns;
//! - a day the market was closed (weekend, or a holiday in the held calendar) inside the plan
//!   window is answered with the upstream's answer for such a day, `{"data":[]}`, at no cost;
//! - a code made dirty by a split is rewritten (one whole-history fetch) before any answer
//!   shows its rows;
//! - a code's range missing exactly one business day's cross-section fetches that day (one
//!   call, as for the range itself, but it also serves every other code on that day);
//! - otherwise exactly the request is fetched: one call, the same one the upstream would get
//!   without the store, whose rows then extend coverage.

use chrono::{DateTime, NaiveDate, Utc};

use super::coverage::{Coverage, OPEN_FROM, OPEN_TO, TradingCalendar};
use super::shape::{Planned, Shape};
use crate::request::CanonicalRequest;

/// Which held rows make the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// A closed day: no rows.
    Empty,
    /// `code`'s rows in `[from, to]`, from one of its history slices.
    Code {
        code: String,
        from: NaiveDate,
        to: NaiveDate,
    },
    /// `code`'s row on each of `days`, from those days' cross-sections.
    CodeOnDays { code: String, days: Vec<NaiveDate> },
    /// The cross-section of one date.
    Date(NaiveDate),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Answer from held rows; the answer stays fresh until `until` at most.
    Local { read: Read, until: DateTime<Utc> },
    /// Fetch this dirty code's whole history first, then plan again.
    Rewrite(String),
    /// Fetch this day's cross-section first, then plan again.
    Section(NaiveDate),
    /// Ask the upstream for exactly this request.
    Fetch,
}

/// Plans `req` for `p` at `now`; `window` is the plan's history window (inclusive).
pub fn plan(
    p: Planned,
    req: &CanonicalRequest,
    cov: &Coverage,
    cal: &TradingCalendar,
    window: (NaiveDate, NaiveDate),
    now: DateTime<Utc>,
) -> Plan {
    if !p.answers(req) {
        return Plan::Fetch;
    }
    let ep = p.ep;
    let code = req.get("code");
    let date = req.date_param("date");
    let inside = |d: NaiveDate| window.0 <= d && d <= window.1;
    if let Some(d) = date
        && p.shape.closed_days_empty
        && inside(d)
        && cal.is_closed(d) == Some(true)
    {
        let until = now + crate::schedule::freshness::SETTLED_TTL;
        return Plan::Local {
            read: Read::Empty,
            until,
        };
    }
    if let Some(c) = code
        && cov.dirty.contains_key(c)
    {
        return Plan::Rewrite(c.to_string());
    }
    match (code, date) {
        (None, Some(d)) => {
            if let Some(c) = cov.dirty_in_section(d) {
                return Plan::Rewrite(c.to_string());
            }
            match cov.date_slice(ep, d, now) {
                Some(until) => Plan::Local {
                    read: Read::Date(d),
                    until,
                },
                None => Plan::Fetch,
            }
        }
        (Some(c), _) => for_code(p, c, req, cov, cal, inside, now),
        _ => Plan::Fetch,
    }
}

/// A request naming a code: from one of its held histories, else from held cross-sections.
fn for_code(
    p: Planned,
    c: &str,
    req: &CanonicalRequest,
    cov: &Coverage,
    cal: &TradingCalendar,
    inside: impl Fn(NaiveDate) -> bool,
    now: DateTime<Utc>,
) -> Plan {
    let span = match req.date_param("date") {
        Some(d) => (d, d),
        None => (
            req.date_param("from").unwrap_or(OPEN_FROM),
            req.date_param("to").unwrap_or(OPEN_TO),
        ),
    };
    if let Some(until) = cov.code_slice(p.ep, c, span, req, now) {
        let (from, to) = span;
        let code = c.to_string();
        return Plan::Local {
            read: Read::Code { code, from, to },
            until,
        };
    }
    let days = match Shape::of(req) {
        Some(Shape::CodeOnDate) => Some(vec![span.0]),
        _ if p.shape.closed_days_empty && inside(span.0) && inside(span.1) => {
            cal.business_days(span.0, span.1)
        }
        _ => None,
    };
    match days {
        Some(days) => from_sections(p, c, days, cov, now),
        None => Plan::Fetch,
    }
}

/// A code's rows on `days` (every day of the request that can have rows: one date, or the
/// business days of a range) taken from held cross-sections, when each day has one.
fn from_sections(
    p: Planned,
    code: &str,
    days: Vec<NaiveDate>,
    cov: &Coverage,
    now: DateTime<Utc>,
) -> Plan {
    let ep = p.ep;
    let mut until: Option<DateTime<Utc>> = None;
    let mut missing = vec![];
    for d in &days {
        if let Some(c) = cov.dirty_in_section(*d) {
            return Plan::Rewrite(c.to_string());
        }
        match cov.date_slice(ep, *d, now) {
            Some(u) => until = Some(until.map_or(u, |x| x.min(u))),
            None => missing.push(*d),
        }
    }
    match missing[..] {
        [] => {}
        [d] if days.len() > 1 => return Plan::Section(d),
        _ => return Plan::Fetch,
    }
    let until = until.unwrap_or(now + crate::schedule::freshness::SETTLED_TTL);
    let code = code.to_string();
    Plan::Local {
        read: Read::CodeOnDays { code, days },
        until,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::find;
    use crate::jst;
    use crate::rows::coverage::Slice;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, m, day).unwrap()
    }

    fn req(q: &str) -> CanonicalRequest {
        crate::request::parse(find("/equities/bars/daily").unwrap(), Some(q))
            .unwrap()
            .request
    }

    fn synced(days: &[NaiveDate], at: DateTime<Utc>) -> Coverage {
        let mut cov = Coverage::default();
        for day in days {
            let s = Slice {
                from: *day,
                to: *day,
                fetched_at: at,
                fresh_until: at,
            };
            cov.add_date(*day, s);
        }
        cov
    }

    /// September 2025 with two holidays (the 15th and the 23rd): the daily bars' shape, a
    /// clock after the month, the plan window, the calendar and its 20 business days.
    fn september() -> (
        Planned,
        DateTime<Utc>,
        (NaiveDate, NaiveDate),
        TradingCalendar,
        Vec<NaiveDate>,
    ) {
        let ep = crate::rows::shape::planned("/equities/bars/daily").unwrap();
        let now = jst::at(d(10, 1), 20, 0);
        let window = (d(1, 1), d(12, 31));
        let mut cal = TradingCalendar::default();
        for day in 1..=30 {
            let div = if day == 15 || day == 23 { "0" } else { "1" };
            cal.insert(d(9, day), div.into());
        }
        let days = cal.business_days(d(9, 1), d(9, 30)).unwrap();
        assert_eq!(days.len(), 20);
        (ep, now, window, cal, days)
    }

    #[test]
    fn closed_days_cost_nothing_and_days_the_calendar_does_not_know_are_fetched() {
        let (ep, now, window, cal, _) = september();
        // Closed days cost nothing, even before anything is held.
        let empty = Coverage::default();
        for q in ["date=20250913", "date=20250915", "code=7203&date=20250923"] {
            let p = plan(ep, &req(q), &empty, &cal, window, now);
            assert!(
                matches!(
                    p,
                    Plan::Local {
                        read: Read::Empty,
                        ..
                    }
                ),
                "{q}: {p:?}"
            );
        }
        assert_eq!(
            plan(ep, &req("date=20250916"), &empty, &cal, window, now),
            Plan::Fetch
        );
        // A holiday the held calendar does not cover is not guessed: the day is unknown.
        let none = TradingCalendar::default();
        assert_eq!(
            plan(ep, &req("date=20250915"), &empty, &none, window, now),
            Plan::Fetch
        );
        // Outside the plan window the upstream decides (it may refuse).
        let narrow = (d(9, 14), d(12, 31));
        assert_eq!(
            plan(ep, &req("date=20250913"), &empty, &cal, narrow, now),
            Plan::Fetch
        );
    }

    #[test]
    fn ranges_inside_held_sections_are_read_and_a_missing_day_is_fetched_alone() {
        let (ep, now, window, cal, days) = september();
        let cov = synced(&days, now);
        match plan(
            ep,
            &req("code=7203&from=20250905&to=20250912"),
            &cov,
            &cal,
            window,
            now,
        ) {
            Plan::Local {
                read: Read::CodeOnDays { code, days },
                ..
            } => {
                assert_eq!(code, "72030");
                assert_eq!(days.len(), 6);
            }
            p => panic!("{p:?}"),
        }
        // A range reaching past the synced days is fetched whole.
        let p = plan(
            ep,
            &req("code=7203&from=20250905&to=20251003"),
            &cov,
            &cal,
            window,
            now,
        );
        assert_eq!(p, Plan::Fetch);
        // One missing day inside a range is fetched as that day's cross-section.
        let partial = synced(&days[..19], now);
        let q = req("code=7203&from=20250905&to=20250930");
        let p = plan(ep, &q, &partial, &cal, window, now);
        assert_eq!(p, Plan::Section(d(9, 30)));
    }
}
