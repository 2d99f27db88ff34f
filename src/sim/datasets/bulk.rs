//! Bulk files: `/bulk/list` (one monthly CSV per dataset and month of history) and
//! `/bulk/get` (a fake presigned URL on the simulator's own host, served by
//! `GET /__sim/files/...`). Invariant: a key from the list and one built from
//! `endpoint` + `date` name the same file.

use chrono::{Datelike, Duration, NaiveDate};

use super::ctx::Ctx;
use super::json::{V, obj, row};
use crate::jst;
use crate::sim::calendar::{add_months, ymd};
use crate::sim::random::{h, hs, unit};

const BULK_ENDPOINTS: &[&str] = &[
    "/equities/master",
    "/equities/bars/daily",
    "/fins/summary",
    "/equities/investor-types",
    "/markets/margin-interest",
    "/indices/bars/daily",
];

fn bulk_key(endpoint: &str, y: i32, m: u32) -> String {
    let stem = endpoint.trim_start_matches('/').replace(['/', '-'], "_");
    format!(
        "{}/historical/{y}/{stem}_{y}{m:02}.csv.gz",
        endpoint.trim_start_matches('/')
    )
}

/// First day of the month a `YYYY-MM` (or `YYYY-MM-DD`) parameter names.
fn month_of(v: &str) -> Option<NaiveDate> {
    if v.as_bytes().get(4) != Some(&b'-') {
        return None;
    }
    let y = v.get(..4)?.parse().ok()?;
    let m = v.get(5..7)?.parse().ok()?;
    NaiveDate::from_ymd_opt(y, m, 1)
}

/// `/bulk/list`: one monthly CSV per dataset and month of history.
pub fn bulk_list(ctx: &Ctx) -> Vec<String> {
    let endpoints: Vec<&str> = match ctx.req.get("endpoint") {
        Some(e) => BULK_ENDPOINTS.iter().copied().filter(|x| *x == e).collect(),
        None => BULK_ENDPOINTS.to_vec(),
    };
    let (lo, hi) = if let Some(d) = ctx.req.get("date") {
        let m = month_of(d).unwrap_or(ymd(2000, 1, 1));
        (m, m)
    } else {
        let f = |n: &str, dflt: NaiveDate| ctx.req.get(n).and_then(month_of).unwrap_or(dflt);
        (f("from", ctx.lo.max(ymd(2017, 1, 1))), f("to", ctx.today))
    };
    let mut out = Vec::new();
    for e in endpoints {
        let mut d = add_months(lo, 0).max(ymd(2017, 1, 1));
        while d <= hi && d <= ctx.today {
            let modified = (d + Duration::days(40)).min(ctx.today);
            out.push(row(ctx.fields(), |k| match k {
                "Key" => V::St(bulk_key(e, d.year(), d.month())),
                "LastModified" => V::St(format!("{}T18:00:00Z", jst::fmt_date(modified))),
                "Size" => V::N(
                    (1e5 * (1.0 + 50.0 * unit(h(&[hs(e), d.num_days_from_ce() as u64])))).round(),
                ),
                _ => V::Null,
            }));
            d = add_months(d, 1);
        }
    }
    out
}

/// A fake presigned URL on the simulator's own host, valid for 5 minutes.
pub fn bulk_get(ctx: &Ctx) -> String {
    let key = match (
        ctx.req.get("key"),
        ctx.req.get("endpoint"),
        ctx.req.get("date"),
    ) {
        (Some(k), _, _) => k.to_string(),
        (_, Some(e), Some(d)) => bulk_key(
            e,
            d[..4].parse().unwrap_or(2024),
            d[5..7].parse().unwrap_or(1),
        ),
        _ => "unknown.csv.gz".into(),
    };
    let exp = ctx.now.timestamp() + 300;
    obj(&[(
        "url",
        V::St(format!(
            "{}/__sim/files/{key}?X-Amz-Expires=300&Expires={exp}&Signature={:016x}",
            ctx.origin,
            h(&[ctx.m.seed, hs(&key)])
        )),
    )])
}
