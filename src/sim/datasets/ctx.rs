//! What a generator knows about one request ([`Ctx`]): the market, the validated request,
//! the plan and its history window, "now" in UTC and JST, the simulator's own origin for
//! fake download URLs and the bulk corrections made so far; plus the publication-time rule
//! most daily datasets share ([`published_day`]). Invariant: [`Ctx::range`] never reaches outside the plan window,
//! the simulated history or the last published day.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike, Utc};

use super::bulk_files::Corrections;
use super::docs::DocsMemo;
use crate::catalog::{Endpoint, Plan};
use crate::request::CanonicalRequest;
use crate::sim::calendar;
use crate::sim::market::{Issue, Market, history_start};

/// Everything a generator needs to know about one request.
pub struct Ctx<'a> {
    pub m: &'a Market,
    pub req: &'a CanonicalRequest,
    pub plan: Plan,
    pub now: DateTime<Utc>,
    pub now_jst: NaiveDateTime,
    pub today: NaiveDate,
    /// The plan's history window.
    pub lo: NaiveDate,
    pub hi: NaiveDate,
    /// `http://host:port` of this simulator, for fake download URLs.
    pub origin: String,
    /// Bulk files replaced so far (`POST /__sim/bulk/correct`).
    pub corrections: &'a Corrections,
    /// Filing documents derived by earlier cross-sections of the same run (a bulk file's
    /// days), when the run keeps them.
    pub docs: Option<&'a DocsMemo>,
}

impl<'a> Ctx<'a> {
    pub fn endpoint(&self) -> &'static Endpoint {
        self.req.endpoint
    }

    pub fn fields(&self) -> &'static [&'static str] {
        self.req.endpoint.fields()
    }

    pub fn date(&self, name: &str) -> Option<NaiveDate> {
        self.req.date_param(name)
    }

    /// The last day whose daily data (16:30 JST) is published.
    pub fn last_close(&self) -> NaiveDate {
        published_day(self.now_jst, 16, 30)
    }

    /// Days asked for, clipped to the plan window and to `last`: `date`, `from`/`to`, or the
    /// whole window.
    pub fn range(&self, last: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let (a, b) = if let Some(d) = self.date("date") {
            (d, d)
        } else {
            (
                self.date("from").unwrap_or(self.lo),
                self.date("to").unwrap_or(self.hi),
            )
        };
        let a = a.max(self.lo).max(history_start());
        let b = b.min(self.hi).min(last);
        (a <= b).then_some((a, b))
    }

    pub fn business_days(&self, last: NaiveDate) -> Cow<'static, [NaiveDate]> {
        match self.range(last) {
            Some((a, b)) => calendar::business_days(a, b),
            None => Cow::Borrowed(&[]),
        }
    }

    /// Issues the request is about: the one named by `code`, else all.
    pub fn issues(&self) -> Vec<&'a Issue> {
        match self.req.code() {
            Some(c) => self.m.issue(c).into_iter().collect(),
            None => self.m.issues.iter().collect(),
        }
    }
}

/// The latest day whose data published at `h:m` JST on business days is out at `now`.
pub fn published_day(now: NaiveDateTime, h: u32, m: u32) -> NaiveDate {
    let d = now.date();
    let t = now.time();
    if calendar::is_business_day(d) && (t.hour(), t.minute()) >= (h, m) {
        d
    } else {
        calendar::prev_business_day(d)
    }
}
