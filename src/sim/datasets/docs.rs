//! The disclosure documents every `fins` dataset, TDnet and EDINET are read from: per
//! (issue, fiscal year) four quarterly statements and sometimes a forecast revision, each
//! with its disclosure moment and a unique `DiscNo`. Derived per year, so a date
//! cross-section only touches the years around that date.
//! Invariants: a year's documents come in disclosure order; `DiscNo` is unique across the
//! market; code 3350 keeps the dates `docs/market-cap.md` cites.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

use crate::sim::calendar::{self, add_months, ymd};
use crate::sim::market::Issue;
use crate::sim::random::{h, unit};

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
        self.disc.and_time(hms(self.time).unwrap_or_default())
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

    pub(super) fn doc_type(&self, is: &Issue) -> String {
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
pub(super) fn add_months_end(d: NaiveDate, months: i32) -> NaiveDate {
    add_months(d, months + 1) - Duration::days(1)
}

const TIMES: &[&str] = &[
    "15:00:00", "15:30:00", "16:00:00", "13:00:00", "11:30:00", "17:00:00",
];

/// Days after its fiscal year's end by which a year's documents are all disclosed: the FY
/// statement 38-56 days after, moved to the next business day at most; the revision comes
/// before it, the quarters earlier still. None is disclosed before the year starts.
pub const DISCLOSED_WITHIN_DAYS: i64 = 120;

/// The first and last day of the fiscal year ending in `fy_year`.
pub fn fiscal_year(is: &Issue, fy_year: i32) -> (NaiveDate, NaiveDate) {
    let fy_en = add_months_end(ymd(fy_year, is.fy_end_month, 1), 0);
    (add_months_end(fy_en, -12) + Duration::days(1), fy_en)
}

/// The documents of each (issue, fiscal year) derived so far by a run of date
/// cross-sections: a bulk file's days ask for the same years of every issue, day after day.
/// Kept for one run only (one file), so it holds a few years of documents at most.
#[derive(Default)]
pub struct DocsMemo(RefCell<HashMap<IssueYear, Rc<[Doc]>>>);

/// An issue's index and a fiscal year.
type IssueYear = (usize, i32);

impl DocsMemo {
    /// [`docs_for_year`], derived once per run.
    pub fn year(&self, is: &Issue, fy_year: i32) -> Rc<[Doc]> {
        let key = (is.index, fy_year);
        if let Some(docs) = self.0.borrow().get(&key) {
            return docs.clone();
        }
        let docs: Rc<[Doc]> = docs_for_year(is, fy_year).into();
        self.0.borrow_mut().insert(key, docs.clone());
        docs
    }
}

/// The documents of fiscal year ending in `fy_year`, in disclosure order.
pub fn docs_for_year(is: &Issue, fy_year: i32) -> Vec<Doc> {
    let (fy_st, fy_en) = fiscal_year(is, fy_year);
    let r = |k: u64| unit(h(&[is.hash, 60, fy_year as u64, k]));
    let mut docs: Vec<Doc> = [Kind::Q1, Kind::Q2, Kind::Q3, Kind::FY]
        .into_iter()
        .enumerate()
        .map(|(q, kind)| quarterly_doc((fy_st, fy_en), q, kind, &r))
        .collect();
    if r(30) < 0.35 {
        // A forecast revision between the 3Q and FY documents.
        let disc =
            calendar::next_business_day(docs[2].disc + Duration::days(20 + (r(31) * 20.0) as i64));
        docs.insert(
            3,
            Doc {
                disc,
                time: "15:00:00",
                kind: Kind::Revision,
                fy_st,
                fy_en,
                per_st: fy_st,
                per_en: fy_en,
                disc_no: String::new(),
            },
        );
    }
    if is.code == "33500" {
        pin_cited_dates(&mut docs, fy_year);
    }
    // In order already but for pinned dates: sorted only when not (a date cross-section
    // derives this for every issue, and a debug build's sort shows). No two documents of a
    // year share a moment (a test checks it), so the order is the sort's either way.
    let in_order = docs
        .windows(2)
        .all(|w| (w[0].disc, w[0].time) < (w[1].disc, w[1].time));
    if !in_order {
        docs.sort_by_key(Doc::at);
    }
    number(&mut docs, is, fy_year);
    docs
}

/// The statement for quarter `q` (0 = 1Q) of the fiscal year `(fy_st, fy_en)`, disclosed
/// 30-47 days after the quarter (38-56 for the full year); `r` draws this year's randomness.
fn quarterly_doc(
    (fy_st, fy_en): (NaiveDate, NaiveDate),
    q: usize,
    kind: Kind,
    r: &impl Fn(u64) -> f64,
) -> Doc {
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
    Doc {
        disc,
        time,
        kind,
        fy_st,
        fy_en,
        per_st: fy_st,
        per_en,
        disc_no: String::new(),
    }
}

/// Code 3350's documents on the dates `docs/market-cap.md` cites: the FY2024 document on
/// 2025-03-03, the 1Q 2025 one on 2025-05-14, and no FY2024 forecast revision.
fn pin_cited_dates(docs: &mut Vec<Doc>, fy_year: i32) {
    for d in docs.iter_mut() {
        match (fy_year, d.kind) {
            (2024, Kind::FY) => (d.disc, d.time) = (ymd(2025, 3, 3), "15:30:00"),
            (2025, Kind::Q1) => (d.disc, d.time) = (ymd(2025, 5, 14), "15:30:00"),
            _ => {}
        }
    }
    docs.retain(|d| d.kind != Kind::Revision || fy_year != 2024);
}

/// `DiscNo`s in disclosure order: date, the issue's position and a per-year sequence digit.
fn number(docs: &mut [Doc], is: &Issue, fy_year: i32) {
    for (k, d) in docs.iter_mut().enumerate() {
        // The date as `%Y%m%d` (chrono's formatter costs more than the rest of the year's
        // documents together, and date cross-sections derive them for every issue).
        d.disc_no = format!(
            "{:04}{:02}{:02}{:05}{}",
            d.disc.year(),
            d.disc.month(),
            d.disc.day(),
            is.index % 100_000,
            (k + fy_year as usize) % 10
        );
    }
}

/// A `HH:MM:SS` time of day (the only spelling [`TIMES`] has), read without chrono's
/// format parser (every document's moment is read for every date cross-section).
fn hms(t: &str) -> Option<NaiveTime> {
    let mut parts = t.splitn(3, ':').map(|p| p.parse::<u32>().ok());
    match (parts.next()?, parts.next()?, parts.next()?) {
        (Some(h), Some(m), Some(s)) if t.len() == 8 => NaiveTime::from_hms_opt(h, m, s),
        _ => NaiveTime::parse_from_str(t, "%H:%M:%S").ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::market::Market;

    #[test]
    fn times_and_numbers_read_as_chrono_would_write_them() {
        for t in TIMES.iter().chain(&["00:00:00", "23:59:59"]) {
            assert_eq!(hms(t), NaiveTime::parse_from_str(t, "%H:%M:%S").ok(), "{t}");
        }
        assert_eq!(hms("7:00"), None);
        let m = Market::new(42, 50);
        for is in m.issues.iter() {
            for d in docs_for_year(is, 2026) {
                assert!(d.disc_no.starts_with(&d.disc.format("%Y%m%d").to_string()));
                assert_eq!(d.disc_no.len(), 14);
            }
        }
    }

    #[test]
    fn a_years_documents_come_in_order_within_its_bounds() {
        let m = Market::new(42, 1000);
        for is in m.issues.iter() {
            for y in 2008..=2028 {
                let (fy_st, fy_en) = fiscal_year(is, y);
                let docs = docs_for_year(is, y);
                let moments: Vec<NaiveDateTime> = docs.iter().map(Doc::at).collect();
                assert!(
                    moments.windows(2).all(|w| w[0] < w[1]),
                    "{} {y}: {moments:?}",
                    is.code
                );
                for d in docs {
                    assert!(
                        fy_st < d.disc && d.disc <= fy_en + Duration::days(DISCLOSED_WITHIN_DAYS),
                        "{} {y} {:?} disclosed {}",
                        is.code,
                        d.kind,
                        d.disc
                    );
                }
            }
        }
    }
}
