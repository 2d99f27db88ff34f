//! The remaining datasets: listed-issue master, trading calendar, investor types, indices
//! and TOPIX, derivatives, bulk files, TDnet and EDINET. Plausible and deterministic, cheap to
//! generate, with every key the upstream sends.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};

use super::super::calendar;
use super::super::market::{Issue, SECTORS33, add_months, h, hs, noise, ref_names, unit, ymd};
use super::fins::{Kind, docs_for_year};
use super::{Ctx, V, obj, published_day, row};
use crate::jst;

/// Date of the master list in effect: after ~17:30 JST the next business day's list is out.
fn master_day(ctx: &Ctx) -> NaiveDate {
    let t = ctx.now_jst;
    if (t.hour(), t.minute()) >= (17, 30) || !calendar::is_business_day(ctx.today) {
        calendar::next_business_day(ctx.today)
    } else {
        ctx.today
    }
}

/// Market segment code and name on `d` (the April 2022 reorganisation renamed them all).
fn market_of(is: &Issue, d: NaiveDate) -> (&'static str, &'static str) {
    if d >= ymd(2022, 4, 4) {
        [
            ("0111", "プライム"),
            ("0112", "スタンダード"),
            ("0113", "グロース"),
        ][is.segment]
    } else {
        [
            ("0101", "東証一部"),
            ("0102", "東証二部"),
            ("0104", "マザーズ"),
        ][is.segment]
    }
}

pub fn master(ctx: &Ctx) -> Vec<String> {
    let latest = master_day(ctx);
    let d = ctx.date("date").unwrap_or(latest);
    if d > latest || d < ctx.lo {
        return Vec::new();
    }
    let date = jst::fmt_date(d);
    ctx.issues()
        .into_iter()
        .filter(|is| is.listed <= d)
        .map(|is| {
            let (s33, s17) = SECTORS33[is.sector];
            let (mkt, mkt_nm) = market_of(is, d);
            row(ctx.fields(), |k| match k {
                "Date" => V::St(date.clone()),
                "Code" => V::S(&is.code),
                "CoName" => V::S(&is.name),
                "CoNameEn" => V::S(&is.name_en),
                "S17" => V::S(s17),
                "S17Nm" => V::S(ctx.m.sector17_name(s17)),
                "S33" => V::S(s33),
                "S33Nm" => V::S(ctx.m.sector33_name(s33)),
                "ScaleCat" => V::S(is.scale_cat),
                "Mkt" => V::S(mkt),
                "MktNm" => V::S(mkt_nm),
                "Mrgn" => V::S(is.mrgn),
                "MrgnNm" => V::S(match is.mrgn {
                    "1" => "信用",
                    "2" => "貸借",
                    _ => "その他",
                }),
                "ProdCat" => V::S(if is.code.ends_with('0') { "011" } else { "012" }),
                _ => V::S(""),
            })
        })
        .collect()
}

pub fn calendar(ctx: &Ctx) -> Vec<String> {
    // The next year's calendar is added around the end of March.
    let last_year = if ctx.today >= ymd(ctx.today.year(), 3, 31) {
        ctx.today.year() + 1
    } else {
        ctx.today.year()
    };
    let first = ymd(2016, 1, 1);
    let last = ymd(last_year, 12, 31);
    let lo = ctx.date("from").unwrap_or(first).max(first);
    let hi = ctx.date("to").unwrap_or(last).min(last);
    let want = ctx.req.get("hol_div");
    let mut out = Vec::new();
    let mut d = lo;
    while d <= hi {
        let div = calendar::hol_div(d).to_string();
        if want.is_none_or(|w| w == div) {
            out.push(row(ctx.fields(), |k| match k {
                "Date" => V::St(jst::fmt_date(d)),
                "HolDiv" => V::St(div.clone()),
                _ => V::Null,
            }));
        }
        d += Duration::days(1);
    }
    out
}

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
    let mut monday = lo - Duration::days(lo.weekday().num_days_from_monday() as i64);
    while monday <= hi {
        let days = calendar::business_days(monday, monday + Duration::days(6));
        if let (Some(st), Some(en)) = (days.first(), days.last()) {
            let pubd = calendar::add_business_days(*en, 4);
            if pubd <= visible && pubd >= lo && pubd <= hi {
                for (si, sec) in SECTIONS.iter().enumerate() {
                    if want.is_some_and(|w| w != *sec) {
                        continue;
                    }
                    let r = |k: &str| {
                        unit(h(&[
                            ctx.m.seed,
                            140,
                            si as u64,
                            en.num_days_from_ce() as u64,
                            hs(k),
                        ]))
                    };
                    let scale = [1.0, 0.15, 0.08, 1.1][si] * 1e9;
                    out.push(row(ctx.fields(), |k| match k {
                        "PubDate" => V::St(jst::fmt_date(pubd)),
                        "StDate" => V::St(jst::fmt_date(*st)),
                        "EnDate" => V::St(jst::fmt_date(*en)),
                        "Section" => V::S(sec),
                        k => {
                            let stem = k.trim_end_matches([
                                'S', 'e', 'l', 'B', 'u', 'y', 'T', 'o', 't', 'a',
                            ]);
                            let sell = (scale * (1.0 + 30.0 * r(&format!("{stem}S"))) / 1000.0)
                                .round()
                                * 1000.0;
                            let buy = (scale * (1.0 + 30.0 * r(&format!("{stem}B"))) / 1000.0)
                                .round()
                                * 1000.0;
                            match &k[stem.len()..] {
                                "Sell" => V::N(sell),
                                "Buy" => V::N(buy),
                                "Tot" => V::N(sell + buy),
                                "Bal" => V::N(buy - sell),
                                _ => V::N(0.0),
                            }
                        }
                    }));
                }
            }
        }
        monday += Duration::days(7);
    }
    out
}

