//! Corporate disclosures: financial statement summaries and details (quarterly documents and
//! forecast revisions), dividend notices with their RefNo/CARefNo correction chains
//! (`docs/dividends.md`), scheduled earnings dates and the earnings calendar. Documents are derived per
//! (issue, fiscal year), so a date cross-section only touches the years around that date.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

use super::super::calendar;
use super::super::market::{Issue, add_months, h, unit, ymd};
use super::{Ctx, V, fmt_num_str, obj, row};
use crate::catalog::Plan;
use crate::jst;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Q1,
    Q2,
    Q3,
    FY,
    Revision,
}

impl Kind {
    /// Share of the fiscal year a document's cumulative figures cover.
    pub fn frac(self) -> f64 {
        match self {
            Kind::Q1 => 0.25,
            Kind::Q2 => 0.5,
            Kind::Q3 => 0.75,
            _ => 1.0,
        }
    }

    /// "1Q".."3Q" for the quarters, `full_year` for the rest: the datasets spell the fourth
    /// quarter "FY" or "4Q".
    pub fn label(self, full_year: &'static str) -> &'static str {
        match self {
            Kind::Q1 => "1Q",
            Kind::Q2 => "2Q",
            Kind::Q3 => "3Q",
            _ => full_year,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Doc {
    pub disc: NaiveDate,
    pub time: &'static str,
    pub kind: Kind,
    pub fy_st: NaiveDate,
    pub fy_en: NaiveDate,
    pub per_st: NaiveDate,
    pub per_en: NaiveDate,
    pub disc_no: String,
}

impl Doc {
    /// Disclosure moment. `time` stays text because rows and callers use it as such; this
    /// parses it, so sorts use `sort_by_cached_key` rather than calling it per comparison.
    pub fn at(&self) -> NaiveDateTime {
        self.disc
            .and_time(NaiveTime::parse_from_str(self.time, "%H:%M:%S").unwrap_or_default())
    }

    /// The first business day the market knows the document: its disclosure day when that is
    /// a business day and the time is before 15:00, else the next business day.
    pub fn effective_day(&self) -> NaiveDate {
        if self.time < "15:00:00" && calendar::is_business_day(self.disc) {
            self.disc
        } else {
            calendar::next_business_day(self.disc)
        }
    }

    fn doc_type(&self, is: &Issue) -> String {
        let cons = if unit(h(&[is.hash, 70])) < 0.8 {
            "Consolidated"
        } else {
            "NonConsolidated"
        };
        let std = if unit(h(&[is.hash, 71])) < 0.9 {
            "JP"
        } else {
            "IFRS"
        };
        match self.kind {
            Kind::Revision => "EarnForecastRevision".into(),
            k => format!("{}FinancialStatements_{cons}_{std}", k.label("FY")),
        }
    }
}

/// Last day of the month `months` after `d`'s month.
fn add_months_end(d: NaiveDate, months: i32) -> NaiveDate {
    add_months(d, months + 1) - Duration::days(1)
}

const TIMES: &[&str] = &[
    "15:00:00", "15:30:00", "16:00:00", "13:00:00", "11:30:00", "17:00:00",
];

/// The documents of fiscal year ending in `fy_year`, in disclosure order.
pub fn docs_for_year(is: &Issue, fy_year: i32) -> Vec<Doc> {
    let fy_en = add_months_end(ymd(fy_year, is.fy_end_month, 1), 0);
    let fy_st = add_months_end(fy_en, -12) + Duration::days(1);
    let mut docs = Vec::new();
    let r = |k: u64| unit(h(&[is.hash, 60, fy_year as u64, k]));
    for (q, kind) in [Kind::Q1, Kind::Q2, Kind::Q3, Kind::FY]
        .into_iter()
        .enumerate()
    {
        let per_en = add_months_end(fy_st, 3 * (q as i32 + 1) - 1);
        let lag = if kind == Kind::FY {
            38 + (r(q as u64) * 18.0) as i64
        } else {
            30 + (r(q as u64) * 17.0) as i64
        };
        let mut disc = per_en + Duration::days(lag);
        // A few disclosures fall on non-business days; the rest on business days.
        if r(10 + q as u64) > 0.04 && !calendar::is_business_day(disc) {
            disc = calendar::next_business_day(disc);
        }
        let time = TIMES[(r(20 + q as u64) * TIMES.len() as f64) as usize];
        docs.push(Doc {
            disc,
            time,
            kind,
            fy_st,
            fy_en,
            per_st: fy_st,
            per_en,
            disc_no: String::new(),
        });
    }
    if r(30) < 0.35 {
        // A forecast revision between the 3Q and FY documents.
        let disc =
            calendar::next_business_day(docs[2].disc + Duration::days(20 + (r(31) * 20.0) as i64));
        docs.push(Doc {
            disc,
            time: "15:00:00",
            kind: Kind::Revision,
            fy_st,
            fy_en,
            per_st: fy_st,
            per_en: fy_en,
            disc_no: String::new(),
        });
    }
    if is.code == "33500" {
        // `docs/market-cap.md`: the FY2024 document on 2025-03-03, the 1Q 2025 one on 2025-05-14.
        for d in docs.iter_mut() {
            match (fy_year, d.kind) {
                (2024, Kind::FY) => (d.disc, d.time) = (ymd(2025, 3, 3), "15:30:00"),
                (2025, Kind::Q1) => (d.disc, d.time) = (ymd(2025, 5, 14), "15:30:00"),
                _ => {}
            }
        }
        docs.retain(|d| d.kind != Kind::Revision || fy_year != 2024);
    }
    docs.sort_by_cached_key(Doc::at);
    for (k, d) in docs.iter_mut().enumerate() {
        d.disc_no = format!(
            "{}{:05}{}",
            d.disc.format("%Y%m%d"),
            is.index % 100_000,
            (k + fy_year as usize) % 10
        );
    }
    docs
}

/// Documents visible at `now` (JST) in `[lo, hi]` by disclosure date.
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

fn visible_docs(
    is: &Issue,
    lo: NaiveDate,
    hi: NaiveDate,
    now: NaiveDateTime,
    plan: Plan,
) -> Vec<Doc> {
    let mut out = Vec::new();
    for y in lo.year() - 1..=hi.year() + 1 {
        for d in docs_for_year(is, y) {
            if d.disc >= lo && d.disc <= hi && published_at(&d, plan) <= now && d.disc >= is.listed
            {
                out.push(d);
            }
        }
    }
    out
}

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
        for d in visible_docs(is, lo, hi, ctx.now_jst, ctx.plan) {
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
    let eff = doc.effective_day();
    let since: f64 = is
        .splits
        .iter()
        .filter(|s| s.ex_date > doc.per_en && s.ex_date <= eff)
        .map(|s| s.factor)
        .product();
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

/// One dividend notice.
struct Notice {
    pub_date: NaiveDate,
    /// Kept as a time (not text) because every row compares it with "now".
    time: NaiveTime,
    ref_no: String,
    stat: &'static str,
    ca_ref: String,
    interim: bool,
    decided: bool,
    term: NaiveDate,
    rate: Option<f64>,
    special: bool,
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
}

/// What a notice says, apart from its number and the chain it belongs to.
struct Says {
    interim: bool,
    term: NaiveDate,
    decided: bool,
    rate: Option<f64>,
    special: bool,
}

/// One fiscal year's notices in publication order, numbered as they are published.
struct YearNotices<'a> {
    is: &'a Issue,
    fy_year: i32,
    seq: u32,
    out: Vec<Notice>,
}

impl YearNotices<'_> {
    fn next_ref(&mut self, d: NaiveDate) -> String {
        self.seq += 1;
        format!(
            "{}{}B{:05}",
            d.format("%Y%m%d"),
            self.fy_year.rem_euclid(10),
            (self.is.index as u32 * 8 + self.seq) % 100_000
        )
    }

    /// A new notice (StatCode 1), which starts its own chain; returns its RefNo.
    fn announce(&mut self, d: NaiveDate, time: NaiveTime, says: Says) -> String {
        let ref_no = self.next_ref(d);
        self.push(d, time, ref_no.clone(), "1", ref_no.clone(), says);
        ref_no
    }

    /// A correction (StatCode 2) or deletion (3) of the notice `ca_ref`.
    fn amend(
        &mut self,
        d: NaiveDate,
        time: NaiveTime,
        stat: &'static str,
        ca_ref: &str,
        says: Says,
    ) {
        let ref_no = self.next_ref(d);
        self.push(d, time, ref_no, stat, ca_ref.to_string(), says);
    }

    fn push(
        &mut self,
        pub_date: NaiveDate,
        time: NaiveTime,
        ref_no: String,
        stat: &'static str,
        ca_ref: String,
        says: Says,
    ) {
        self.out.push(Notice {
            pub_date,
            time,
            ref_no,
            stat,
            ca_ref,
            interim: says.interim,
            decided: says.decided,
            term: says.term,
            rate: says.rate,
            special: says.special,
        });
    }
}

/// Dividend notices of one fiscal year: forecasts at the FY/Q2 documents, decisions later;
/// some years carry a correction, a deletion and a re-announcement (`docs/dividends.md`).
fn notices_for_year(is: &Issue, fy_year: i32) -> Vec<Notice> {
    let docs = docs_for_year(is, fy_year);
    let prev_fy = docs_for_year(is, fy_year - 1);
    let fy_en = docs[0].fy_en;
    let r = |k: u64| unit(h(&[is.hash, 90, fy_year as u64, k]));
    let base = (is.base_price / is.future_factor(fy_en).max(1e-9) * 0.012)
        .round()
        .max(1.0);
    let fy_disclosed = |docs: &[Doc]| {
        docs.iter()
            .find(|d| d.kind == Kind::FY)
            .map(|d| d.disc)
            .unwrap_or(fy_en)
    };
    // Forecasts come with the previous year's FY document.
    let fc_date = fy_disclosed(&prev_fy);
    let mut n = YearNotices {
        is,
        fy_year,
        seq: 0,
        out: Vec::new(),
    };
    for (interim, term, decided_on) in [
        (true, docs[1].per_en, docs[1].disc),
        (false, fy_en, fy_disclosed(&docs)),
    ] {
        let forecast = |rate: Option<f64>, special: bool| Says {
            interim,
            term,
            decided: false,
            rate,
            special,
        };
        let undecided = r(if interim { 1 } else { 2 }) < 0.1;
        let rf = n.announce(
            fc_date,
            hm(15, 0),
            forecast((!undecided).then_some(base), false),
        );
        if !interim && r(3) < 0.25 {
            // Correction of the forecast the next day.
            let d = calendar::next_business_day(fc_date);
            n.amend(d, hm(12, 0), "2", &rf, forecast(Some(base + 1.0), false));
        }
        if !interim && r(4) < 0.1 {
            // Deleted, then announced anew.
            let d = calendar::add_business_days(fc_date, 2);
            n.amend(d, hm(16, 0), "3", &rf, forecast(Some(base), false));
            let again = forecast(Some(base + 2.0), r(5) < 0.3);
            n.announce(calendar::next_business_day(d), hm(15, 30), again);
        }
        let decision = Says {
            decided: true,
            rate: Some(base + if r(6) < 0.2 { 2.0 } else { 0.0 }),
            ..forecast(None, false)
        };
        n.announce(decided_on, hm(15, 0), decision);
    }
    n.out
}

pub fn dividend(ctx: &Ctx) -> Vec<String> {
    let (lo, hi) = match ctx.range(ctx.today) {
        Some(r) => r,
        None => return Vec::new(),
    };
    let mut rows: Vec<(NaiveDateTime, String, String)> = Vec::new();
    for is in ctx.issues() {
        for y in lo.year() - 1..=hi.year() + 1 {
            for n in notices_for_year(is, y) {
                let at = n.pub_date.and_time(n.time);
                if n.pub_date < lo || n.pub_date > hi || at > ctx.now_jst || n.pub_date < is.listed
                {
                    continue;
                }
                let rec = n.term;
                let ex = calendar::prev_business_day(rec);
                let pay = calendar::add_business_days(rec, 55);
                let r = row(ctx.fields(), |k| match k {
                    "PubDate" => V::St(jst::fmt_date(n.pub_date)),
                    "PubTime" => V::St(n.time.format("%H:%M").to_string()),
                    "Code" => V::S(&is.code),
                    "RefNo" => V::St(n.ref_no.clone()),
                    "StatCode" => V::S(n.stat),
                    "BoardDate" => V::St(jst::fmt_date(n.pub_date)),
                    "IFCode" => V::S(if n.interim { "1" } else { "2" }),
                    "FRCode" => V::S(if n.decided { "1" } else { "2" }),
                    "IFTerm" => V::St(n.term.format("%Y-%m").to_string()),
                    "DivRate" => match n.rate {
                        Some(x) => V::N(x),
                        None => V::S("-"),
                    },
                    "RecDate" => V::St(jst::fmt_date(rec)),
                    "ExDate" => V::St(jst::fmt_date(ex)),
                    "ActRecDate" => V::St(jst::fmt_date(rec)),
                    "PayDate" => {
                        if n.decided {
                            V::St(jst::fmt_date(pay))
                        } else {
                            V::S("-")
                        }
                    }
                    "CARefNo" => V::St(n.ca_ref.clone()),
                    "CommSpecCode" => V::S(if n.special { "2" } else { "0" }),
                    // JPX types the rate as a String (jpx/endpoints.json), like CommDivRate.
                    "SpecDivRate" if n.special => V::S("2.0"),
                    _ => V::S(""),
                });
                rows.push((at, is.code.clone(), r));
            }
        }
    }
    if ctx.req.code().is_none() {
        rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    }
    rows.into_iter().map(|x| x.2).collect()
}

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
                let s33 = super::super::market::SECTORS33[is.sector].0;
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

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn disc_numbers_are_unique_and_correction_chains_point_back() {
        let m = Market::new(42, 600);
        let mut seen = std::collections::HashSet::new();
        let mut refs = std::collections::HashSet::new();
        let (mut corrections, mut deletions) = (0, 0);
        for is in &m.issues {
            for y in 2018..2027 {
                for d in docs_for_year(is, y) {
                    assert!(seen.insert(d.disc_no.clone()), "dup {}", d.disc_no);
                    assert_eq!(d.disc_no.len(), 14);
                }
                let ns = notices_for_year(is, y);
                for n in &ns {
                    assert!(refs.insert(n.ref_no.clone()), "dup ref {}", n.ref_no);
                    match n.stat {
                        "1" => assert_eq!(n.ca_ref, n.ref_no),
                        _ => {
                            assert!(ns.iter().any(|o| o.ref_no == n.ca_ref && o.stat == "1"));
                            if n.stat == "2" {
                                corrections += 1
                            } else {
                                deletions += 1
                            }
                        }
                    }
                }
            }
        }
        assert!(
            corrections > 10 && deletions > 5,
            "{corrections} {deletions}"
        );
    }
}
