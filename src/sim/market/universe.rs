//! The issue universe: which codes are listed (a hash-ordered sample of 4-digit codes, a few
//! alphanumeric codes listed since 2024, preferred shares sharing a common stock's stem, and
//! the issues `docs/` cites), what each one is like, and lookups by code.
//! Invariants: codes are unique and sorted, `Issue::index` is the position in that order,
//! and the same seed and size give the same market.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};

use super::issue::{Issue, Split};
use super::names::{apply_real_identity, generated_name};
use super::reference::{RefNames, SECTORS33, ref_names};
use super::splits;
use crate::sim::calendar::{business_day_on_or_after, ymd};
use crate::sim::random::{h, hs, unit};

/// First business day of the simulated history.
pub fn history_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2017, 1, 4).expect("valid date")
}

pub struct Market {
    pub seed: u64,
    pub issues: Vec<Issue>,
    by_code: HashMap<String, usize>,
    pub names: &'static RefNames,
}

impl std::fmt::Debug for Market {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Market(seed {}, {} issues)",
            self.seed,
            self.issues.len()
        )
    }
}

impl Market {
    pub fn new(seed: u64, n: usize) -> Market {
        let codes = listed_codes(seed, n.max(10));
        let mut issues = Vec::with_capacity(codes.len());
        for (i, (code, pref)) in codes.into_iter().enumerate() {
            issues.push(Self::make_issue(seed, i, code, pref));
        }
        splits::schedule(seed, &mut issues);
        let by_code = issues
            .iter()
            .enumerate()
            .map(|(i, x)| (x.code.clone(), i))
            .collect();
        Market {
            seed,
            issues,
            by_code,
            names: ref_names(),
        }
    }

    fn make_issue(seed: u64, index: usize, code: String, pref: bool) -> Issue {
        let mut issue = Self::random_issue(seed, index, code);
        apply_real_identity(&mut issue);
        if pref {
            issue.name = format!("{}第1種優先株式", issue.name);
            issue.name_en = format!("{} Preferred Shares", issue.name_en);
            issue.base_volume = (issue.base_volume / 50.0).max(100.0);
        }
        issue
    }

    /// An issue drawn from the seed and its code: sector, segment, listing date, size and
    /// fiscal year.
    fn random_issue(seed: u64, index: usize, code: String) -> Issue {
        let hc = h(&[seed, hs(&code)]);
        let r = |k: u64| unit(h(&[hc, k]));
        let letter = code.chars().take(4).any(|c| c.is_ascii_alphabetic());
        let segment = if r(2) < 0.42 {
            0
        } else if r(2) < 0.80 {
            1
        } else {
            2
        };
        let listed = if letter {
            ymd(2024, 1, 4) + Duration::days((r(3) * 600.0) as i64)
        } else if r(3) < 0.08 {
            // Some issues listed during the simulated history.
            ymd(2018, 1, 4) + Duration::days((r(4) * 2500.0) as i64)
        } else {
            history_start()
        };
        let (name, name_en) = generated_name(&code[..4]);
        Issue {
            name,
            name_en,
            sector: (r(1) * SECTORS33.len() as f64) as usize,
            segment,
            scale_cat: ["TOPIX Mid400", "TOPIX Small 1", "TOPIX Small 2", "-"]
                [(r(10) * 4.0) as usize],
            mrgn: if r(11) < 0.55 {
                "2"
            } else if r(11) < 0.92 {
                "1"
            } else {
                "3"
            },
            listed: business_day_on_or_after(listed),
            base_price: (150.0 * (r(5) * 4.5).exp()).round(),
            base_volume: (2_000.0 * (r(6) * 6.0).exp()).round(),
            shares: ((5.0e6 * (r(7) * 5.0).exp()) / 1000.0).round() * 1000.0,
            fy_end_month: if r(8) < 0.7 {
                3
            } else {
                [12, 6, 9, 2][(r(9) * 4.0) as usize]
            },
            splits: Vec::new(),
            hash: hc,
            index,
            code,
        }
    }

    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.issues.iter().map(|i| i.code.as_str())
    }

    pub fn issue(&self, code: &str) -> Option<&Issue> {
        self.by_code.get(code).map(|i| &self.issues[*i])
    }

    /// Every scheduled split of `code` (visible or not yet).
    pub fn splits(&self, code: &str) -> &[Split] {
        self.issue(code).map(|i| i.splits.as_slice()).unwrap_or(&[])
    }

    /// Every scheduled split in the market as (code, split), ordered by ex-date.
    pub fn all_splits(&self) -> Vec<(&str, Split)> {
        let mut v: Vec<(&str, Split)> = self
            .issues
            .iter()
            .flat_map(|i| i.splits.iter().map(move |s| (i.code.as_str(), *s)))
            .collect();
        v.sort_by(|a, b| a.1.ex_date.cmp(&b.1.ex_date).then(a.0.cmp(b.0)));
        v
    }

    pub fn sector33_name(&self, code: &str) -> &str {
        self.names.s33.get(code).map(String::as_str).unwrap_or("")
    }

    pub fn sector17_name(&self, code: &str) -> &str {
        self.names.s17.get(code).map(String::as_str).unwrap_or("")
    }
}

/// About `n` codes in order, each with whether it is a preferred share.
fn listed_codes(seed: u64, n: usize) -> Vec<(String, bool)> {
    // Candidate numeric codes, ordered by a hash of the seed; the fixed ones come first.
    let fixed = ["7203", "8697", "3350"];
    let mut cands: Vec<u32> = (1301..=9997)
        .filter(|c| c % 10 != 0 || c % 7 == 0)
        .collect();
    cands.sort_by_key(|c| h(&[seed, 1, *c as u64]));
    let letters = [
        "130A", "135A", "141A", "145A", "150A", "156A", "167A", "186A",
    ];
    let n_letters = letters.len().min(n / 50).max(1);
    let n_pref = (n / 1000).clamp(1, 5);
    let mut bases: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
    for c in &cands {
        if bases.len() + n_letters + n_pref >= n {
            break;
        }
        let s = c.to_string();
        // The candidates are distinct, so only the fixed codes can repeat.
        if !fixed.contains(&s.as_str()) {
            bases.push(s);
        }
    }
    let mut codes: Vec<(String, bool)> = bases.iter().map(|b| (format!("{b}0"), false)).collect();
    for l in letters.iter().take(n_letters) {
        codes.push((format!("{l}0"), false));
    }
    // Preferred shares: same 4-digit stem as a listed common stock, 5th char 5.
    for b in bases.iter().skip(3).take(n_pref) {
        codes.push((format!("{b}5"), true));
    }
    codes.sort();
    codes
}
