//! Short-selling datasets: short-selling value by 33-sector (`/markets/short-ratio`) and
//! reported short positions of 0.5% or more of shares outstanding
//! (`/markets/short-sale-report`), disclosed the business day after their calculation day.
//! Invariant: a report's `CalcDate` is the business day before its `DiscDate`.

use chrono::{Datelike, Duration, NaiveDate};

use super::ctx::{Ctx, published_day};
use super::json::{V, row};
use crate::jst;
use crate::sim::calendar;
use crate::sim::market::{Issue, SECTORS33};
use crate::sim::random::{h, unit};

/// `/markets/short-ratio`: short-selling value by 33-sector, per business day.
pub fn short_ratio(ctx: &Ctx) -> Vec<String> {
    let visible = published_day(ctx.now_jst, 16, 30);
    let days = ctx.business_days(visible);
    let want = ctx.req.get("s33");
    let mut out = Vec::new();
    for d in days.iter() {
        for (i, (s33, _)) in SECTORS33.iter().enumerate() {
            if want.is_some_and(|w| w != *s33) {
                continue;
            }
            let r = |k: u64| {
                unit(h(&[
                    ctx.m.seed,
                    120,
                    i as u64,
                    d.num_days_from_ce() as u64,
                    k,
                ]))
            };
            let total = (1e10 * (1.0 + 20.0 * r(1))).round();
            out.push(row(ctx.fields(), |k| match k {
                "Date" => V::St(jst::fmt_date(*d)),
                "S33" => V::S(s33),
                "SellExShortVa" => V::N((total * 0.6).round()),
                "ShrtWithResVa" => V::N((total * (0.25 + 0.1 * r(2))).round()),
                "ShrtNoResVa" => V::N((total * 0.02 * r(3)).round()),
                _ => V::Null,
            }));
        }
    }
    out
}

const FUNDS: &[(&str, &str)] = &[
    (
        "Goldman Sachs International",
        "Plumtree Court, 25 Shoe Lane, London",
    ),
    (
        "Morgan Stanley & Co. International plc",
        "25 Cabot Square, Canary Wharf, London",
    ),
    ("Citadel Advisors LLC", "Southeast Financial Center, Miami"),
    ("BofA Securities Europe SA", "51 rue La Boetie, Paris"),
];

/// `/markets/short-sale-report`: positions of 0.5% or more, reported the day after calculation.
pub fn short_sale_report(ctx: &Ctx) -> Vec<String> {
    let Some((lo, hi)) = report_days(ctx) else {
        return Vec::new();
    };
    let days = calendar::business_days(lo, hi);
    let calc_filter = ctx.date("calc_date");
    let mut out = Vec::new();
    for is in ctx.issues() {
        for d in days.iter() {
            for fund in 0..FUNDS.len() {
                if !reports(is, fund, *d) {
                    continue;
                }
                let calc = calendar::prev_business_day(*d);
                if calc_filter.is_some_and(|c| c != calc) {
                    continue;
                }
                out.push(report_row(ctx, is, fund, *d, calc));
            }
        }
    }
    out
}

/// The disclosure days asked for (one `disc_date`, the day after a `calc_date`, or a range),
/// clipped to the plan window and to what is published (~17:30 JST); `None` if empty.
fn report_days(ctx: &Ctx) -> Option<(NaiveDate, NaiveDate)> {
    let visible = published_day(ctx.now_jst, 17, 30);
    let (lo, hi) = if let Some(d) = ctx.date("disc_date") {
        (d, d)
    } else if let Some(d) = ctx.date("calc_date") {
        (
            calendar::next_business_day(d),
            calendar::next_business_day(d),
        )
    } else {
        (
            ctx.date("disc_date_from").unwrap_or(ctx.lo),
            ctx.date("disc_date_to").unwrap_or(ctx.today),
        )
    };
    let lo = lo.max(ctx.lo);
    let hi = hi.min(visible);
    (lo <= hi).then_some((lo, hi))
}

/// Whether fund `fi` reports a position in `is` on disclosure day `d`: while it holds one
/// (30-day blocks), on some days; the named large caps always have one reporting fund.
fn reports(is: &Issue, fi: usize, d: NaiveDate) -> bool {
    let dn = d.num_days_from_ce() as u64;
    let block = dn / 30;
    let active = unit(h(&[is.hash, 132, fi as u64, block])) < 0.1
        || (fi == 0 && matches!(is.code.as_str(), "72030" | "86970"));
    active && unit(h(&[is.hash, 130, fi as u64, dn])) <= 0.25 && d >= is.listed
}

/// Fund `fi`'s report on `is`, disclosed on `d` for calculation day `calc`.
fn report_row(ctx: &Ctx, is: &Issue, fi: usize, d: NaiveDate, calc: NaiveDate) -> String {
    let (name, addr) = FUNDS[fi];
    let dn = d.num_days_from_ce() as u64;
    let ratio = 0.005 + 0.02 * unit(h(&[is.hash, 131, fi as u64, dn]));
    let shares = (is.shares_at(calc) * ratio / 100.0).round() * 100.0;
    let prev = calc - Duration::days(7 + (dn % 20) as i64);
    row(ctx.fields(), |k| match k {
        "DiscDate" => V::St(jst::fmt_date(d)),
        "CalcDate" => V::St(jst::fmt_date(calc)),
        "Code" => V::S(&is.code),
        "SSName" => V::S(name),
        "SSAddr" => V::S(addr),
        "DICName" => V::S(""),
        "DICAddr" => V::S(""),
        "FundName" => V::S(""),
        "ShrtPosToSO" => V::N((ratio * 10000.0).round() / 10000.0),
        "ShrtPosShares" => V::N(shares),
        "ShrtPosUnits" => V::N((shares / 100.0).round()),
        "PrevRptDate" => V::St(jst::fmt_date(prev)),
        "PrevRptRatio" => V::N(((ratio - 0.001) * 10000.0).round() / 10000.0),
        "Notes" => V::S(""),
        _ => V::Null,
    })
}
