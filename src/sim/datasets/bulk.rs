//! `/bulk/list` and `/bulk/get`. The list shows, per bulk dataset the plan may read, one
//! file per complete month of the plan's history window and one per business day of the
//! months not yet filed whole (see `bulk_files`); `/bulk/get` answers a presigned link to
//! `GET /__sim/files/{key}` on the simulator's own host, valid 5 minutes by its clock.
//! Invariant: a key from the list and one built from `endpoint` + `date` name the same file.

use chrono::{Datelike, Duration, NaiveDate};

use super::bulk_files::{BulkFile, Period, bulk_endpoints, fmt_time, key_for, signature};
use super::ctx::Ctx;
use super::json::{V, obj, row};
use crate::catalog;
use crate::sim::calendar::{add_months, business_days, ymd};
use crate::sim::market::history_start;

/// How long a presigned link is valid, in seconds.
pub const LINK_SECS: i64 = 300;

/// The days a `/bulk/*` date names: `YYYY-MM` a month, `YYYY-MM-DD` a day.
fn days_of(v: &str) -> Option<(NaiveDate, NaiveDate)> {
    if v.len() == 10 {
        let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?;
        return Some((d, d));
    }
    let first = NaiveDate::parse_from_str(&format!("{v}-01"), "%Y-%m-%d").ok()?;
    Some(Period::Month(first).bounds())
}

/// The calendar days the request asks about: `date`, or `from`/`to` (months or days).
fn asked(ctx: &Ctx) -> (NaiveDate, NaiveDate) {
    if let Some(d) = ctx.req.get("date") {
        return days_of(d).unwrap_or((ymd(1900, 1, 1), ymd(1900, 1, 1)));
    }
    let lo = ctx.req.get("from").and_then(days_of).map(|r| r.0);
    let hi = ctx.req.get("to").and_then(days_of).map(|r| r.1);
    (lo.unwrap_or(NaiveDate::MIN), hi.unwrap_or(NaiveDate::MAX))
}

/// The files of `endpoint` the list shows now, oldest first.
fn listed_files(ctx: &Ctx, endpoint: &str) -> Vec<BulkFile> {
    let mut out = Vec::new();
    let mut month = add_months(ctx.lo.max(history_start()), 0);
    while month <= ctx.today {
        let Some(whole) = BulkFile::new(endpoint, Period::Month(month)) else {
            return out;
        };
        if whole.listed(ctx.lo, ctx.now) {
            out.push(whole);
        } else {
            let (a, b) = whole.period.bounds();
            for &d in business_days(a, b.min(ctx.today)).iter() {
                let f = BulkFile::new(endpoint, Period::Day(d)).expect("a bulk dataset");
                if f.listed(ctx.lo, ctx.now) {
                    out.push(f);
                }
            }
        }
        month = add_months(month, 1);
    }
    out
}

/// `/bulk/list`: `{Key, LastModified, Size}` per file, filtered by `endpoint` and the days
/// asked; datasets above the plan are left out.
pub fn bulk_list(ctx: &Ctx) -> Vec<String> {
    let readable = |e: &&str| catalog::find(e).is_some_and(|x| x.min_plan <= ctx.plan);
    let wanted = |e: &&str| ctx.req.get("endpoint").is_none_or(|w| w == *e);
    let (lo, hi) = asked(ctx);
    let mut out = Vec::new();
    for e in bulk_endpoints().filter(readable).filter(wanted) {
        for f in listed_files(ctx, e) {
            let (a, b) = f.period.bounds();
            if b < lo || a > hi {
                continue;
            }
            let key = f.key();
            let c = ctx.corrections.get(&key);
            out.push(row(ctx.fields(), |k| match k {
                "Key" => V::St(key.clone()),
                "LastModified" => V::St(fmt_time(f.last_modified(c))),
                "Size" => V::N(f.size(ctx.m.issues.len(), c) as f64),
                _ => V::Null,
            }));
        }
    }
    out
}

/// The key `/bulk/get` names: `key`, or `endpoint` + `date` (a month or a day).
fn requested_key(ctx: &Ctx) -> String {
    if let Some(k) = ctx.req.get("key") {
        return k.to_string();
    }
    let e = ctx.req.get("endpoint").unwrap_or_default();
    let d = ctx.req.get("date").unwrap_or_default();
    match days_of(d) {
        Some((a, b)) if a == b => key_for(e, Period::Day(a)),
        Some((a, _)) => key_for(e, Period::Month(ymd(a.year(), a.month(), 1))),
        None => key_for(e, Period::Month(ymd(1900, 1, 1))),
    }
}

/// Percent-encodes what a URL path must not carry raw (keys are normally plain).
fn encode_path(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A presigned link on the simulator's own host, valid for [`LINK_SECS`]. Like a real
/// presigned URL it is issued for any key: the file host answers 404 for a missing file.
pub fn bulk_get(ctx: &Ctx) -> String {
    let key = requested_key(ctx);
    let exp = (ctx.now + Duration::seconds(LINK_SECS)).timestamp();
    obj(&[(
        "url",
        V::St(format!(
            "{}/__sim/files/{}?X-Amz-Expires={LINK_SECS}&Expires={exp}&Signature={}",
            ctx.origin,
            encode_path(&key),
            signature(ctx.m.seed, &key, exp)
        )),
    )])
}
