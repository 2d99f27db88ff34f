//! Dividend notices (`/fins/dividend`) with the `RefNo` / `CARefNo` / `StatCode` chain applied
//! (`docs/dividends.md`), and annual dividend yields against the latest close.
//!
//! The chain: a new notice (`StatCode` 1, `CARefNo` = its own `RefNo`) starts a chain; a
//! correction (2) replaces the notice its `CARefNo` names; a deletion (3) removes it. What is
//! in force is the last notice of every chain that was not deleted, with the notices it
//! replaced as its history. Amounts are passed through as the upstream sent them: `"-"` means
//! undecided and `""` not set, and both are unknown (never zero) in the sums.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::values::{date, get, text, time};
use super::{DerivedError, Row};

mod annual;

pub use annual::{AnnualDividend, DividendPeriod, annual_yields};

/// One `/fins/dividend` notice: the upstream fields unchanged plus what the chain needs.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
// The published document types each key as the catalog's `/fins/dividend` field table does
// (`routes::docs::complete`); the doc comments below are the keys' descriptions.
pub struct DividendNotice {
    /// Notice date (通知日), `YYYY-MM-DD`.
    #[serde(rename = "PubDate")]
    pub pub_date: Value,
    /// Notice time (通知時刻), `HH:MM`.
    #[serde(rename = "PubTime")]
    pub pub_time: Value,
    /// Issue code.
    #[serde(rename = "Code")]
    pub code: Value,
    /// Reference number identifying this notice.
    #[serde(rename = "RefNo")]
    pub ref_no: Value,
    /// Update kind: "1" new, "2" correction, "3" deletion.
    #[serde(rename = "StatCode")]
    pub stat_code: Value,
    /// Board resolution date, `YYYY-MM-DD`.
    #[serde(rename = "BoardDate")]
    pub board_date: Value,
    /// Dividend kind: "1" interim, "2" year-end.
    #[serde(rename = "IFCode")]
    pub if_code: Value,
    /// "1" decided (決定), "2" forecast (予想).
    #[serde(rename = "FRCode")]
    pub fr_code: Value,
    /// Record year-month of the dividend (配当基準日年月), `YYYY-MM`.
    #[serde(rename = "IFTerm")]
    pub if_term: Value,
    /// Dividend per share, yen; "-" undecided, "" not set.
    #[serde(rename = "DivRate")]
    pub div_rate: Value,
    /// Record date (基準日), `YYYY-MM-DD`.
    #[serde(rename = "RecDate")]
    pub rec_date: Value,
    /// Ex-dividend date (権利落日), `YYYY-MM-DD`.
    #[serde(rename = "ExDate")]
    pub ex_date: Value,
    /// Actual record date (権利確定日), `YYYY-MM-DD`.
    #[serde(rename = "ActRecDate")]
    pub act_rec_date: Value,
    /// Scheduled payment start date, `YYYY-MM-DD`; "-" undecided, "" not set.
    #[serde(rename = "PayDate")]
    pub pay_date: Value,
    /// `RefNo` of the notice this one corrects or deletes (its own `RefNo` when new).
    #[serde(rename = "CARefNo")]
    pub ca_ref_no: Value,
    /// Money etc. distributed per share, yen; "-" undecided, "" not set.
    #[serde(rename = "DistAmt")]
    pub dist_amt: Value,
    /// Retained earnings per share, yen; "-" undecided, "" not set.
    #[serde(rename = "RetEarn")]
    pub ret_earn: Value,
    /// Deemed dividend per share, yen; "-" undecided, "" not set.
    #[serde(rename = "DeemDiv")]
    pub deem_div: Value,
    /// Deemed capital gains per share, yen; "-" undecided, "" not set.
    #[serde(rename = "DeemCapGains")]
    pub deem_cap_gains: Value,
    /// Net asset decrease ratio (fraction); "-" undecided, "" not set.
    #[serde(rename = "NetAssetDecRatio")]
    pub net_asset_dec_ratio: Value,
    /// "0" ordinary, "1" commemorative, "2" special, "3" both.
    #[serde(rename = "CommSpecCode")]
    pub comm_spec_code: Value,
    /// Commemorative dividend per share, yen; "-" undecided, "" not set.
    #[serde(rename = "CommDivRate")]
    pub comm_div_rate: Value,
    /// Special dividend per share, yen; "-" undecided, "" not set.
    #[serde(rename = "SpecDivRate")]
    pub spec_div_rate: Value,
}

