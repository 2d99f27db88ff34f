//! The synthetic market: listed issues, their splits and a price/volume model that answers
//! any (code, day) in O(1) without generating whole histories, so start-up is instant and
//! memory stays small however many issues are simulated. Everything is a pure function of
//! the seed.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{Datelike, Duration, Months, NaiveDate};

use super::calendar;

/// First business day of the simulated history.
pub fn history_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2017, 1, 4).expect("valid date")
}

/// Last day splits are scheduled for (so moving the clock forward reveals new ones).
fn schedule_end() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 12, 31).expect("valid date")
}

pub use super::calendar::ymd;

/// splitmix64 finaliser: a cheap, well-mixed hash for deterministic randomness.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of several values.
pub fn h(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(0x51_7CC1_B727_220A, |acc, p| mix(acc ^ p))
}

/// Uniform in [0, 1).
pub fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Stable hash of a string (FNV-1a), for codes.
pub fn hs(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |a, b| {
        (a ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

pub fn day_num(d: NaiveDate) -> i64 {
    (d - ymd(2000, 1, 1)).num_days()
}

/// A split (factor < 1) or reverse split (factor > 1), effective on `ex_date`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Split {
    pub ex_date: NaiveDate,
    /// `AdjFactor` on the ex-date: 0.5 for 1:2, 10 for a 10:1 reverse split.
    pub factor: f64,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub code: String,
    pub name: String,
    pub name_en: String,
    /// Index into [`SECTORS33`].
    pub sector: usize,
    /// 0 Prime, 1 Standard, 2 Growth.
    pub segment: usize,
    pub scale_cat: &'static str,
    /// Margin code: "1" margin issue, "2" loan issue, "3" other.
    pub mrgn: &'static str,
    pub listed: NaiveDate,
    /// Close-price level in today's share units.
    pub base_price: f64,
    /// Daily volume level in today's share units.
    pub base_volume: f64,
    /// Issued shares today (incl. treasury).
    pub shares: f64,
    /// Fiscal year end month (3 = March).
    pub fy_end_month: u32,
    pub splits: Vec<Split>,
    pub hash: u64,
    /// Position in the issue list (used to build unique document numbers).
    pub index: usize,
}

/// 33-sector codes with their 17-sector code; names come from the vendored reference data.
pub const SECTORS33: &[(&str, &str)] = &[
    ("0050", "1"),
    ("1050", "2"),
    ("2050", "3"),
    ("3050", "1"),
    ("3100", "4"),
    ("3150", "4"),
    ("3200", "4"),
    ("3250", "5"),
    ("3300", "2"),
    ("3350", "6"),
    ("3400", "3"),
    ("3450", "7"),
    ("3500", "7"),
    ("3550", "3"),
    ("3600", "8"),
    ("3650", "9"),
    ("3700", "6"),
    ("3750", "9"),
    ("3800", "10"),
    ("4050", "11"),
    ("5050", "12"),
    ("5100", "12"),
    ("5150", "12"),
    ("5200", "12"),
    ("5250", "10"),
    ("6050", "13"),
    ("6100", "14"),
    ("7050", "15"),
    ("7100", "16"),
    ("7150", "16"),
    ("7200", "16"),
    ("8050", "17"),
    ("9050", "10"),
];

/// What the simulator takes from the vendored JPX reference data.
pub struct RefNames {
    pub s17: HashMap<String, String>,
    pub s33: HashMap<String, String>,
    /// Index codes for `/indices/bars/daily`, in file order (never empty: TOPIX at least).
    pub index_codes: Vec<String>,
}

/// The vendored reference data, parsed once per process (every simulator shares it).
pub fn ref_names() -> &'static RefNames {
    static R: OnceLock<RefNames> = OnceLock::new();
    R.get_or_init(parse_ref_names)
}

fn parse_ref_names() -> RefNames {
    let v: serde_json::Value = serde_json::from_str(include_str!("../../jpx/reference_data.json"))
        .expect("vendored reference data parses");
    let mut s17 = HashMap::new();
    let mut s33 = HashMap::new();
    let mut index_codes = Vec::new();
    for t in v["reference_data"].as_array().into_iter().flatten() {
        let rows = t["reference_data"].as_array().cloned().unwrap_or_default();
        match t["name"].as_str() {
            Some("sector17_codes") => {
                for r in rows {
                    s17.insert(
                        r["Sector17Code"].as_str().unwrap_or("").to_string(),
                        r["Sector17CodeName"].as_str().unwrap_or("").to_string(),
                    );
                }
            }
            Some("sector33_codes") => {
                for r in rows {
                    s33.insert(
                        r["Sector33Code"].as_str().unwrap_or("").to_string(),
                        r["Sector33CodeName"].as_str().unwrap_or("").to_string(),
                    );
                }
            }
            Some("index_codes") => {
                index_codes.extend(
                    rows.iter()
                        .filter_map(|r| r["Code"].as_str())
                        .map(String::from),
                );
            }
            _ => {}
        }
    }
    if index_codes.is_empty() {
        index_codes.push("0000".into());
    }
    RefNames {
        s17,
        s33,
        index_codes,
    }
}

const NAME_JP: &[&str] = &[
    "サクラ",
    "アオバ",
    "ミドリ",
    "ヒカリ",
    "ツバサ",
    "ヤマト",
    "アサヒ",
    "カエデ",
    "ミナト",
    "ハヤテ",
    "シズカ",
    "ホクト",
    "トウヨウ",
    "ニッポン",
    "ダイイチ",
    "ミライ",
    "ソウゴウ",
    "チュウオウ",
    "キタカゼ",
    "コスモ",
];
const NAME_EN: &[&str] = &[
    "Sakura", "Aoba", "Midori", "Hikari", "Tsubasa", "Yamato", "Asahi", "Kaede", "Minato",
    "Hayate", "Shizuka", "Hokuto", "Toyo", "Nippon", "Daiichi", "Mirai", "Sogo", "Chuo",
    "Kitakaze", "Cosmo",
];
const SUFFIX: &[(&str, &str)] = &[
    ("ホールディングス", "Holdings,Inc."),
    ("工業", "Industries Co.,Ltd."),
    ("製作所", "Manufacturing Co.,Ltd."),
    ("商事", "Corporation"),
    ("システム", "Systems Inc."),
    ("電機", "Electric Co.,Ltd."),
    ("化学", "Chemical Co.,Ltd."),
    ("建設", "Construction Co.,Ltd."),
];

/// Splits and reverse splits as the brief asks: mostly 1:2, some deeper, a few reverse.
const FACTORS: &[f64] = &[0.5, 0.5, 0.5, 0.5, 0.25, 0.1, 1.0 / 3.0, 2.0, 5.0, 10.0];

/// A company name from the 4-digit stem, so a preferred share is named like its common stock.
fn generated_name(stem: &str) -> (String, String) {
    let i = (hs(stem) % NAME_JP.len() as u64) as usize;
    let j = (mix(hs(stem)) % SUFFIX.len() as u64) as usize;
    (
        format!("{}{}", NAME_JP[i], SUFFIX[j].0),
        format!("{} {}", NAME_EN[i], SUFFIX[j].1),
    )
}

/// The real issues that examples and `docs/` name, with their real names and sizes; all
/// three are loan issues (`Mrgn` 2).
struct Named {
    code: &'static str,
    name: &'static str,
    name_en: &'static str,
    sector: usize,
    segment: usize,
    scale_cat: &'static str,
    base_price: f64,
    base_volume: f64,
    shares: f64,
    fy_end_month: u32,
}

const NAMED: &[Named] = &[
    Named {
        code: "72030",
        name: "トヨタ自動車",
        name_en: "TOYOTA MOTOR CORPORATION",
        sector: 16,
        segment: 0,
        scale_cat: "TOPIX Core30",
        base_price: 2800.0,
        base_volume: 2.5e7,
        shares: 15_794_987_460.0,
        fy_end_month: 3,
    },
    Named {
        code: "86970",
        name: "日本取引所グループ",
        name_en: "Japan Exchange Group,Inc.",
        sector: 30,
        segment: 0,
        scale_cat: "TOPIX Large70",
        base_price: 1600.0,
        base_volume: 3.0e6,
        shares: 1_045_814_634.0,
        fy_end_month: 3,
    },
    Named {
        code: "33500",
        name: "メタプラネット",
        name_en: "Metaplanet Inc.",
        sector: 24,
        segment: 1,
        scale_cat: "TOPIX Small 2",
        base_price: 600.0,
        base_volume: 2.0e7,
        shares: 459_906_340.0,
        fy_end_month: 12,
    },
];

impl Named {
    fn apply(&self, issue: &mut Issue) {
        issue.name = self.name.into();
        issue.name_en = self.name_en.into();
        issue.sector = self.sector;
        issue.segment = self.segment;
        issue.scale_cat = self.scale_cat;
        issue.mrgn = "2";
        issue.base_price = self.base_price;
        issue.base_volume = self.base_volume;
        issue.shares = self.shares;
        issue.fy_end_month = self.fy_end_month;
    }
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
        let n = n.max(10);
        // Candidate numeric codes, ordered by a seeded hash; the fixed ones come first.
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
        let mut codes: Vec<(String, bool)> =
            bases.iter().map(|b| (format!("{b}0"), false)).collect();
        for l in letters.iter().take(n_letters) {
            codes.push((format!("{l}0"), false));
        }
        // Preferred shares: same 4-digit stem as a listed common stock, 5th char 5.
        for b in bases.iter().skip(3).take(n_pref) {
            codes.push((format!("{b}5"), true));
        }
        codes.sort();
        let mut issues = Vec::with_capacity(codes.len());
        for (i, (code, pref)) in codes.into_iter().enumerate() {
            issues.push(Self::make_issue(seed, i, code, pref));
        }
        Self::schedule_splits(seed, &mut issues);
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
        if let Some(named) = NAMED.iter().find(|n| n.code == issue.code) {
            named.apply(&mut issue);
        }
        if pref {
            issue.name = format!("{}第1種優先株式", issue.name);
            issue.name_en = format!("{} Preferred Shares", issue.name_en);
            issue.base_volume = (issue.base_volume / 50.0).max(100.0);
        }
        issue
    }

    /// An issue drawn from the seed: sector, segment, listing date, size and fiscal year.
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
            listed: first_business_on_or_after(listed),
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

    fn schedule_splits(seed: u64, issues: &mut [Issue]) {
        let fixed: HashMap<&str, Vec<Split>> = HashMap::from([
            (
                "33500",
                vec![Split {
                    ex_date: ymd(2025, 3, 28),
                    factor: 0.1,
                }],
            ),
            (
                "72030",
                vec![Split {
                    ex_date: ymd(2021, 9, 29),
                    factor: 0.2,
                }],
            ),
            ("86970", vec![]),
        ]);
        let n = issues.len();
        let per_month = ((n as f64 / 1300.0).ceil() as u64).max(1);
        let mut month = ymd(2017, 2, 1);
        let mut k = 0u64;
        while month <= schedule_end() {
            for j in 0..per_month + (h(&[seed, 7, k]) % 2) {
                let x = h(&[seed, 8, k, j]);
                let idx = (x % n as u64) as usize;
                let days = calendar::business_days(month, month + Duration::days(27));
                if days.is_empty() {
                    continue;
                }
                let ex_date = days[(mix(x) % days.len() as u64) as usize];
                let factor = FACTORS[(mix(x ^ 3) % FACTORS.len() as u64) as usize];
                let is = &mut issues[idx];
                let clash = is
                    .splits
                    .iter()
                    .any(|s| (s.ex_date - ex_date).num_days().abs() < 90);
                if fixed.contains_key(is.code.as_str()) || clash || ex_date <= is.listed {
                    continue;
                }
                is.splits.push(Split { ex_date, factor });
            }
            month = add_months(month, 1);
            k += 1;
        }
        for is in issues.iter_mut() {
            if let Some(f) = fixed.get(is.code.as_str()) {
                is.splits = f.clone();
            }
            is.splits.sort_by_key(|s| s.ex_date);
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

/// First day of the month `n` months after `d`'s month (`n` may be negative): the one
/// month-stepping helper of the simulator.
pub fn add_months(d: NaiveDate, n: i32) -> NaiveDate {
    let first = d.with_day(1).expect("every month has a day 1");
    let step = Months::new(n.unsigned_abs());
    if n >= 0 { first + step } else { first - step }
}

fn first_business_on_or_after(d: NaiveDate) -> NaiveDate {
    if calendar::is_business_day(d) {
        d
    } else {
        calendar::next_business_day(d)
    }
}

/// Smooth value noise in [-1, 1] at position `x` for stream `key`: seeded values at the
/// integers, cosine-interpolated between them. Every smooth random series in the simulator
/// (prices, volumes, index levels, margin balances) is built from this.
pub fn noise(key: u64, x: f64) -> f64 {
    let i = x.floor();
    let f = x - i;
    let a = unit(h(&[key, i as i64 as u64])) * 2.0 - 1.0;
    let b = unit(h(&[key, (i as i64 + 1) as u64])) * 2.0 - 1.0;
    let t = (1.0 - (f * std::f64::consts::PI).cos()) / 2.0;
    a + (b - a) * t
}

/// Multi-octave noise: long swings plus short wiggles.
fn fbm(key: u64, t: f64, amp: f64) -> f64 {
    const OCT: &[(f64, f64)] = &[
        (400.0, 0.55),
        (90.0, 0.25),
        (21.0, 0.12),
        (5.0, 0.06),
        (1.3, 0.03),
    ];
    OCT.iter()
        .enumerate()
        .map(|(k, (period, a))| a * amp * noise(key ^ ((k as u64 + 1) * 0x1000), t / period))
        .sum()
}

/// Raw (unadjusted) bar of one issue on one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawBar {
    pub o: f64,
    pub h: f64,
    pub l: f64,
    pub c: f64,
    pub vo: f64,
    pub va: f64,
    /// Morning session close, afternoon open (for the Premium `M*`/`A*` keys).
    pub mc: f64,
    pub ao: f64,
    pub mh: f64,
    pub ml: f64,
    pub ah: f64,
    pub al: f64,
    pub mvo: f64,
    pub mva: f64,
    pub upper: bool,
    pub lower: bool,
}

/// TSE tick size for a price level (standard issues).
pub fn tick(p: f64) -> f64 {
    match p {
        p if p <= 3_000.0 => 1.0,
        p if p <= 5_000.0 => 5.0,
        p if p <= 30_000.0 => 10.0,
        p if p <= 50_000.0 => 50.0,
        p if p <= 300_000.0 => 100.0,
        p if p <= 500_000.0 => 500.0,
        _ => 1_000.0,
    }
}

fn round_tick(p: f64) -> f64 {
    let t = tick(p);
    ((p / t).round() * t).max(1.0)
}

impl Issue {
    /// Product of the factors of all splits with ex-date after `d` (visible or not): how
    /// many of today's shares one share on `d` was worth. Raw prices are `level / this`.
    pub fn future_factor(&self, d: NaiveDate) -> f64 {
        self.splits
            .iter()
            .filter(|s| s.ex_date > d)
            .map(|s| s.factor)
            .product()
    }

    /// The adjustment multiplier for day `d` given splits visible up to `visible_until`.
    pub fn adj_multiplier(&self, d: NaiveDate, visible_until: NaiveDate) -> f64 {
        self.splits
            .iter()
            .filter(|s| s.ex_date > d && s.ex_date <= visible_until)
            .map(|s| s.factor)
            .product()
    }

    pub fn adj_factor_on(&self, d: NaiveDate) -> f64 {
        self.splits
            .iter()
            .find(|s| s.ex_date == d)
            .map(|s| s.factor)
            .unwrap_or(1.0)
    }

    /// Price level in today's share units at fractional day `t`.
    fn level(&self, t: f64) -> f64 {
        let amp = if self.code == "33500" { 0.6 } else { 1.0 };
        self.base_price * fbm(self.hash, t, amp).exp()
    }

    /// Whether `d` is a day without trades (the row exists with nulls).
    pub fn no_trade(&self, d: NaiveDate) -> bool {
        let vol_small = self.base_volume < 20_000.0;
        let p = if vol_small { 0.02 } else { 0.002 };
        unit(h(&[self.hash, 99, day_num(d) as u64])) < p
            && !self.splits.iter().any(|s| s.ex_date == d)
            && d != self.listed
            // The named issues are always heavily traded.
            && !matches!(self.code.as_str(), "72030" | "86970" | "33500")
    }

    /// Shares issued (incl. treasury) at the end of day `d`.
    pub fn shares_at(&self, d: NaiveDate) -> f64 {
        if self.code == "33500" {
            // `docs/market-cap.md`: 36,268,334 before the 1:10 split, then capital raises on top.
            return if d < ymd(2025, 3, 28) {
                36_268_334.0
            } else if d < ymd(2025, 3, 31) {
                362_683_340.0
            } else {
                459_906_340.0
            };
        }
        (self.shares * self.future_factor(d)).round()
    }

    /// The raw bar for a business day on which the issue is listed, `None` on a no-trade day.
    pub fn raw_bar(&self, d: NaiveDate) -> Option<RawBar> {
        if self.no_trade(d) {
            return None;
        }
        let t = day_num(d) as f64;
        let ff = self.future_factor(d);
        let r = |k: u64| unit(h(&[self.hash, k, t as u64]));
        let c = round_tick(self.level(t) / ff);
        let o = round_tick(self.level(t - 0.6) / ff * (1.0 + (r(1) - 0.5) * 0.01));
        let mc = round_tick((o + c) / 2.0 * (1.0 + (r(2) - 0.5) * 0.01));
        let ao = round_tick(mc * (1.0 + (r(3) - 0.5) * 0.004));
        let mh = round_tick(o.max(mc) * (1.0 + r(4) * 0.012));
        let ml = round_tick(o.min(mc) * (1.0 - r(5) * 0.012));
        let ah = round_tick(ao.max(c) * (1.0 + r(6) * 0.012));
        let al = round_tick(ao.min(c) * (1.0 - r(7) * 0.012));
        let (mh, ml) = (mh.max(o).max(mc), ml.min(o).min(mc));
        let (ah, al) = (ah.max(ao).max(c), al.min(ao).min(c));
        let hi = mh.max(ah);
        let lo = ml.min(al);
        let vol_level =
            self.base_volume * (0.8 * fbm(self.hash ^ 0xABCD, t, 1.0)).exp() * (0.6 + 0.8 * r(8));
        let vo = ((vol_level * ff / 100.0).round() * 100.0).max(100.0);
        let mvo = ((vo * (0.35 + 0.3 * r(9)) / 100.0).round() * 100.0).min(vo);
        let mva = (mvo * (o + mc + mh + ml) / 4.0).round();
        let ava = ((vo - mvo) * (ao + c + ah + al) / 4.0).round();
        let prev = self.level(t - 1.0) / self.future_factor(d - Duration::days(1));
        Some(RawBar {
            o,
            h: hi,
            l: lo,
            c,
            vo,
            va: mva + ava,
            mc,
            ao,
            mh,
            ml,
            ah,
            al,
            mvo,
            mva,
            upper: c >= prev * 1.15 && c == hi,
            lower: c <= prev * 0.85 && c == lo,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_codes_exist_and_market_is_deterministic() {
        let a = Market::new(42, 4000);
        let b = Market::new(42, 4000);
        let c = Market::new(7, 4000);
        assert!(
            (3990..=4010).contains(&a.issues.len()),
            "{}",
            a.issues.len()
        );
        for code in ["72030", "86970", "33500", "130A0"] {
            assert!(a.issue(code).is_some(), "{code}");
        }
        assert!(a.codes().any(|c| !c.ends_with('0')), "a preferred share");
        let ca: Vec<&str> = a.codes().collect();
        let cb: Vec<&str> = b.codes().collect();
        let cc: Vec<&str> = c.codes().collect();
        assert_eq!(ca, cb);
        assert_ne!(ca, cc);
        let d = ymd(2024, 6, 3);
        assert_eq!(
            a.issue("72030").unwrap().raw_bar(d),
            b.issue("72030").unwrap().raw_bar(d)
        );
        assert_ne!(
            a.issue("72030").unwrap().raw_bar(d),
            c.issue("72030").unwrap().raw_bar(d)
        );
        assert_eq!(a.all_splits(), b.all_splits());
        let n = a.all_splits().len();
        assert!(n > 200, "{n} splits");
    }

    #[test]
    fn bars_are_consistent() {
        let m = Market::new(42, 500);
        for is in &m.issues {
            for d in calendar::business_days(ymd(2024, 1, 1), ymd(2024, 3, 1)).iter() {
                if *d < is.listed {
                    continue;
                }
                if let Some(b) = is.raw_bar(*d) {
                    assert!(
                        b.l <= b.o.min(b.c) && b.h >= b.o.max(b.c),
                        "{} {d} {b:?}",
                        is.code
                    );
                    assert!(b.ml >= b.l && b.mh <= b.h && b.al >= b.l && b.ah <= b.h);
                    assert!(b.vo >= b.mvo && b.vo > 0.0 && b.va > 0.0);
                }
            }
        }
    }

    #[test]
    fn code_33500_split() {
        let m = Market::new(42, 100);
        let is = m.issue("33500").unwrap();
        assert_eq!(is.adj_factor_on(ymd(2025, 3, 28)), 0.1);
        assert_eq!(is.adj_factor_on(ymd(2025, 3, 27)), 1.0);
        assert_eq!(is.adj_factor_on(ymd(2025, 3, 31)), 1.0);
        let before = is.raw_bar(ymd(2025, 3, 27)).unwrap().c;
        let after = is.raw_bar(ymd(2025, 3, 28)).unwrap().c;
        assert!((1000.0..20000.0).contains(&before), "{before}");
        assert!((100.0..2000.0).contains(&after), "{after}");
        assert!(before / after > 5.0 && before / after < 20.0);
        assert_eq!(is.shares_at(ymd(2024, 12, 31)), 36_268_334.0);
    }

    #[test]
    fn raw_prices_jump_at_splits_and_adjusted_ones_do_not() {
        let m = Market::new(42, 4000);
        let mut checked = 0;
        for (code, s) in m.all_splits() {
            if s.ex_date > ymd(2026, 6, 1) || s.ex_date < ymd(2018, 1, 1) {
                continue;
            }
            let is = m.issue(code).unwrap();
            let prev = calendar::prev_business_day(s.ex_date);
            let (Some(a), Some(b)) = (is.raw_bar(prev), is.raw_bar(s.ex_date)) else {
                continue;
            };
            let vis = ymd(2026, 11, 20);
            let adj_prev = a.c * is.adj_multiplier(prev, vis);
            let adj_ex = b.c * is.adj_multiplier(s.ex_date, vis);
            let raw_ratio = b.c / a.c;
            let adj_ratio = adj_ex / adj_prev;
            // Raw moves by about the factor, adjusted by ordinary daily noise only.
            assert!(
                (raw_ratio / s.factor).ln().abs() < 0.25,
                "{code} {s:?} {raw_ratio}"
            );
            assert!(adj_ratio.ln().abs() < 0.25, "{code} {s:?} {adj_ratio}");
            checked += 1;
        }
        assert!(checked > 100);
    }
}
