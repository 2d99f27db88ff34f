//! Company names: generated ones (a Japanese stem and a legal-form suffix, with matching
//! English) and the three real issues that examples and `docs/` cite (`docs/market-cap.md`),
//! which keep their real names, sectors and sizes. A name depends only on the code's 4-digit
//! stem, so a preferred share is named like its common stock.

use super::issue::Issue;
use crate::sim::random::{hs, mix};

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

/// A company name from the 4-digit stem, so a preferred share is named like its common stock.
pub(super) fn generated_name(stem: &str) -> (String, String) {
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

/// Gives `issue` its real name and size if it is one of the issues `docs/` cites.
pub(super) fn apply_real_identity(issue: &mut Issue) {
    if let Some(named) = NAMED.iter().find(|n| n.code == issue.code) {
        named.apply(issue);
    }
}
