//! Financial statements: `/fins/summary` (figures, forecasts and share counts per
//! document) and `/fins/details` (the statement items), with the `cursor` that lets a client
//! ask only for documents disclosed since its last call.
//! Invariants: documents appear at disclosure on Premium and with the ~18:00 JST batch on
//! other plans; share counts are restated for every split up to the filing's effective day
//! (`docs/share-counts.md`); forecast revisions carry no figures of their own.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

use crate::catalog::Plan;
use crate::jst;
use crate::sim::datasets::ctx::Ctx;
use crate::sim::datasets::docs::{
    DISCLOSED_WITHIN_DAYS, Doc, DocsMemo, Kind, add_months_end, docs_for_year, fiscal_year,
};
use crate::sim::datasets::json::{V, fmt_num_str, obj, row};
use crate::sim::market::Issue;
use crate::sim::random::{h, unit};

fn docs_of<'a>(ctx: &Ctx<'a>) -> Vec<(&'a Issue, Doc)> {
    let (lo, hi) = match ctx.date("date") {
        Some(d) => (d.max(ctx.lo), d.min(ctx.hi)),
        None => (ctx.lo, ctx.hi.min(ctx.today)),
    };
    let since = ctx.req.get("cursor").and_then(decode_cursor);
    let mut out = Vec::new();
    if lo > hi {
        return out;
    }
    for is in ctx.issues() {
        for d in visible_docs(is, (lo, hi), ctx.now_jst, ctx.plan, ctx.docs) {
            if since.is_some_and(|s| d.at() <= s) {
                continue;
            }
            out.push((is, d));
        }
    }
    if ctx.req.code().is_none() {
        out.sort_by_cached_key(|(is, d)| {
            let is: &'a Issue = is;
            (d.at(), is.code.as_str())
        });
    }
    out
}

/// The `cursor` sent on the last page: documents disclosed after this moment come next time.
pub fn cursor_for(now: NaiveDateTime) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("c1:{}", now.format("%Y%m%d%H%M%S")))
}

fn decode_cursor(s: &str) -> Option<NaiveDateTime> {
    use base64::Engine;
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()?;
    let s = String::from_utf8(b).ok()?;
    NaiveDateTime::parse_from_str(s.strip_prefix("c1:")?, "%Y%m%d%H%M%S").ok()
}

/// Financial figures of one document, in yen (or per share).
struct Figures {
    sales: f64,
    op: f64,
    np: f64,
    ta: f64,
    eq: f64,
    shares: f64,
    treasury: f64,
    avg: f64,
    div: f64,
}

/// Issued shares as a filing states them: the period-end count restated for every split
/// whose ex-date is on or before the filing's effective day, as Japanese filings do
/// (docs/share-counts.md).
fn filed_shares(is: &Issue, doc: &Doc) -> f64 {
    let since = is.adj_multiplier(doc.per_en, doc.effective_day());
    (is.shares_at(doc.per_en) / since).round()
}

fn figures(is: &Issue, doc: &Doc) -> Figures {
    let shares = filed_shares(is, doc);
    let price = is.base_price / is.future_factor(doc.per_en).max(1e-9);
    let r = |k: u64| unit(h(&[is.hash, 80, doc.fy_en.num_days_from_ce() as u64, k]));
    let annual = shares * price * (0.4 + 1.2 * unit(h(&[is.hash, 81])));
    let frac = doc.kind.frac();
    let sales = (annual * frac * (0.9 + 0.2 * r(1)) / 1e6).round() * 1e6;
    let op = (sales * (0.02 + 0.13 * r(2)) / 1e6).round() * 1e6;
    let np = (op * (0.6 + 0.1 * r(3)) / 1e6).round() * 1e6;
    let ta = (annual * (1.1 + r(4)) / 1e6).round() * 1e6;
    let eq = (ta * (0.3 + 0.3 * r(5)) / 1e6).round() * 1e6;
    let treasury = (shares * 0.02 * r(6)).round();
    Figures {
        sales,
        op,
        np,
        ta,
        eq,
        shares,
        treasury,
        avg: (shares - treasury).round(),
        div: (price * 0.006 * (0.5 + r(7))).round(),
    }
}

