//! Per-issue daily figures derived from the bar: valuation ratios (`/equities/valuation`)
//! and the trade-type breakdown (`/markets/breakdown`, published ~18:00 JST). Invariants:
//! no row on a no-trade day; the breakdown's sell side and buy side each sum to the day's
//! volume and value (up to rounding).

use chrono::{Datelike, NaiveDate};

use super::ctx::{Ctx, published_day};
use super::json::{V, row};
use crate::jst;
use crate::sim::market::Issue;
use crate::sim::random::{h, unit};

/// Per-share profit level of an issue, stable over time (for valuation ratios).
fn eps_level(is: &Issue, d: NaiveDate) -> f64 {
    let yield_ = 0.03 + 0.07 * unit(h(&[is.hash, 31, d.year() as u64]));
    let price = is.raw_bar(d).map(|b| b.c).unwrap_or(is.base_price);
    (price * yield_ * 100.0).round() / 100.0
}

pub fn valuation(ctx: &Ctx) -> Vec<String> {
    let visible = ctx.last_close();
    let days = ctx.business_days(visible);
    let mut out = Vec::new();
    for is in ctx.issues() {
        for d in days.iter().filter(|d| **d >= is.listed) {
            let date = jst::fmt_date(*d);
            let Some(b) = is.raw_bar(*d) else { continue };
            let eps = eps_level(is, *d);
            let feps = (eps * (0.9 + 0.3 * unit(h(&[is.hash, 32, d.year() as u64]))) * 100.0)
                .round()
                / 100.0;
            let bps = (eps * (8.0 + 10.0 * unit(h(&[is.hash, 33]))) * 100.0).round() / 100.0;
            out.push(row(ctx.fields(), |k| match k {
                "Date" => V::St(date.clone()),
                "Code" => V::S(&is.code),
                "EPS" => V::N(eps),
                "FwdEPS" => V::N(feps),
                "BPS" => V::N(bps),
                "ROE" => V::N((eps / bps * 10000.0).round() / 100.0),
                "FwdROE" => V::N((feps / bps * 10000.0).round() / 100.0),
                "PER" => V::N((b.c / eps * 100.0).round() / 100.0),
                "FwdPER" => V::N((b.c / feps * 100.0).round() / 100.0),
                "PBR" => V::N((b.c / bps * 100.0).round() / 100.0),
                "MktCap" => V::N((b.c * is.shares_at(*d)).round()),
                _ => V::Null,
            }));
        }
    }
    out
}

/// `/markets/breakdown`: the day's value and volume split by trade type (published ~18:00).
pub fn breakdown(ctx: &Ctx) -> Vec<String> {
    let visible = published_day(ctx.now_jst, 18, 0);
    let days = ctx.business_days(visible);
    let mut out = Vec::new();
    for is in ctx.issues() {
        for d in days.iter().filter(|d| **d >= is.listed) {
            let Some(b) = is.raw_bar(*d) else { continue };
            let date = jst::fmt_date(*d);
            let shares: Vec<f64> = (0..7)
                .map(|i| 0.05 + unit(h(&[is.hash, 40 + i, d.num_days_from_ce() as u64])))
                .collect();
            // Sell side and buy side each sum to the day's volume (and value).
            let part = |i: usize, x: f64| {
                let (a, b) = if i < 4 { (0, 4) } else { (4, 7) };
                let s: f64 = shares[a..b].iter().sum();
                (x * shares[i] / s).round()
            };
            let names = [
                ("LongSellVa", 0, true),
                ("ShrtNoMrgnVa", 1, true),
                ("MrgnSellNewVa", 2, true),
                ("MrgnSellCloseVa", 3, true),
                ("LongBuyVa", 4, true),
                ("MrgnBuyNewVa", 5, true),
                ("MrgnBuyCloseVa", 6, true),
                ("LongSellVo", 0, false),
                ("ShrtNoMrgnVo", 1, false),
                ("MrgnSellNewVo", 2, false),
                ("MrgnSellCloseVo", 3, false),
                ("LongBuyVo", 4, false),
                ("MrgnBuyNewVo", 5, false),
                ("MrgnBuyCloseVo", 6, false),
            ];
            out.push(row(ctx.fields(), |k| match k {
                "Date" => V::St(date.clone()),
                "Code" => V::S(&is.code),
                _ => match names.iter().find(|n| n.0 == k) {
                    Some((_, i, va)) => V::N(part(*i, if *va { b.va } else { b.vo })),
                    None => V::Null,
                },
            }));
        }
    }
    out
}
