//! Derivatives: daily bars of index futures and of index and equity options. Contracts are
//! the next quarterly months with their special quotation day (second Friday); a day's data
//! is out ~03:00 JST the next day, and since 2022-09-23 holidays with holiday trading (JPX)
//! have bars too. Invariant: a request for a day without trading, or not yet published,
//! gets no rows.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};

use super::ctx::Ctx;
use super::indices::index_bar;
use super::json::{V, row};
use crate::jst;
use crate::sim::calendar;
use crate::sim::random::{h, hs, unit};

/// Contract months listed on `d`: the next quarterly months.
fn contract_months(d: NaiveDate, n: usize) -> Vec<(i32, u32)> {
    let mut out = Vec::new();
    let (mut y, mut m) = (d.year(), d.month());
    while out.len() < n {
        if m % 3 == 0 {
            out.push((y, m));
        }
        m += 1;
        if m > 12 {
            m = 1;
            y += 1;
        }
    }
    out
}

/// Second Friday of a contract month: the special quotation day.
fn sq_day(y: i32, m: u32) -> NaiveDate {
    let d = calendar::nth_weekday(y, m, Weekday::Fri, 2);
    if calendar::is_business_day(d) {
        d
    } else {
        calendar::prev_business_day(d)
    }
}

/// Whether derivatives trade on `d`: every business day, and since 2022-09-23 the holidays
/// with holiday trading (`HolDiv` 3) too.
fn is_deriv_day(d: NaiveDate) -> bool {
    calendar::hol_div(d) != 0
}

/// The requested `date` if derivatives traded that day and its data is out at `now_jst`.
fn deriv_day_at(now_jst: NaiveDateTime, date: Option<NaiveDate>) -> Option<NaiveDate> {
    // A day's derivatives data is published ~03:00 JST the next day ("27:00").
    let mut visible = (now_jst - Duration::hours(27)).date();
    while !is_deriv_day(visible) {
        visible -= Duration::days(1);
    }
    date.filter(|d| *d <= visible && is_deriv_day(*d))
}

fn deriv_day(ctx: &Ctx) -> Option<NaiveDate> {
    deriv_day_at(ctx.now_jst, ctx.date("date"))
}

/// Futures products: category, tick size, and the multiple of TOPIX their price tracks.
const FUTURES: &[(&str, f64, f64)] = &[
    ("NK225F", 10.0, 13.5),
    ("NK225MF", 5.0, 13.5),
    ("TOPIXF", 0.5, 1.0),
    ("TOPIXMF", 0.25, 1.0),
];

pub fn futures(ctx: &Ctx) -> Vec<String> {
    let Some(d) = deriv_day(ctx) else {
        return Vec::new();
    };
    let cat = ctx.req.get("category");
    let central_only = ctx.req.get("contract_flag").is_some();
    let topix = index_bar(ctx.m.seed, "0000", d).3;
    let mut out = Vec::new();
    for (pi, product) in FUTURES.iter().enumerate() {
        if cat.is_some_and(|c| c != product.0) {
            continue;
        }
        for (ci, month) in contract_months(d, 3).into_iter().enumerate() {
            if central_only && ci > 0 {
                continue;
            }
            out.push(futures_row(ctx, d, topix, (pi, *product), (ci, month)));
        }
    }
    out
}

