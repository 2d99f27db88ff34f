//! Reference datasets: the listed-issue master (`/equities/master`) and the trading
//! calendar (`/markets/calendar`). Invariants: the master lists only issues already listed
//! on its date and switches to the next business day's list after 17:30 JST; the calendar
//! reaches into the next year once that year's calendar is out (end of March).

use chrono::{Datelike, Duration, NaiveDate, Timelike};

use super::ctx::Ctx;
use super::json::{V, row};
use crate::jst;
use crate::sim::calendar::{self, ymd};
use crate::sim::market::{Issue, SECTORS33};

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
