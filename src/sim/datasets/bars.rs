//! Price bars: daily bars (raw and split-adjusted, with the Premium-only morning/afternoon
//! keys), the morning session and minute bars, all read from the market's random-access
//! price model. Invariants: adjusted values use only splits visible by the last published
//! day (`docs/upstream.md`); a no-trade day has a row with null prices; rows run by code,
//! then date.

use chrono::{Datelike, NaiveDate};

use super::ctx::{Ctx, published_day};
use super::json::{V, row};
use crate::catalog::Plan;
use crate::jst;
use crate::sim::market::{Issue, RawBar};
use crate::sim::random::{h, unit};

/// Number of daily-bar keys below Premium (`Date` .. `AdjVo`).
const BASE_KEYS: usize = 16;

fn daily_keys(ctx: &Ctx) -> &'static [&'static str] {
    let f = ctx.fields();
    if ctx.plan == Plan::Premium {
        f
    } else {
        &f[..BASE_KEYS]
    }
}

/// One `/equities/bars/daily` row; `visible` is the last published day (splits beyond it are
/// not yet known, so they do not adjust anything).
pub fn daily_row(
    keys: &'static [&'static str],
    is: &Issue,
    d: NaiveDate,
    visible: NaiveDate,
) -> String {
    let date = jst::fmt_date(d);
    let bar = is.raw_bar(d);
    let mult = is.adj_multiplier(d, visible);
    let factor = is.adj_factor_on(d);
    row(keys, |k| match (k, bar) {
        ("Date", _) => V::St(date.clone()),
        ("Code", _) => V::S(&is.code),
        ("AdjFactor", _) => V::N(factor),
        // No trades: every price, volume and adjusted value is null.
        ("UL" | "LL" | "MUL" | "MLL" | "AUL" | "ALL", None) => V::S("0"),
        (_, None) => V::Null,
        (k, Some(b)) => traded_value(k, &b, mult),
    })
}

/// A daily-bar key's value on a day with trades; `mult` adjusts prices (and divides volumes)
/// for the splits visible since.
fn traded_value(k: &str, b: &RawBar, mult: f64) -> V<'static> {
    let avo = b.vo - b.mvo;
    let ava = b.va - b.mva;
    let flag = |on: bool| V::S(if on { "1" } else { "0" });
    match k {
        "O" | "MO" => V::N(b.o),
        "H" => V::N(b.h),
        "L" => V::N(b.l),
        "C" | "AC" => V::N(b.c),
        "UL" | "AUL" => flag(b.upper),
        "LL" => flag(b.lower),
        "MUL" | "MLL" | "ALL" => V::S("0"),
        "Vo" => V::N(b.vo),
        "Va" => V::N(b.va),
        "AdjO" | "MAdjO" => V::N(b.o * mult),
        "AdjH" => V::N(b.h * mult),
        "AdjL" => V::N(b.l * mult),
        "AdjC" | "AAdjC" => V::N(b.c * mult),
        "AdjVo" => V::N(b.vo / mult),
        "MH" => V::N(b.mh),
        "ML" => V::N(b.ml),
        "MC" => V::N(b.mc),
        "MVo" => V::N(b.mvo),
        "MVa" => V::N(b.mva),
        "MAdjH" => V::N(b.mh * mult),
        "MAdjL" => V::N(b.ml * mult),
        "MAdjC" => V::N(b.mc * mult),
        "MAdjVo" => V::N(b.mvo / mult),
        "AO" => V::N(b.ao),
        "AH" => V::N(b.ah),
        "AL" => V::N(b.al),
        "AVo" => V::N(avo),
        "AVa" => V::N(ava),
        "AAdjO" => V::N(b.ao * mult),
        "AAdjH" => V::N(b.ah * mult),
        "AAdjL" => V::N(b.al * mult),
        "AAdjVo" => V::N(avo / mult),
        _ => V::Null,
    }
}

pub fn daily(ctx: &Ctx) -> Vec<String> {
    let keys = daily_keys(ctx);
    let visible = ctx.last_close();
    let days = ctx.business_days(visible);
    let mut out = Vec::new();
    // Upstream orders by code then date for code queries, by code for a date.
    for is in ctx.issues() {
        for d in days.iter().filter(|d| **d >= is.listed) {
            out.push(daily_row(keys, is, *d, visible));
        }
    }
    out
}

/// `/equities/bars/daily/am`: the latest morning session (published ~12:00 JST).
pub fn morning(ctx: &Ctx) -> Vec<String> {
    let d = published_day(ctx.now_jst, 11, 45);
    let date = jst::fmt_date(d);
    let mut out = Vec::new();
    for is in ctx.issues().into_iter().filter(|i| i.listed <= d) {
        let b = is.raw_bar(d);
        out.push(row(ctx.fields(), |k| match (k, b) {
            ("Date", _) => V::St(date.clone()),
            ("Code", _) => V::S(&is.code),
            (_, None) => V::Null,
            ("MO", Some(b)) => V::N(b.o),
            ("MH", Some(b)) => V::N(b.mh),
            ("ML", Some(b)) => V::N(b.ml),
            ("MC", Some(b)) => V::N(b.mc),
            ("MVo", Some(b)) => V::N(b.mvo),
            ("MVa", Some(b)) => V::N(b.mva),
            _ => V::Null,
        }));
    }
    out
}