fn summary_value(k: &str, doc: &Doc, f: &Figures) -> V<'static> {
    let s = |x: f64| V::St(fmt_num_str(x));
    let rev = doc.kind == Kind::Revision;
    let fy = matches!(doc.kind, Kind::FY);
    let eps = f.np / f.avg.max(1.0);
    let full = |x: f64| x / doc.kind.frac();
    match k {
        "Sales" | "NCSales" if !rev => s(f.sales),
        "OP" | "NCOP" if !rev => s(f.op),
        "OdP" | "NCOdP" if !rev => s((f.op * 1.04).round()),
        "NP" | "NCNP" if !rev => s(f.np),
        "EPS" | "NCEPS" if !rev => s((eps * 100.0).round() / 100.0),
        "DEPS" => V::S(""),
        "TA" | "NCTA" if !rev => s(f.ta),
        "Eq" | "NCEq" | "ShEq" | "NCShEq" if !rev => s(f.eq),
        "EqAR" | "NCEqAR" if !rev => s((f.eq / f.ta * 1000.0).round() / 1000.0),
        "BPS" | "NCBPS" if !rev => s((f.eq / f.avg.max(1.0) * 100.0).round() / 100.0),
        "ROE" | "NCROE" if fy => s((f.np / f.eq * 1000.0).round() / 1000.0),
        "CFO" if fy || doc.kind == Kind::Q2 => s((f.np * 1.3).round()),
        "CFI" if fy || doc.kind == Kind::Q2 => s((-f.np * 0.6).round()),
        "CFF" if fy || doc.kind == Kind::Q2 => s((-f.np * 0.3).round()),
        "CashEq" if fy || doc.kind == Kind::Q2 => s((f.ta * 0.1).round()),
        "Div2Q" if matches!(doc.kind, Kind::Q2 | Kind::Q3 | Kind::FY) => s(f.div),
        "DivFY" | "DivAnn" if fy => s(if k == "DivAnn" { f.div * 2.0 } else { f.div }),
        "DivTotalAnn" if fy => s((f.div * 2.0 * f.avg / 1e6).round() * 1e6),
        "PayoutRatioAnn" if fy => s((f.div * 2.0 / eps.max(0.01) * 1000.0).round() / 1000.0),
        "FDiv2Q" | "FDivFY" if !fy => s(f.div),
        "FDivAnn" if !fy => s(f.div * 2.0),
        "NxFDiv2Q" | "NxFDivFY" if fy => s(f.div),
        "NxFDivAnn" if fy => s(f.div * 2.0),
        "FSales" | "FNCSales" if !fy => s((full(f.sales) / 1e6).round() * 1e6),
        "FOP" | "FNCOP" if !fy => s((full(f.op) / 1e6).round() * 1e6),
        "FOdP" | "FNCOdP" if !fy => s((full(f.op) * 1.04 / 1e6).round() * 1e6),
        "FNP" | "FNCNP" if !fy => s((full(f.np) / 1e6).round() * 1e6),
        "FEPS" | "FNCEPS" if !fy => s((full(eps) * 100.0).round() / 100.0),
        "NxFSales" | "NxFNCSales" if fy => s((f.sales * 1.05 / 1e6).round() * 1e6),
        "NxFOP" | "NxFNCOP" if fy => s((f.op * 1.05 / 1e6).round() * 1e6),
        "NxFOdP" | "NxFNCOdP" if fy => s((f.op * 1.09 / 1e6).round() * 1e6),
        "NxFNp" | "NxFNCNP" if fy => s((f.np * 1.05 / 1e6).round() * 1e6),
        "NxFEPS" | "NxFNCEPS" if fy => s((eps * 105.0).round() / 100.0),
        "MatChgSub" | "ChgByASRev" | "ChgNoASRev" | "ChgAcEst" | "RetroRst" if !rev => {
            V::S("false")
        }
        // Share counts: restated for splits up to the filing; blank on forecast revisions.
        "ShOutFY" if !rev => s(f.shares),
        "TrShFY" if !rev => s(f.treasury),
        "AvgSh" if !rev => s(f.avg),
        _ => V::S(""),
    }
}

pub fn summary(ctx: &Ctx) -> Vec<String> {
    docs_of(ctx)
        .into_iter()
        .map(|(is, d)| {
            let f = figures(is, &d);
            let disc = jst::fmt_date(d.disc);
            let dt = d.doc_type(is);
            row(ctx.fields(), |k| match k {
                "DiscDate" => V::St(disc.clone()),
                "DiscTime" => V::S(d.time),
                "Code" => V::S(&is.code),
                "DiscNo" => V::St(d.disc_no.clone()),
                "DocType" => V::St(dt.clone()),
                "CurPerType" => V::S(d.kind.label("FY")),
                "CurPerSt" => V::St(jst::fmt_date(d.per_st)),
                "CurPerEn" => V::St(jst::fmt_date(d.per_en)),
                "CurFYSt" => V::St(jst::fmt_date(d.fy_st)),
                "CurFYEn" => V::St(jst::fmt_date(d.fy_en)),
                "NxtFYSt" if d.kind == Kind::FY => {
                    V::St(jst::fmt_date(d.fy_en + Duration::days(1)))
                }
                "NxtFYEn" if d.kind == Kind::FY => {
                    V::St(jst::fmt_date(add_months_end(d.fy_en, 12)))
                }
                k => summary_value(k, &d, &f),
            })
        })
        .collect()
}

