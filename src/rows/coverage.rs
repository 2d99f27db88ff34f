//! Coverage: which slices of a dataset the store holds completely, and as of when.
//!
//! A slice is one complete upstream answer: a code's history over `[from, to]` (a whole
//! history is `[OPEN_FROM, OPEN_TO]`) or one date's cross-section. Invariants:
//! - a slice is recorded only after all its rows are stored, so coverage never claims rows
//!   the store lacks;
//! - a slice answers a request inside it while it is fresh by its own freshness rule, or,
//!   when the request's dates were already settled when the slice was fetched, for
//!   `SETTLED_TTL` after that fetch (the same rules as whole answers, per slice);
//! - a split seen for a code drops that code's histories fetched before it was published and
//!   marks the code dirty: cross-sections of earlier dates hold its pre-split adjusted rows
//!   until one whole history of the code, fetched after publication, rewrites them.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};

use crate::catalog::Endpoint;
use crate::request::CanonicalRequest;
use crate::schedule::freshness;

/// Bounds of a whole history (dates Postgres can hold).
pub const OPEN_FROM: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("date");
pub const OPEN_TO: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).expect("date");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub fetched_at: DateTime<Utc>,
    pub fresh_until: DateTime<Utc>,
}

impl Slice {
    pub fn is_whole_history(&self) -> bool {
        self.from == OPEN_FROM && self.to == OPEN_TO
    }

    /// Until when this slice may answer `req` (which asks for dates inside it), if at all.
    pub fn usable_until(
        &self,
        ep: &'static Endpoint,
        req: &CanonicalRequest,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let until = if freshness::is_settled(ep.dataset, req, self.fetched_at) {
            self.fetched_at + freshness::SETTLED_TTL
        } else {
            self.fresh_until
        };
        (now < until).then_some(until)
    }
}

/// A split not yet rewritten into the stored rows of `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dirty {
    pub ex_date: NaiveDate,
    pub published: DateTime<Utc>,
}

/// Coverage of one endpoint.
#[derive(Debug, Default)]
pub struct Coverage {
    pub by_code: HashMap<String, Vec<Slice>>,
    pub by_date: BTreeMap<NaiveDate, Slice>,
    pub dirty: HashMap<String, Dirty>,
}

impl Coverage {
    pub fn add_code(&mut self, code: &str, s: Slice) {
        let v = self.by_code.entry(code.to_string()).or_default();
        v.retain(|o| !(o.from == s.from && o.to == s.to));
        v.push(s);
        if s.is_whole_history()
            && self
                .dirty
                .get(code)
                .is_some_and(|d| s.fetched_at >= d.published)
        {
            self.dirty.remove(code);
        }
    }

    pub fn add_date(&mut self, d: NaiveDate, s: Slice) {
        self.by_date.insert(d, s);
    }

    /// The slice of `code` holding `[from, to]` that stays usable longest.
    pub fn code_slice(
        &self,
        ep: &'static Endpoint,
        code: &str,
        (from, to): (NaiveDate, NaiveDate),
        req: &CanonicalRequest,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        self.by_code
            .get(code)?
            .iter()
            .filter(|s| s.from <= from && to <= s.to)
            .filter_map(|s| s.usable_until(ep, req, now))
            .max()
    }

    /// Until when the cross-section of `d` may be used, if held.
    pub fn date_slice(
        &self,
        ep: &'static Endpoint,
        d: NaiveDate,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let req = day_request(ep, d);
        self.by_date.get(&d)?.usable_until(ep, &req, now)
    }

    /// Records a split: drops `code`'s histories fetched before it was published, and marks
    /// the code dirty if earlier cross-sections still hold its old adjusted rows.
    pub fn split(&mut self, code: &str, dirty: Dirty) {
        if let Some(v) = self.by_code.get_mut(code) {
            v.retain(|s| s.fetched_at >= dirty.published);
        }
        let rewritten = self
            .by_code
            .get(code)
            .is_some_and(|v| v.iter().any(Slice::is_whole_history));
        let stale_sections = self
            .by_date
            .range(..dirty.ex_date)
            .any(|(_, s)| s.fetched_at < dirty.published);
        if !rewritten && stale_sections {
            self.dirty.insert(code.to_string(), dirty);
        }
    }