/// Index codes from the vendored reference data.
fn index_codes() -> &'static [String] {
    &ref_names().index_codes
}

fn index_bar(seed: u64, code: &str, d: NaiveDate) -> (f64, f64, f64, f64) {
    let key = h(&[seed, 150, hs(code)]);
    let t = super::super::market::day_num(d) as f64;
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
    let first = ymd(y, m, 1);
    let shift = (7 + 4 - first.weekday().num_days_from_monday()) % 7;
    let d = first + Duration::days(shift as i64 + 7);
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

/// `/td/list`: one disclosure per financial document (TDnet carries them all).
pub fn td_list(ctx: &Ctx) -> Vec<String> {
    let (lo, hi) = match ctx.range(ctx.today) {
        Some(r) => r,
        None => return Vec::new(),
    };
    let lo = if ctx.req.code().is_some() && ctx.date("date").is_none() && ctx.date("from").is_none()
    {
        lo.max(ctx.today - Duration::days(400))
    } else {
        lo
    };
    let mut out = Vec::new();
    for is in ctx.issues() {
        for y in lo.year() - 1..=hi.year() + 1 {
            for d in docs_for_year(is, y) {
                let at = d.at();
                if d.disc < lo || d.disc > hi || at > ctx.now_jst || d.disc < is.listed {
                    continue;
                }
                let title = match d.kind {
                    Kind::Revision => "業績予想の修正に関するお知らせ".to_string(),
                    Kind::FY => format!("{}年{}月期 決算短信", d.fy_en.year(), d.fy_en.month()),
                    _ => format!("{}年{}月期 四半期決算短信", d.fy_en.year(), d.fy_en.month()),
                };
                let items = if d.kind == Kind::Revision {
                    "[\"22020\"]"
                } else {
                    "[\"11101\"]"
                };
                out.push((
                    at,
                    is.code.clone(),
                    row(ctx.fields(), |k| match k {
                        "DiscNo" => V::St(d.disc_no.clone()),
                        "Code" => V::S(&is.code),
                        "Name" => V::S(&is.name),
                        "DiscDate" => V::St(jst::fmt_date(d.disc)),
                        "DiscTime" => V::St(d.time[..5].to_string()),
                        "Title" => V::St(title.clone()),
                        "DiscStatus" => V::S("0"),
                        "RevNo" => V::S("0"),
                        "DiscItems" => V::Raw(items.into()),
                        "Docs" => V::Raw("[\"g\",\"s\",\"x\"]".into()),
                        _ => V::Null,
                    }),
                ));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    out.into_iter().map(|x| x.2).collect()
}

pub fn td_files(ctx: &Ctx) -> String {
    let no = ctx.req.get("discNo").unwrap_or("");
    let kinds: Vec<&str> = ctx
        .req
        .get("docs")
        .map(|d| d.split(',').collect())
        .unwrap_or(vec!["g", "s", "x"]);
    let files: Vec<(&str, V)> = kinds
        .iter()
        .filter(|k| matches!(**k, "g" | "s" | "x"))
        .map(|k| {
            (
                *k,
                V::St(format!(
                    "{}/__sim/files/td/{no}_{k}.zip?X-Amz-Expires=300",
                    ctx.origin
                )),
            )
        })
        .collect();
    obj(&[("discNo", V::S(no)), ("files", V::Raw(obj(&files)))])
}

pub fn td_bulk(ctx: &Ctx) -> String {
    let last = published_day(ctx.now_jst, 0, 0);
    obj(&[
        (
            "lastUpdated",
            V::St(format!("{}T00:30:00+09:00", jst::fmt_date(last))),
        ),
        (
            "url",
            V::St(format!(
                "{}/__sim/files/td/bulk_{}.csv.gz?X-Amz-Expires=300",
                ctx.origin,
                last.format("%Y%m%d")
            )),
        ),
    ])
}

/// EDINET documents: one annual report per issue and year (~3 months after FY end), and
/// large-shareholding reports now and then.
pub fn edinet(ctx: &Ctx) -> Vec<String> {
    let large = ctx.endpoint().path.ends_with("large-volume-shareholders");
    let want_edinet = ctx.req.get("edinet_code");
    let (lo, hi) = edinet_dates(ctx, want_edinet.is_some());
    let mut out = Vec::new();
    if lo > hi {
        return out;
    }
    for is in ctx.issues() {
        let ecode = format!("E{:05}", 1000 + is.index);
        if want_edinet.is_some_and(|w| w != ecode) {
            continue;
        }
        for y in lo.year() - 1..=hi.year() {
            for (sub, q) in submissions(is, y, large) {
                if sub < lo || sub > hi || sub > ctx.today || sub < is.listed {
                    continue;
                }
                out.push(edinet_row(ctx, is, &ecode, sub, q, large));
            }
        }
    }
    out
}

/// The submission dates asked for: one `date`, the plan's window for a code or EDINET
/// code, and without parameters the latest business day.
fn edinet_dates(ctx: &Ctx, by_edinet_code: bool) -> (NaiveDate, NaiveDate) {
    let (lo, hi) = match ctx.date("date") {
        Some(d) => (d, d),
        None if ctx.req.code().is_some() || by_edinet_code => (ctx.lo, ctx.today),
        None => {
            let d = calendar::prev_business_day(ctx.today + Duration::days(1));
            (d, d)
        }
    };
    (lo.max(ctx.lo), hi)
}

/// An issue's submissions in year `y` with their sequence number: up to four large
/// shareholding reports (`q` 0..4), or the annual report (`q` 9) about 85-93 days after the
/// fiscal year ends.
fn submissions(is: &Issue, y: i32, large: bool) -> Vec<(NaiveDate, u64)> {
    if large {
        return (0..4u64)
            .filter(|q| unit(h(&[is.hash, 180, y as u64, *q])) < 0.3)
            .map(|q| {
                let d = ymd(y, 1 + 3 * q as u32, 5)
                    + Duration::days((unit(h(&[is.hash, 181, y as u64, q])) * 80.0) as i64);
                (calendar::next_business_day(d), q)
            })
            .collect();
    }
    let fy_en = docs_for_year(is, y)
        .first()
        .map(|d| d.fy_en)
        .unwrap_or(ymd(y, 3, 31));
    let d = fy_en + Duration::days(85 + (unit(h(&[is.hash, 182, y as u64])) * 8.0) as i64);
    let sub = if calendar::is_business_day(d) {
        d
    } else {
        calendar::next_business_day(d)
    };
    vec![(sub, 9)]
}

fn edinet_row(ctx: &Ctx, is: &Issue, ecode: &str, sub: NaiveDate, q: u64, large: bool) -> String {
    let doc_id = format!(
        "S100{:04X}",
        (h(&[is.hash, 183, sub.num_days_from_ce() as u64, q]) % 0xFFFF) as u32
    );
    let per_en = sub - Duration::days(90);
    let per_st = per_en - Duration::days(364);
    let holders = obj(&[
        (
            "Name",
            V::S("日本マスタートラスト信託銀行株式会社（信託口）"),
        ),
        ("Shares", V::N((is.shares_at(sub) * 0.12).round())),
        ("Ratio", V::N(12.0)),
    ]);
    let hldrs = format!("[{holders}]");
    let held = (is.shares_at(sub) * (0.05 + 0.05 * unit(h(&[is.hash, 184, q])))).round();
    row(ctx.fields(), |k| match k {
        "DocId" => V::St(doc_id.clone()),
        "Code" => V::S(&is.code),
        "EdinetCode" => V::S(ecode),
        "FilerName" => V::S(&is.name),
        "FilerNameEn" => V::S(&is.name_en),
        "IsrName" => V::S(&is.name),
        "DocTypeCode" => V::S(if large { "350" } else { "120" }),
        "SubDate" => V::St(jst::fmt_date(sub)),
        "SubTime" => V::S("15:00"),
        "PerSt" => V::St(jst::fmt_date(per_st)),
        "PerEn" => V::St(jst::fmt_date(per_en)),
        "Hldrs" => V::Raw(hldrs.clone()),
        "Report" => V::Raw(obj(&[
            ("Holdings", V::N(12.0)),
            ("BookValue", V::N((held * 100.0).round())),
        ])),
        "Largest" => V::Raw(obj(&[
            ("Name", V::S("トヨタ自動車株式会社")),
            ("Shares", V::N(held)),
        ])),
        "SecondLargest" => V::Raw(obj(&[
            ("Name", V::S("日本取引所グループ")),
            ("Shares", V::N((held / 2.0).round())),
        ])),
        "LargeHldgTypeCode" => V::S("1"),
        "DocTitle" => V::S(if large {
            "大量保有報告書"
        } else {
            "有価証券報告書"
        }),
        "ChgRsn" => V::S(""),
        "TotalShsHeld" => V::N(held),
        "TotalShsRatio" => V::N((held / is.shares_at(sub) * 10000.0).round() / 100.0),
        "TotalShsRatioLast" => V::N(5.0),
        "TotalOutStks" => V::N(is.shares_at(sub)),
        _ => V::S(""),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