pub fn details(ctx: &Ctx) -> Vec<String> {
    docs_of(ctx)
        .into_iter()
        .filter(|(_, d)| d.kind != Kind::Revision)
        .map(|(is, d)| {
            let f = figures(is, &d);
            let fs = obj(&[
                ("NetSales", V::St(fmt_num_str(f.sales))),
                ("OperatingProfitLoss", V::St(fmt_num_str(f.op))),
                (
                    "ProfitLossAttributableToOwnersOfParent",
                    V::St(fmt_num_str(f.np)),
                ),
                ("Assets", V::St(fmt_num_str(f.ta))),
                ("NetAssets", V::St(fmt_num_str(f.eq))),
                (
                    "TotalNumberOfIssuedSharesCommonStock",
                    V::St(fmt_num_str(f.shares)),
                ),
            ]);
            let dt = d.doc_type(is);
            row(ctx.fields(), |k| match k {
                "DiscDate" => V::St(jst::fmt_date(d.disc)),
                "DiscTime" => V::S(d.time),
                "Code" => V::S(&is.code),
                "DiscNo" => V::St(d.disc_no.clone()),
                "DocType" => V::St(dt.clone()),
                "FS" => V::Raw(fs.clone()),
                _ => V::Null,
            })
        })
        .collect()
}

/// When a document shows up in the API: Premium near real time, other plans with the
/// ~18:00 preliminary batch (or at disclosure, if later).
pub fn published_at(d: &Doc, plan: Plan) -> NaiveDateTime {
    let batch = d.disc.and_hms_opt(18, 0, 0).unwrap_or_default();
    if plan == Plan::Premium {
        d.at()
    } else {
        d.at().max(batch)
    }
}

/// Documents visible at `now` (JST) in `[lo, hi]` by disclosure date; years are taken from
/// `memo` when the run keeps one.
fn visible_docs(
    is: &Issue,
    (lo, hi): (NaiveDate, NaiveDate),
    now: NaiveDateTime,
    plan: Plan,
    memo: Option<&DocsMemo>,
) -> Vec<Doc> {
    let mut out = Vec::new();
    for y in lo.year() - 1..=hi.year() + 1 {
        // A year disclosing nothing in [lo, hi] is not derived (a date cross-section of
        // thousands of issues would derive three years each).
        let (fy_st, fy_en) = fiscal_year(is, y);
        if fy_st > hi || fy_en + Duration::days(DISCLOSED_WITHIN_DAYS) < lo {
            continue;
        }
        let docs: std::rc::Rc<[Doc]> = match memo {
            Some(m) => m.year(is, y),
            None => docs_for_year(is, y).into(),
        };
        for d in docs.iter() {
            if d.disc >= lo && d.disc <= hi && published_at(d, plan) <= now && d.disc >= is.listed {
                out.push(d.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::calendar::ymd;
    use crate::sim::market::Market;

    #[test]
    fn code_33500_share_counts() {
        let m = Market::new(42, 100);
        let is = m.issue("33500").unwrap();
        let fy24 = docs_for_year(is, 2024);
        let d = fy24.iter().find(|d| d.kind == Kind::FY).unwrap();
        assert_eq!(d.disc, ymd(2025, 3, 3));
        assert_eq!(d.time, "15:30:00");
        assert_eq!(fmt_num_str(figures(is, d).shares), "36268334");
        let q1 = docs_for_year(is, 2025);
        let d = q1.iter().find(|d| d.kind == Kind::Q1).unwrap();
        assert_eq!(d.disc, ymd(2025, 5, 14));
        assert_eq!(fmt_num_str(figures(is, d).shares), "459906340");
    }

    #[test]
    fn filings_restate_share_counts_for_splits_before_their_release() {
        let m = Market::new(42, 600);
        let mut restated = 0;
        for is in &m.issues {
            for y in 2018..2027 {
                for doc in docs_for_year(is, y)
                    .iter()
                    .filter(|d| d.kind != Kind::Revision)
                {
                    let eff = doc.effective_day();
                    let filed = figures(is, doc).shares;
                    // Both sides are rounded to whole shares, at different steps.
                    let truth = is.shares_at(eff);
                    assert!((filed - truth).abs() <= 1.0, "{} {}", is.code, doc.disc_no);
                    if filed != is.shares_at(doc.per_en) {
                        restated += 1;
                    }
                }
            }
        }
        assert!(restated > 0, "no split between a period end and its filing");
    }
}