    /// A dirty code whose old rows a cross-section of `d` would show, if any.
    pub fn dirty_in_section(&self, d: NaiveDate) -> Option<&str> {
        let s = self.by_date.get(&d)?;
        self.dirty
            .iter()
            .find(|(_, x)| d < x.ex_date && s.fetched_at < x.published)
            .map(|(c, _)| c.as_str())
    }

    pub fn slices(&self) -> usize {
        self.by_date.len() + self.by_code.values().map(Vec::len).sum::<usize>()
    }
}

/// `date=d` for `ep`: the request whose freshness a cross-section follows.
pub fn day_request(ep: &'static Endpoint, d: NaiveDate) -> CanonicalRequest {
    let mut params = BTreeMap::new();
    params.insert("date", crate::jst::fmt_date(d));
    CanonicalRequest {
        endpoint: ep,
        params,
    }
}

/// Days the equity market is closed (`docs/row-store.md`), from the held trading calendar
/// (`HolDiv` 0: non-business day, 3: holiday trading of derivatives only) and the weekend
/// rule, which needs no calendar. Holidays are never guessed: a weekday the held calendar
/// does not cover is unknown until the upstream's calendar is fetched.
#[derive(Debug, Default)]
pub struct TradingCalendar {
    /// Date -> `HolDiv` as the upstream sent it.
    days: BTreeMap<NaiveDate, String>,
}

impl TradingCalendar {
    pub fn insert(&mut self, d: NaiveDate, hol_div: String) {
        self.days.insert(d, hol_div);
    }

    /// `Some(true)` closed, `Some(false)` open, `None` unknown (a weekday not in the calendar).
    pub fn is_closed(&self, d: NaiveDate) -> Option<bool> {
        use chrono::{Datelike, Weekday};
        if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            return Some(true);
        }
        self.days.get(&d).map(|div| div == "0" || div == "3")
    }

    /// The business days in `[from, to]`, if the calendar covers every day of it.
    pub fn business_days(&self, from: NaiveDate, to: NaiveDate) -> Option<Vec<NaiveDate>> {
        let mut out = Vec::new();
        let mut d = from;
        while d <= to {
            if !self.is_closed(d)? {
                out.push(d);
            }
            d = d.succ_opt()?;
        }
        Some(out)
    }

    pub fn len(&self) -> usize {
        self.days.len()
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jst;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, m, day).unwrap()
    }

    #[test]
    fn weekends_are_closed_without_a_calendar_and_holidays_with_one() {
        let mut cal = TradingCalendar::default();
        assert_eq!(cal.is_closed(d(9, 13)), Some(true)); // Saturday
        assert_eq!(cal.is_closed(d(9, 15)), None);
        cal.insert(d(9, 15), "0".into());
        cal.insert(d(9, 16), "1".into());
        assert_eq!(cal.is_closed(d(9, 15)), Some(true));
        assert_eq!(cal.business_days(d(9, 13), d(9, 16)), Some(vec![d(9, 16)]));
        assert_eq!(cal.business_days(d(9, 13), d(9, 17)), None);
    }

    #[test]
    fn settled_requests_outlive_the_slice_freshness_and_splits_dirty_old_sections() {
        let ep = crate::catalog::find("/equities/bars/daily").unwrap();
        let fetched = jst::at(d(9, 30), 20, 0);
        let whole = Slice {
            from: OPEN_FROM,
            to: OPEN_TO,
            fetched_at: fetched,
            fresh_until: jst::at(d(10, 1), 16, 30),
        };
        let mut cov = Coverage::default();
        cov.add_code("72030", whole);
        let later = jst::at(d(10, 3), 9, 0);
        let old = day_request(ep, d(9, 5));
        assert!(
            cov.code_slice(ep, "72030", (d(9, 5), d(9, 5)), &old, later)
                .is_some()
        );
        let recent = day_request(ep, d(9, 30));
        assert!(
            cov.code_slice(ep, "72030", (d(9, 30), d(9, 30)), &recent, later)
                .is_none()
        );

        cov.add_date(d(9, 5), whole);
        let published = jst::at(d(10, 2), 18, 0);
        cov.split(
            "72030",
            Dirty {
                ex_date: d(10, 2),
                published,
            },
        );
        assert!(cov.by_code["72030"].is_empty());
        assert_eq!(cov.dirty_in_section(d(9, 5)), Some("72030"));
        cov.add_code(
            "72030",
            Slice {
                fetched_at: later,
                ..whole
            },
        );
        assert_eq!(cov.dirty_in_section(d(9, 5)), None);
    }
}
