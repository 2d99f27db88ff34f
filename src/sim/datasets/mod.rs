//! Row generation per endpoint. Each generator walks `catalog::fields_of(path)` in order and
//! asks for a value per key, so every row carries exactly the upstream's keys in the
//! upstream's order; rows are written straight to compact JSON because date cross-sections
//! over thousands of issues must stay fast in debug builds too.

mod bars;
pub mod fins;
mod margin;
mod other;

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike, Utc};

use super::calendar;
use super::market::{Issue, Market};
use crate::catalog::{Endpoint, Plan};
use crate::request::CanonicalRequest;

/// A JSON value as the upstream sends it.
pub enum V<'a> {
    Null,
    S(&'a str),
    St(String),
    N(f64),
    B(bool),
    /// Already-serialised JSON (objects, arrays).
    Raw(String),
}

pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Numbers the way Python's json and the upstream print them: integral floats keep `.0`.
pub fn push_num(out: &mut String, x: f64) {
    use std::fmt::Write;
    if !x.is_finite() {
        out.push_str("null");
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        let _ = write!(out, "{x:.1}");
    } else {
        let _ = write!(out, "{x}");
    }
}

pub fn push_val(out: &mut String, v: &V) {
    match v {
        V::Null => out.push_str("null"),
        V::S(s) => push_str(out, s),
        V::St(s) => push_str(out, s),
        V::N(x) => push_num(out, *x),
        V::B(b) => out.push_str(if *b { "true" } else { "false" }),
        V::Raw(r) => out.push_str(r),
    }
}

/// One JSON object with `keys` in order, values from `f`.
pub fn row<'k>(keys: &[&'k str], mut f: impl FnMut(&'k str) -> V<'k>) -> String {
    let mut out = String::with_capacity(keys.len() * 16);
    out.push('{');
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(&mut out, k);
        out.push(':');
        push_val(&mut out, &f(k));
    }
    out.push('}');
    out
}

/// A compact JSON object from (key, value) pairs.
pub fn obj(pairs: &[(&str, V)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(&mut out, k);
        out.push(':');
        push_val(&mut out, v);
    }
    out.push('}');
    out
}

pub fn fmt_num_str(x: f64) -> String {
    let mut s = String::new();
    if x.fract() == 0.0 && x.abs() < 1e15 {
        s = format!("{}", x as i64);
    } else {
        push_num(&mut s, (x * 100.0).round() / 100.0);
    }
    s
}

/// What a generator produces.
pub enum Output {
    Rows(Vec<String>),
    /// A single object body (`/bulk/get`, `/td/files`, `/td/bulk`).
    Object(String),
}

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
        let a = a.max(self.lo).max(super::market::history_start());
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

pub use crate::request::history_window as window;

/// Generates the full (unpaged) answer for a validated request.
pub fn generate(ctx: &Ctx) -> Output {
    match ctx.endpoint().path {
        "/equities/bars/daily" => Output::Rows(bars::daily(ctx)),
        "/equities/bars/daily/am" => Output::Rows(bars::morning(ctx)),
        "/equities/bars/minute" => Output::Rows(bars::minute(ctx)),
        "/equities/valuation" => Output::Rows(bars::valuation(ctx)),
        "/markets/breakdown" => Output::Rows(bars::breakdown(ctx)),
        "/equities/master" => Output::Rows(other::master(ctx)),
        "/markets/calendar" => Output::Rows(other::calendar(ctx)),
        "/fins/summary" => Output::Rows(fins::summary(ctx)),
        "/fins/details" => Output::Rows(fins::details(ctx)),
        "/fins/dividend" => Output::Rows(fins::dividend(ctx)),
        "/fins/earnings-date" => Output::Rows(fins::earnings_date(ctx)),
        "/equities/earnings-calendar" => Output::Rows(fins::earnings_calendar(ctx)),
        "/markets/margin-interest" => Output::Rows(margin::interest(ctx)),
        "/markets/margin-alert" => Output::Rows(margin::alert(ctx)),
        "/markets/short-ratio" => Output::Rows(margin::short_ratio(ctx)),
        "/markets/short-sale-report" => Output::Rows(margin::short_sale_report(ctx)),
        "/equities/investor-types" => Output::Rows(other::investor_types(ctx)),
        "/indices/bars/daily" => Output::Rows(other::indices(ctx)),
        "/indices/bars/daily/topix" => Output::Rows(other::topix(ctx)),
        "/derivatives/bars/daily/futures" => Output::Rows(other::futures(ctx)),
        "/derivatives/bars/daily/options" => Output::Rows(other::options(ctx, false)),
        "/derivatives/bars/daily/options/225" => Output::Rows(other::options(ctx, true)),
        "/bulk/list" => Output::Rows(other::bulk_list(ctx)),
        "/bulk/get" => Output::Object(other::bulk_get(ctx)),
        "/td/list" => Output::Rows(other::td_list(ctx)),
        "/td/files" => Output::Object(other::td_files(ctx)),
        "/td/bulk" => Output::Object(other::td_bulk(ctx)),
        "/edinet/major-shareholders"
        | "/edinet/cross-shareholdings"
        | "/edinet/large-volume-shareholders" => Output::Rows(other::edinet(ctx)),
        _ => Output::Rows(Vec::new()),
    }
}
