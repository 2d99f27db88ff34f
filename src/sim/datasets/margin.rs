//! Margin trading datasets (`docs/margin.md`): margin-interest outstandings (weekly until
//! application date 2026-09-25, daily with yen values since) and daily margin alerts, both
//! read from one smooth series of outstanding volumes per issue.
//! Invariants: a weekly row exists only for weeks with at least three business days; a
//! daily row's `PubDate` is the business day after its `Date`; yen values only on daily rows.

use chrono::{Datelike, Duration, NaiveDate};

use super::ctx::{Ctx, published_day};
use super::json::{V, fmt_num_str, obj, row};
use crate::jst;
use crate::sim::calendar::{self, ymd};
use crate::sim::market::Issue;
use crate::sim::random::{day_num, h, noise, unit};

/// First application date of the daily margin-interest data.
pub fn daily_from() -> NaiveDate {
    ymd(2026, 9, 25)
}

/// A margin-interest row: its `Date`, `PubDate` and whether it is a daily one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot {
    pub date: NaiveDate,
    pub pub_date: NaiveDate,
    pub daily: bool,
}

/// All rows' slots whose `Date` lies in `[lo, hi]`.
pub fn slots(lo: NaiveDate, hi: NaiveDate) -> Vec<Slot> {
    let mut out = Vec::new();
    // Weekly: the last business day of each week with at least three business days.
    for days in calendar::business_weeks(lo, hi) {
        if days.len() > 2 {
            let date = *days.last().expect("non-empty");
            let pub_date = calendar::add_business_days(date, 2);
            if date < daily_from() && date >= lo && date <= hi {
                out.push(Slot {
                    date,
                    pub_date,
                    daily: false,
                });
            }
        }
    }
    // Daily: Date = previous business day of each application (= publication) day.
    let start = lo.max(calendar::prev_business_day(daily_from()));
    for d in calendar::business_days(start, hi).iter() {
        let pub_date = calendar::next_business_day(*d);
        if pub_date >= daily_from() {
            out.push(Slot {
                date: *d,
                pub_date,
                daily: true,
            });
        }
    }
    out.sort_by_key(|s| s.date);
    out
}

/// Rows published on `p` (on 2026-09-25 both the last weekly and the first daily one).
fn slots_for_pub(p: NaiveDate) -> Vec<Slot> {
    slots(p - Duration::days(14), p)
        .into_iter()
        .filter(|s| s.pub_date == p)
        .collect()
}

fn iss_type(is: &Issue) -> &'static str {
    is.mrgn
}

/// Outstanding (short, long) volumes on `d`: smooth random walks in shares, some issues
/// never sold short.
fn volumes(is: &Issue, d: NaiveDate) -> (f64, f64) {
    let t = day_num(d) as f64;
    // Smooth series in [0, 1].
    let n = |k: u64, period: f64| (noise(h(&[is.hash, k]), t / period) + 1.0) / 2.0;
    let level = is.base_volume * (3.0 + 8.0 * n(101, 60.0) + 2.0 * n(102, 9.0));
    let long = (level / 100.0).round() * 100.0;
    let no_short = unit(h(&[is.hash, 103])) < 0.15 || is.mrgn == "3";
    let short = if no_short {
        0.0
    } else {
        (level * (0.1 + 0.5 * n(104, 30.0)) / 100.0).round() * 100.0
    };
    (short, long)
}

pub fn interest(ctx: &Ctx) -> Vec<String> {
    let slots_ = interest_slots(ctx);
    let issues: Vec<&Issue> = ctx
        .issues()
        .into_iter()
        // Common stocks only; preferred shares have no margin trading.
        .filter(|i| i.code.ends_with('0'))
        .collect();
    // By code the rows run in date order; by date, in code order.
    let pairs: Vec<(&Issue, &Slot)> = if ctx.req.code().is_some() {
        (issues.iter())
            .flat_map(|is| slots_.iter().map(move |s| (*is, s)))
            .collect()
    } else {
        (slots_.iter())
            .flat_map(|s| issues.iter().map(move |is| (*is, s)))
            .collect()
    };
    (pairs.into_iter())
        .filter(|(is, s)| s.date >= is.listed)
        .map(|(is, s)| interest_row(ctx, is, s))
        .collect()
}

/// The application dates asked for (by publication date, date or range) that are
/// published by now (~16:30 JST on the PubDate).
fn interest_slots(ctx: &Ctx) -> Vec<Slot> {
    let visible_pub = published_day(ctx.now_jst, 16, 30);
    let slots_: Vec<Slot> = if let Some(p) = ctx.date("published_date") {
        slots_for_pub(p)
    } else if let Some(d) = ctx.date("date") {
        slots(d, d)
    } else {
        let lo = ctx.date("from").unwrap_or(ctx.lo).max(ctx.lo);
        let hi = ctx.date("to").unwrap_or(ctx.today).min(ctx.hi);
        if lo > hi { Vec::new() } else { slots(lo, hi) }
    };
    slots_
        .into_iter()
        .filter(|s| s.pub_date <= visible_pub && s.date >= ctx.lo)
        .collect()
}