/// Product `pi` in contract month `ci` (0 = central) on day `d`.
fn futures_row(
    ctx: &Ctx,
    d: NaiveDate,
    topix: f64,
    (pi, (prod, tick, mult)): (usize, (&'static str, f64, f64)),
    (ci, (y, m)): (usize, (i32, u32)),
) -> String {
    let code = format!("{}{:02}{:02}{:02}18", 16 + pi, y % 100, m, 1);
    let base = topix * mult;
    let r = |k: u64| {
        unit(h(&[
            ctx.m.seed,
            160,
            pi as u64,
            ci as u64,
            d.num_days_from_ce() as u64,
            k,
        ]))
    };
    let t = |x: f64| (x / tick).round() * tick;
    let c = t(base * (1.0 + (r(1) - 0.5) * 0.01));
    let o = t(base * (1.0 + (r(2) - 0.5) * 0.01));
    let hi = o.max(c) + tick * (r(3) * 10.0).round();
    let lo = o.min(c) - tick * (r(4) * 10.0).round();
    let vo = ((1.0 + 99.0 * r(5)) * 1000.0 / (ci as f64 + 1.0)).round();
    let sq = sq_day(y, m);
    let ltd = calendar::prev_business_day(sq);
    row(ctx.fields(), |k| match k {
        "Code" => V::St(code.clone()),
        "ProdCat" => V::S(prod),
        "Date" => V::St(jst::fmt_date(d)),
        "O" | "MO" | "EO" => V::N(o),
        "H" | "MH" | "EH" => V::N(hi),
        "L" | "ML" | "EL" => V::N(lo),
        "C" | "AC" | "EC" | "Settle" => V::N(c),
        "MC" | "AO" => V::N(t((o + c) / 2.0)),
        "AH" => V::N(hi),
        "AL" => V::N(lo),
        "Vo" => V::N(vo),
        "VoOA" => V::N((vo * 0.1).round()),
        "OI" => V::N((vo * 3.0).round()),
        "Va" => V::N((vo * c * mult * 1000.0).round()),
        "CM" => V::St(format!("{y}-{m:02}")),
        "EmMrgnTrgDiv" => V::S("002"),
        "LTD" => V::St(jst::fmt_date(ltd)),
        "SQD" => V::St(jst::fmt_date(sq)),
        "CCMFlag" => V::S(if ci == 0 { "1" } else { "0" }),
        _ => V::Null,
    })
}

/// An option chain's underlying: product category, underlying code (4 characters; empty
/// for index options), its price that day and the strike step.
struct OptionProduct {
    prod: String,
    und: String,
    under: f64,
    step: f64,
}

/// One contract of a day's chain: product `pi`, contract month `ci` (0 = central).
struct OptionContract<'a> {
    product: &'a OptionProduct,
    pi: usize,
    ci: usize,
    month: (i32, u32),
    strike: f64,
    put: bool,
}

pub fn options(ctx: &Ctx, nk225_only: bool) -> Vec<String> {
    let Some(d) = deriv_day(ctx) else {
        return Vec::new();
    };
    let cat = ctx.req.get("category");
    let central_only = ctx.req.get("contract_flag").is_some();
    let under_code = ctx.req.get("code");
    let mut out = Vec::new();
    for (pi, product) in option_products(ctx, d, nk225_only).iter().enumerate() {
        let und = product.und.as_str();
        if cat.is_some_and(|c| c != product.prod)
            || under_code.is_some_and(|c| !c.starts_with(und) || und.is_empty())
        {
            continue;
        }
        for (ci, month) in contract_months(d, 2).into_iter().enumerate() {
            if central_only && ci > 0 {
                continue;
            }
            let atm = (product.under / product.step).round() * product.step;
            for j in -4i32..=4 {
                for put in [true, false] {
                    let strike = atm + product.step * j as f64;
                    let c = OptionContract {
                        product,
                        pi,
                        ci,
                        month,
                        strike,
                        put,
                    };
                    out.push(option_row(ctx, d, &c));
                }
            }
        }
    }
    out
}

/// Nikkei 225 and TOPIX options, and (unless `nk225_only`, which keeps only Nikkei 225)
/// equity options on the two named issues.
fn option_products(ctx: &Ctx, d: NaiveDate, nk225_only: bool) -> Vec<OptionProduct> {
    let topix = index_bar(ctx.m.seed, "0000", d).3;
    let index = |prod: &str, under: f64, step: f64| OptionProduct {
        prod: prod.into(),
        und: String::new(),
        under,
        step,
    };
    let mut products = vec![
        index("NK225E", topix * 13.5, 250.0),
        index("TOPIXE", topix, 25.0),
    ];
    if nk225_only {
        products.truncate(1);
        return products;
    }
    for code in ["72030", "86970"] {
        if let Some(is) = ctx.m.issue(code) {
            let p = is.raw_bar(d).map(|b| b.c).unwrap_or(is.base_price);
            products.push(OptionProduct {
                prod: "EQOP".into(),
                und: code[..4].to_string(),
                under: p,
                step: (p / 20.0).max(1.0).round(),
            });
        }
    }
    products
}

fn option_row(ctx: &Ctx, d: NaiveDate, c: &OptionContract) -> String {
    let (p, (y, m), strike) = (c.product, c.month, c.strike);
    let code = format!(
        "{}{}{:02}{:02}{:05}",
        if c.put { 13 } else { 14 },
        c.pi % 10,
        y % 100,
        m,
        (strike as i64) % 100_000
    );
    let intrinsic = if c.put {
        (strike - p.under).max(0.0)
    } else {
        (p.under - strike).max(0.0)
    };
    let r = |k: u64| {
        unit(h(&[
            ctx.m.seed,
            170,
            hs(&code),
            d.num_days_from_ce() as u64,
            k,
        ]))
    };
    let price = ((intrinsic + p.step * (0.3 + r(1))) * 10.0).round() / 10.0;
    let vo = (r(2) * 2000.0).round();
    let sq = sq_day(y, m);
    row(ctx.fields(), |k| match k {
        "Date" => V::St(jst::fmt_date(d)),
        "Code" => V::St(code.clone()),
        "ProdCat" => V::St(p.prod.clone()),
        "UndSSO" => V::St(if p.und.is_empty() {
            "-".into()
        } else {
            p.und.clone()
        }),
        "O" | "MO" | "EO" | "AO" => V::N(price),
        "H" | "MH" | "EH" | "AH" => V::N((price * 1.1 * 10.0).round() / 10.0),
        "L" | "ML" | "EL" | "AL" => V::N((price * 0.9 * 10.0).round() / 10.0),
        "C" | "MC" | "EC" | "AC" | "Settle" | "Theo" => V::N(price),
        "Vo" => V::N(vo),
        "VoOA" => V::N(0.0),
        "OI" => V::N((vo * 4.0).round()),
        "Va" => V::N((vo * price * 1000.0).round()),
        "CM" => V::St(format!("{y}-{m:02}")),
        "Strike" => V::N(strike),
        "EmMrgnTrgDiv" => V::S("002"),
        "PCDiv" => V::S(if c.put { "1" } else { "2" }),
        "LTD" => V::St(jst::fmt_date(calendar::prev_business_day(sq))),
        "SQD" => V::St(jst::fmt_date(sq)),
        "BaseVol" => V::N(20.0),
        "UnderPx" => V::N((p.under * 100.0).round() / 100.0),
        "IV" => V::N(((15.0 + 10.0 * r(3)) * 100.0).round() / 100.0),
        "IR" => V::N(0.5),
        "CCMFlag" => V::S(if c.ci == 0 { "1" } else { "0" }),
        _ => V::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::calendar::ymd;

    #[test]
    fn derivatives_trade_on_holiday_trading_days() {
        // 2023-11-23 (Labour Thanksgiving, Thursday) had holiday trading; its data is out at
        // 03:00 JST the next day.
        let holiday = ymd(2023, 11, 23);
        assert_eq!(calendar::hol_div(holiday), 3);
        let next_morning = ymd(2023, 11, 24).and_hms_opt(3, 0, 0).unwrap();
        assert_eq!(deriv_day_at(next_morning, Some(holiday)), Some(holiday));
        let evening = holiday.and_hms_opt(20, 0, 0).unwrap();
        assert_eq!(deriv_day_at(evening, Some(holiday)), None);
        // Before holiday trading began, and on weekends, there is nothing.
        let later = ymd(2024, 1, 10).and_hms_opt(12, 0, 0).unwrap();
        assert_eq!(deriv_day_at(later, Some(ymd(2021, 11, 23))), None);
        assert_eq!(deriv_day_at(later, Some(ymd(2023, 11, 25))), None);
        assert_eq!(
            deriv_day_at(later, Some(ymd(2023, 11, 22))),
            Some(ymd(2023, 11, 22))
        );
    }
}
