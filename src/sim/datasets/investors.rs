//! `/equities/investor-types`: weekly trading value by investor type and market section,
//! published the 4th business day after the week (~18:00 JST). Invariant: for every investor
//! type, `Tot` is `Sell + Buy` and `Bal` is `Buy - Sell`.

use chrono::{Datelike, NaiveDate};

use super::ctx::{Ctx, published_day};
use super::json::{V, row};
use crate::jst;
use crate::sim::calendar::{self, ymd};
use crate::sim::random::{h, hs, unit};

const SECTIONS: &[&str] = &["TSEPrime", "TSEStandard", "TSEGrowth", "TokyoNagoya"];

/// `/equities/investor-types`: weekly, published the 4th business day after the week.
pub fn investor_types(ctx: &Ctx) -> Vec<String> {
    let want = ctx.req.get("section");
    let lo = ctx
        .date("from")
        .unwrap_or(ctx.lo)
        .max(ctx.lo)
        .max(ymd(2017, 1, 2));
    let hi = ctx.date("to").unwrap_or(ctx.today).min(ctx.today);
    let visible = published_day(ctx.now_jst, 18, 0);
    let mut out = Vec::new();
    for days in calendar::business_weeks(lo, hi) {
        let (Some(st), Some(en)) = (days.first(), days.last()) else {
            continue;
        };
        let week = Week {
            st: *st,
            en: *en,
            pubd: calendar::add_business_days(*en, 4),
        };
        if week.pubd > visible || week.pubd < lo || week.pubd > hi {
            continue;
        }
        for (si, sec) in SECTIONS.iter().enumerate() {
            if want.is_some_and(|w| w != *sec) {
                continue;
            }
            out.push(section_row(ctx, &week, si, sec));
        }
    }
    out
}

/// A week's first and last business days and the day its figures are published.
struct Week {
    st: NaiveDate,
    en: NaiveDate,
    pubd: NaiveDate,
}

/// The row of section `si` for `week`.
fn section_row(ctx: &Ctx, week: &Week, si: usize, sec: &'static str) -> String {
    let r = |k: &str| {
        unit(h(&[
            ctx.m.seed,
            140,
            si as u64,
            week.en.num_days_from_ce() as u64,
            hs(k),
        ]))
    };
    let scale = [1.0, 0.15, 0.08, 1.1][si] * 1e9;
    row(ctx.fields(), |k| match k {
        "PubDate" => V::St(jst::fmt_date(week.pubd)),
        "StDate" => V::St(jst::fmt_date(week.st)),
        "EnDate" => V::St(jst::fmt_date(week.en)),
        "Section" => V::S(sec),
        k => flow_value(k, scale, &r),
    })
}

/// An investor type's `Sell`, `Buy`, `Tot` or `Bal` for key `k` (`PropSell`, `BrkBuy`, ...):
/// sell and buy values drawn per type, at the section's `scale`.
fn flow_value(k: &str, scale: f64, r: &impl Fn(&str) -> f64) -> V<'static> {
    let stem = k.trim_end_matches(['S', 'e', 'l', 'B', 'u', 'y', 'T', 'o', 't', 'a']);
    let sell = (scale * (1.0 + 30.0 * r(&format!("{stem}S"))) / 1000.0).round() * 1000.0;
    let buy = (scale * (1.0 + 30.0 * r(&format!("{stem}B"))) / 1000.0).round() * 1000.0;
    match &k[stem.len()..] {
        "Sell" => V::N(sell),
        "Buy" => V::N(buy),
        "Tot" => V::N(sell + buy),
        "Bal" => V::N(buy - sell),
        _ => V::N(0.0),
    }
}