fn interest_row(ctx: &Ctx, is: &Issue, s: &Slot) -> String {
    let (short, long) = volumes(is, s.date);
    let neg = |x: f64, k: u64| (x * (0.2 + 0.5 * unit(h(&[is.hash, k]))) / 100.0).round() * 100.0;
    let (sn, ln) = (neg(short, 105), neg(long, 106));
    let price = is
        .raw_bar(s.date)
        .map(|b| b.c)
        .unwrap_or(is.base_price / is.future_factor(s.date));
    // Yen values only on daily rows (application dates from 2026-09-25).
    let val = |v: f64| {
        if s.daily {
            V::N((v * price).round())
        } else {
            V::Null
        }
    };
    row(ctx.fields(), |k| match k {
        "PubDate" => V::St(jst::fmt_date(s.pub_date)),
        "Date" => V::St(jst::fmt_date(s.date)),
        "Code" => V::S(&is.code),
        "IssType" => V::S(iss_type(is)),
        "ShrtVol" => V::N(short),
        "LongVol" => V::N(long),
        "ShrtNegVol" => V::N(sn),
        "LongNegVol" => V::N(ln),
        "ShrtStdVol" => V::N(short - sn),
        "LongStdVol" => V::N(long - ln),
        "ShrtVal" => val(short),
        "LongVal" => val(long),
        "ShrtNegVal" => val(sn),
        "LongNegVal" => val(ln),
        "ShrtStdVal" => val(short - sn),
        "LongStdVal" => val(long - ln),
        _ => V::Null,
    })
}

/// `/markets/margin-alert`: issues under daily publication, on business days.
pub fn alert(ctx: &Ctx) -> Vec<String> {
    let visible = published_day(ctx.now_jst, 16, 30);
    let days = ctx.business_days(visible);
    let mut out = Vec::new();
    for is in ctx.issues() {
        for d in days.iter() {
            let dn = d.num_days_from_ce() as u64;
            // About 1% of issues a day, in streaks.
            if *d < is.listed || unit(h(&[is.hash, 110, dn / 10])) > 0.012 {
                continue;
            }
            out.push(alert_row(ctx, is, *d));
        }
    }
    out
}

/// Why an issue is under daily publication on day number `dn`: always the daily-publication
/// flag, now and then a JSF precaution too.
fn pub_reason(is: &Issue, dn: u64) -> String {
    obj(&[
        ("Restricted", V::S("0")),
        ("DailyPublication", V::S("1")),
        ("Monitoring", V::S("0")),
        ("RestrictedByJSF", V::S("0")),
        (
            "PrecautionByJSF",
            V::S(if unit(h(&[is.hash, 111, dn])) < 0.3 {
                "1"
            } else {
                "0"
            }),
        ),
        ("UnclearOrSecOnAlert", V::S("0")),
    ])
}

/// The alert row of `is` on `d`: outstandings and their changes since the previous business
/// day, with 40% of each side negotiable (the rest standardised).
fn alert_row(ctx: &Ctx, is: &Issue, d: NaiveDate) -> String {
    let (short, long) = volumes(is, d);
    let (ps, pl) = volumes(is, calendar::prev_business_day(d));
    let shares = is.shares_at(d);
    let app = calendar::prev_business_day(d);
    let reason = pub_reason(is, d.num_days_from_ce() as u64);
    let negotiable = |x: f64| (x * 0.4 / 100.0).round() * 100.0;
    let (sn, ln) = (negotiable(short), negotiable(long));
    let (psn, pln) = (negotiable(ps), negotiable(pl));
    row(ctx.fields(), |k| match k {
        "PubDate" => V::St(jst::fmt_date(d)),
        "Code" => V::S(&is.code),
        "AppDate" => V::St(jst::fmt_date(app)),
        "PubReason" => V::Raw(reason.clone()),
        "ShrtOut" => V::N(short),
        "ShrtOutChg" => V::N(short - ps),
        "ShrtOutRatio" => V::St(fmt_num_str((short / shares * 10000.0).round() / 100.0)),
        "LongOut" => V::N(long),
        "LongOutChg" => V::N(long - pl),
        "LongOutRatio" => V::St(fmt_num_str((long / shares * 10000.0).round() / 100.0)),
        "SLRatio" => V::N(if long > 0.0 {
            (short / long * 10000.0).round() / 100.0
        } else {
            0.0
        }),
        "ShrtNegOut" => V::N(sn),
        "ShrtNegOutChg" => V::N(sn - psn),
        "ShrtStdOut" => V::N(short - sn),
        "ShrtStdOutChg" => V::N((short - sn) - (ps - psn)),
        "LongNegOut" => V::N(ln),
        "LongNegOutChg" => V::N(ln - pln),
        "LongStdOut" => V::N(long - ln),
        "LongStdOutChg" => V::N((long - ln) - (pl - pln)),
        "TSEMrgnRegCls" => V::S("002"),
        _ => V::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    #[test]
    fn weekly_then_daily_slots() {
        let s = slots(ymd(2026, 9, 1), ymd(2026, 10, 2));
        let weekly: Vec<_> = s.iter().filter(|s| !s.daily).collect();
        let daily: Vec<_> = s.iter().filter(|s| s.daily).collect();
        // Week of 9/21 has two business days (9/24, 9/25): no weekly row.
        assert_eq!(
            weekly.iter().map(|s| s.date).collect::<Vec<_>>(),
            vec![ymd(2026, 9, 4), ymd(2026, 9, 11), ymd(2026, 9, 18)]
        );
        assert_eq!(weekly[2].pub_date, ymd(2026, 9, 25));
        assert_eq!(daily[0].date, ymd(2026, 9, 24));
        assert_eq!(daily[0].pub_date, ymd(2026, 9, 25));
        for d in &daily {
            assert_eq!(calendar::next_business_day(d.date), d.pub_date);
        }
        assert_eq!(weekly[0].date.weekday(), Weekday::Fri);
        let both = slots_for_pub(ymd(2026, 9, 25));
        assert_eq!(both.len(), 2);
        assert!(!both[0].daily && both[1].daily);
        // Golden Week 2026: May 4-6 are holidays, so that week has only May 7-8 and no
        // weekly row.
        let gw = slots(ymd(2026, 5, 4), ymd(2026, 5, 10));
        assert!(gw.is_empty(), "{gw:?}");
    }
}