/// Issues a date cross-section of minute bars covers: the full market would be over a
/// million rows a day, far more than any test needs.
const MINUTE_ISSUES: usize = 200;

pub fn minute(ctx: &Ctx) -> Vec<String> {
    let visible = ctx.last_close();
    let issues = ctx.issues();
    let cross = ctx.req.code().is_none();
    let all_days = ctx.business_days(visible);
    let mut days: &[NaiveDate] = &all_days;
    if !cross && ctx.date("date").is_none() && ctx.date("from").is_none() {
        // Whole history of one code: the latest 20 sessions keep the answer reasonable.
        days = &days[days.len().saturating_sub(20)..];
    }
    let mut out = Vec::new();
    for is in issues
        .into_iter()
        .take(if cross { MINUTE_ISSUES } else { 1 })
    {
        for d in days.iter().filter(|d| **d >= is.listed) {
            let Some(b) = is.raw_bar(*d) else { continue };
            let date = jst::fmt_date(*d);
            let sessions = [(9 * 60, 11 * 60 + 30), (12 * 60 + 30, 15 * 60 + 30)];
            let n = (150 + 180) as f64;
            let mut i = 0.0;
            let mut last = b.o;
            for (st, en) in sessions {
                for m in st..en {
                    // Walk from the open to the close through the day's range.
                    let target = b.o + (b.c - b.o) * (i / n);
                    let r = unit(h(&[is.hash, 5, d.num_days_from_ce() as u64, m as u64]));
                    let p = (target + (r - 0.5) * (b.h - b.l) * 0.3)
                        .clamp(b.l, b.h)
                        .round();
                    let (o, c) = (last, p);
                    let vo = ((b.vo / n) * (0.5 + r) / 100.0).round() * 100.0;
                    let time = format!("{:02}:{:02}", m / 60, m % 60);
                    out.push(row(ctx.fields(), |k| match k {
                        "Date" => V::St(date.clone()),
                        "Time" => V::St(time.clone()),
                        "Code" => V::S(&is.code),
                        "O" => V::N(o),
                        "H" => V::N(o.max(c)),
                        "L" => V::N(o.min(c)),
                        "C" => V::N(c),
                        "Vo" => V::N(vo),
                        "Va" => V::N((vo * (o + c) / 2.0).round()),
                        _ => V::Null,
                    }));
                    last = p;
                    i += 1.0;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::fields_of;
    use crate::sim::calendar::{self, ymd};
    use crate::sim::market::Market;

    fn parse(s: &str) -> serde_json::Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn adjusted_history_is_raw_times_visible_later_factors() {
        let m = Market::new(42, 4000);
        let keys = fields_of("/equities/bars/daily");
        // Codes with at least two splits, one of them still in the future.
        let visible = ymd(2026, 11, 20);
        let mut checked = 0;
        for is in m
            .issues
            .iter()
            .filter(|i| i.splits.len() >= 2 && i.splits.iter().any(|s| s.ex_date > visible))
        {
            let mut factors_seen = 0;
            for d in calendar::business_days(is.listed, visible).iter() {
                let r = parse(&daily_row(keys, is, *d, visible));
                let f = r["AdjFactor"].as_f64().unwrap();
                if f != 1.0 {
                    factors_seen += 1;
                }
                let Some(c) = r["C"].as_f64() else { continue };
                let expect: f64 = is
                    .splits
                    .iter()
                    .filter(|s| s.ex_date > *d && s.ex_date <= visible)
                    .map(|s| s.factor)
                    .product();
                // serde_json's default float parser may be one ULP off; compare relatively.
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
                assert!(close(r["AdjC"].as_f64().unwrap(), c * expect), "{r}");
                let vo = r["Vo"].as_f64().unwrap();
                assert!(close(r["AdjVo"].as_f64().unwrap(), vo / expect), "{r}");
                assert!(r["AdjL"].as_f64() <= r["AdjC"].as_f64());
            }
            let visible_splits = is.splits.iter().filter(|s| s.ex_date <= visible).count();
            assert_eq!(factors_seen, visible_splits, "{}", is.code);
            checked += 1;
            if checked == 20 {
                break;
            }
        }
        assert!(checked >= 5, "{checked}");
    }

    #[test]
    fn rows_are_deterministic_by_seed() {
        let keys = fields_of("/equities/bars/daily");
        let d = ymd(2025, 6, 2);
        let row_of = |seed| {
            let m = Market::new(seed, 200);
            let is = m.issue("72030").unwrap().clone();
            daily_row(keys, &is, d, d)
        };
        assert_eq!(row_of(42), row_of(42));
        assert_ne!(row_of(42), row_of(43));
    }
}
