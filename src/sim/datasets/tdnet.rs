//! TDnet: `/td/list` (one disclosure per financial document of `fins`, since TDnet carries
//! them all), `/td/files` and `/td/bulk` (fake download URLs on the simulator's own host).
//! Invariant: a disclosure is listed only once its moment has passed.

use chrono::{Datelike, Duration};

use super::ctx::{Ctx, published_day};
use super::docs::{Kind, docs_for_year};
use super::json::{V, obj, row};
use crate::jst;

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