impl DividendNotice {
    pub fn from_row(row: &Row) -> Result<Self, DerivedError> {
        if text(get(row, "RefNo")).is_none() {
            return Err(DerivedError::new(
                "RefNo",
                "a dividend notice needs a RefNo",
            ));
        }
        // Values pass through exactly as the upstream sent them; a missing key reads as null.
        let g = |key: &str| get(row, key).clone();
        Ok(Self {
            pub_date: g("PubDate"),
            pub_time: g("PubTime"),
            code: g("Code"),
            ref_no: g("RefNo"),
            stat_code: g("StatCode"),
            board_date: g("BoardDate"),
            if_code: g("IFCode"),
            fr_code: g("FRCode"),
            if_term: g("IFTerm"),
            div_rate: g("DivRate"),
            rec_date: g("RecDate"),
            ex_date: g("ExDate"),
            act_rec_date: g("ActRecDate"),
            pay_date: g("PayDate"),
            ca_ref_no: g("CARefNo"),
            dist_amt: g("DistAmt"),
            ret_earn: g("RetEarn"),
            deem_div: g("DeemDiv"),
            deem_cap_gains: g("DeemCapGains"),
            net_asset_dec_ratio: g("NetAssetDecRatio"),
            comm_spec_code: g("CommSpecCode"),
            comm_div_rate: g("CommDivRate"),
            spec_div_rate: g("SpecDivRate"),
        })
    }

    fn ref_no(&self) -> String {
        text(&self.ref_no).unwrap_or_default()
    }

    /// The notice a correction or deletion applies to; a new notice names itself.
    fn target(&self) -> String {
        text(&self.ca_ref_no).unwrap_or_else(|| self.ref_no())
    }

    /// Chronological order: notice date, time, then `RefNo` (which embeds the date).
    fn order_key(&self) -> (Option<NaiveDate>, Option<NaiveTime>, String) {
        (date(&self.pub_date), time(&self.pub_time), self.ref_no())
    }

    /// Record year-month (`IFTerm`, `YYYY-MM` or `YYYYMM`).
    fn term(&self) -> Option<(i32, u32)> {
        let s = text(&self.if_term)?.replace('-', "");
        if s.len() != 6 {
            return None;
        }
        let y = s[..4].parse().ok()?;
        let m = s[4..].parse().ok()?;
        (1..=12).contains(&m).then_some((y, m))
    }
}

/// A notice in force, with the notices it replaced.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct NoticeInForce {
    /// The current notice's fields, as the upstream sent them.
    #[serde(flatten)]
    pub notice: DividendNotice,
    /// The notices this one replaced (the original first, then each correction before the
    /// current one), oldest first; empty for an uncorrected notice.
    #[serde(rename = "History")]
    pub history: Vec<DividendNotice>,
}

/// The notices in force, in the order their chains started.
///
/// Corrections may name the original notice or an earlier correction. A correction or
/// deletion whose target is not among `notices` (outside the fetched range) is handled as
/// well as can be: a correction stands on its own, a deletion removes nothing.
pub fn apply_chain(notices: &[DividendNotice]) -> Vec<NoticeInForce> {
    let mut sorted: Vec<&DividendNotice> = notices.iter().collect();
    sorted.sort_by_key(|n| n.order_key());

    // Chains by their first RefNo; `alias` maps every RefNo of a chain to that key, so a
    // correction naming an earlier correction finds the chain too.
    let mut chains: Vec<(String, NoticeInForce)> = Vec::new();
    let mut alias: HashMap<String, String> = HashMap::new();
    for n in sorted {
        let me = n.ref_no();
        let stat = text(&n.stat_code).unwrap_or_default();
        let root = alias.get(&n.target()).cloned();
        match (stat.as_str(), root) {
            ("3", Some(root)) => chains.retain(|(k, _)| *k != root),
            ("3", None) => {}
            ("2", Some(root)) => {
                if let Some((_, c)) = chains.iter_mut().find(|(k, _)| *k == root) {
                    let old = std::mem::replace(&mut c.notice, n.clone());
                    c.history.push(old);
                }
                alias.insert(me, root);
            }
            _ => {
                // New notice, or a correction of an unknown notice.
                alias.insert(me.clone(), me.clone());
                alias.insert(n.target(), me.clone());
                chains.push((
                    me,
                    NoticeInForce {
                        notice: n.clone(),
                        history: Vec::new(),
                    },
                ));
            }
        }
    }
    chains.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests;
