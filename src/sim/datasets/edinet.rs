//! EDINET: annual securities reports (one per issue and year, ~3 months after the fiscal
//! year ends, dated from `fins`' fiscal years) and large-shareholding reports now and then,
//! served by the three `/edinet/...` endpoints. Invariant: nothing is submitted before the
//! issue is listed or after today.

use chrono::{Datelike, Duration, NaiveDate};

use super::ctx::Ctx;
use super::docs::docs_for_year;
use super::json::{V, obj, row};
use crate::jst;
use crate::sim::calendar::{self, ymd};
use crate::sim::market::Issue;
use crate::sim::random::{h, unit};

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
    vec![(calendar::business_day_on_or_after(d), 9)]
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
