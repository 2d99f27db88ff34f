//! Earnings schedules: `/fins/earnings-date` (announcement dates, published about four
//! weeks ahead at 10:05 JST) and `/equities/earnings-calendar` (announcements due the next
//! business day). Both list the statements of `docs`, never forecast revisions.

use chrono::{Datelike, Duration};

use crate::jst;
use crate::sim::calendar;
use crate::sim::datasets::ctx::Ctx;
use crate::sim::datasets::docs::{Kind, docs_for_year};
use crate::sim::datasets::json::{V, row};
use crate::sim::market::SECTORS33;

/// `/fins/earnings-date`: announcement schedules, published ~30 days ahead at 10:05.
pub fn earnings_date(ctx: &Ctx) -> Vec<String> {
    let sched = ctx.date("scheduled_date");
    let pubd = ctx.date("date");
    let mut out = Vec::new();
    let (lo, hi) = match (sched, pubd) {
        (Some(d), _) => (d - Duration::days(5), d + Duration::days(5)),
        (_, Some(d)) => (d, d + Duration::days(60)),
        _ => (ctx.lo, ctx.today + Duration::days(60)),
    };
    for is in ctx.issues() {
        for y in lo.year() - 1..=hi.year() + 1 {
            for d in docs_for_year(is, y)
                .into_iter()
                .filter(|d| d.kind != Kind::Revision)
            {
                let pub_date = calendar::prev_business_day(d.disc - Duration::days(25));
                let pub_at = pub_date.and_hms_opt(10, 5, 0).unwrap_or_default();
                if pub_at > ctx.now_jst || pub_date < ctx.lo || pub_date < is.listed {
                    continue;
                }
                let keep = match (sched, pubd) {
                    (Some(s), _) => d.disc == s,
                    (_, Some(p)) => pub_date == p,
                    _ => true,
                };
                if !keep {
                    continue;
                }
                out.push(row(ctx.fields(), |k| match k {
                    "PubDate" => V::St(jst::fmt_date(pub_date)),
                    "SchDate" => V::St(jst::fmt_date(d.disc)),
                    "FQName" => V::S(d.kind.label("4Q")),
                    "FYE" => V::St(d.fy_en.format("%Y-%m").to_string()),
                    "Code" => V::S(&is.code),
                    "CoName" => V::S(&is.name),
                    "CoNameEn" => V::S(&is.name_en),
                    _ => V::S(""),
                }));
            }
        }
    }
    out
}

/// `/equities/earnings-calendar`: announcements scheduled for the next business day.
pub fn earnings_calendar(ctx: &Ctx) -> Vec<String> {
    let day = calendar::next_business_day(ctx.today);
    let mut out = Vec::new();
    for is in ctx.issues() {
        for y in day.year() - 1..=day.year() + 1 {
            for d in docs_for_year(is, y) {
                if d.disc != day || d.kind == Kind::Revision {
                    continue;
                }
                let s33 = SECTORS33[is.sector].0;
                out.push(row(ctx.fields(), |k| match k {
                    "Date" => V::St(jst::fmt_date(day)),
                    "Code" => V::S(&is.code),
                    "CoName" => V::S(&is.name),
                    "FY" => V::St(format!("{}月", is.fy_end_month)),
                    "SectorNm" => V::S(ctx.m.sector33_name(s33)),
                    "FQ" => V::S(match d.kind {
                        Kind::Q1 => "第１四半期",
                        Kind::Q2 => "第２四半期",
                        Kind::Q3 => "第３四半期",
                        _ => "本決算",
                    }),
                    "Section" => V::S(["プライム", "スタンダード", "グロース"][is.segment]),
                    _ => V::S(""),
                }));
            }
        }
    }
    out
}
