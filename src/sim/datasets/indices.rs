//! Index bars: `/indices/bars/daily` for every index code in the vendored JPX reference data
//! and `/indices/bars/daily/topix`. Levels are smooth noise around a slow upward drift, and
//! TOPIX (`0000`) is also the level futures and index options are priced from.
//! Invariant: a bar's high and low bound its open and close.

use chrono::NaiveDate;

use super::ctx::{Ctx, published_day};
use super::json::{V, row};
use crate::jst;
use crate::sim::market::ref_names;
use crate::sim::random::{day_num, h, hs, noise, unit};

/// Index codes from the vendored reference data.
fn index_codes() -> &'static [String] {
    &ref_names().index_codes
}

pub(super) fn index_bar(seed: u64, code: &str, d: NaiveDate) -> (f64, f64, f64, f64) {
    let key = h(&[seed, 150, hs(code)]);
    let t = day_num(d) as f64;
    let lvl = |t: f64| {
        let base = if code == "0000" {
            2500.0
        } else {
            500.0 + 2000.0 * unit(key)
        };
        let x: f64 = [(300.0, 0.25), (60.0, 0.08), (10.0, 0.03), (2.0, 0.01)]
            .iter()
            .enumerate()
            .map(|(k, (p, a))| a * noise(h(&[key, k as u64]), t / p))
            .sum();
        // A slow upward drift, as TOPIX had over the period.
        base * (x + (t - 6200.0) / 3650.0 * 0.3).exp()
    };
    let r2 = |x: f64| (x * 100.0).round() / 100.0;
    let c = r2(lvl(t));
    let o = r2(lvl(t - 0.6));
    let hi = r2(o.max(c) * (1.0 + 0.004 * unit(h(&[key, 9, t as u64]))));
    let lo = r2(o.min(c) * (1.0 - 0.004 * unit(h(&[key, 10, t as u64]))));
    (o, hi, lo, c)
}

pub fn indices(ctx: &Ctx) -> Vec<String> {
    let visible = published_day(ctx.now_jst, 16, 30);
    let days = ctx.business_days(visible);
    let codes: Vec<&str> = match ctx.req.get("code") {
        Some(c) => index_codes()
            .iter()
            .map(String::as_str)
            .filter(|x| *x == c)
            .collect(),
        None => index_codes().iter().map(String::as_str).collect(),
    };
    let mut out = Vec::new();
    for c in codes {
        for d in days.iter() {
            let (o, hi, lo, cl) = index_bar(ctx.m.seed, c, *d);
            out.push(row(ctx.fields(), |k| match k {
                "Date" => V::St(jst::fmt_date(*d)),
                "Code" => V::S(c),
                "O" => V::N(o),
                "H" => V::N(hi),
                "L" => V::N(lo),
                "C" => V::N(cl),
                _ => V::Null,
            }));
        }
    }
    out
}

pub fn topix(ctx: &Ctx) -> Vec<String> {
    let visible = published_day(ctx.now_jst, 16, 30);
    ctx.business_days(visible)
        .iter()
        .map(|d| {
            let (o, hi, lo, c) = index_bar(ctx.m.seed, "0000", *d);
            row(ctx.fields(), |k| match k {
                "Date" => V::St(jst::fmt_date(*d)),
                "O" => V::N(o),
                "H" => V::N(hi),
                "L" => V::N(lo),
                "C" => V::N(c),
                _ => V::Null,
            })
        })
        .collect()
}
