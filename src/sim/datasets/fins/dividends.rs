//! `/fins/dividend`: dividend notices with their RefNo/CARefNo correction chains
//! (`docs/dividends.md`). Per fiscal year, forecasts come with the previous year's FY
//! document and decisions with the Q2 and FY documents; some years carry a correction, a
//! deletion and a re-announcement.
//! Invariants: RefNo is unique; a new notice (StatCode 1) is its own chain (CARefNo = RefNo);
//! a correction (2) or deletion (3) points at a StatCode 1 notice of the same year.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};

use crate::jst;
use crate::sim::calendar;
use crate::sim::datasets::ctx::Ctx;
use crate::sim::datasets::docs::{Doc, Kind, docs_for_year};
use crate::sim::datasets::json::{V, row};
use crate::sim::market::Issue;
use crate::sim::random::{h, unit};

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
                rows.push((at, is.code.clone(), notice_row(ctx, is, &n)));
            }
        }
    }
    if ctx.req.code().is_none() {
        rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    }
    rows.into_iter().map(|x| x.2).collect()
}

/// The `/fins/dividend` row of notice `n`: record date at the term's end, ex-date the
/// business day before, payment 55 business days after (only once decided).
fn notice_row(ctx: &Ctx, is: &Issue, n: &Notice) -> String {
    let rec = n.term;
    let ex = calendar::prev_business_day(rec);
    let pay = calendar::add_business_days(rec, 55);
    row(ctx.fields(), |k| match k {
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::market::Market;

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
