//! Dividend notices (`/fins/dividend`) with the `RefNo` / `CARefNo` / `StatCode` chain applied
//! (`docs/dividends.md`), and annual dividend yields against the latest close.
//!
//! The chain: a new notice (`StatCode` 1, `CARefNo` = its own `RefNo`) starts a chain; a
//! correction (2) replaces the notice its `CARefNo` names; a deletion (3) removes it. What is
//! in force is the last notice of every chain that was not deleted, with the notices it
//! replaced as its history. Amounts are passed through as the upstream sent them: `"-"` means
//! undecided and `""` not set, and both are unknown (never zero) in the sums.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveTime};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::values::{date, get, num, text, time};
use super::{DerivedError, Row};

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

/// One dividend period of a fiscal year.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DividendPeriod {
    /// Record year-month, `YYYY-MM`.
    #[serde(rename = "IFTerm")]
    pub if_term: String,
    /// "1" interim, "2" year-end.
    #[serde(rename = "IFCode")]
    pub if_code: String,
    /// Decided dividend per share, yen; null when no decided notice or its amount is unknown.
    #[serde(rename = "Decided")]
    pub decided: Option<f64>,
    /// Whether a decided notice is in force for this period (its amount may still be unknown).
    #[serde(rename = "HasDecided")]
    pub has_decided: bool,
    /// Forecast dividend per share, yen; null when no forecast notice or amount unknown.
    #[serde(rename = "Forecast")]
    pub forecast: Option<f64>,
    /// Whether a forecast notice is in force for this period.
    #[serde(rename = "HasForecast")]
    pub has_forecast: bool,
}

/// Annual dividends of one fiscal year and their yields against the latest close.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AnnualDividend {
    /// Issue code.
    pub code: String,
    /// Fiscal year end, `YYYY-MM` (the year-end dividend's record month).
    pub fiscal_year_end: String,
    /// Sum of the decided dividends per share of the year, yen; null when none is decided or
    /// any decided amount is unknown.
    pub decided_div: Option<f64>,
    /// Sum of the forecast dividends per share of the year, yen; null when there is no
    /// forecast or any forecast amount is unknown.
    pub forecast_div: Option<f64>,
    /// Expected annual dividend per share, yen: per period the decided amount where decided,
    /// else the forecast; null when any period's amount is unknown.
    pub expected_div: Option<f64>,
    /// Latest raw close, yen per share.
    pub close: Option<f64>,
    /// Date of that close, `YYYY-MM-DD`.
    pub close_date: Option<String>,
    /// `DecidedDiv / Close`, fraction (0.025 = 2.5%).
    pub decided_yield: Option<f64>,
    /// `ForecastDiv / Close`, fraction.
    pub forecast_yield: Option<f64>,
    /// `ExpectedDiv / Close`, fraction.
    pub expected_yield: Option<f64>,
    /// The periods behind the sums, in record-month order.
    pub periods: Vec<DividendPeriod>,
}

/// Annual dividends per fiscal year, newest first (the first row is "the latest fiscal
/// year"), with yields against `latest_close` (date, raw close in yen).
///
/// The fiscal year of a notice is the first fiscal-year end on or after its `IFTerm`; the
/// fiscal-year-end month is the record month of the newest year-end notice (an interim-only
/// history assumes the year ends six months after the interim). Within a period several
/// notices of the same kind (a forecast revised by a new notice rather than a correction)
/// count once: the newest.
pub fn annual_yields(
    in_force: &[NoticeInForce],
    latest_close: Option<(NaiveDate, f64)>,
) -> Vec<AnnualDividend> {
    let notices: Vec<&DividendNotice> = in_force.iter().map(|c| &c.notice).collect();
    let code = notices
        .iter()
        .find_map(|n| text(&n.code))
        .unwrap_or_default();
    let fy_month = notices
        .iter()
        .filter(|n| text(&n.if_code).as_deref() == Some("2"))
        .filter_map(|n| n.term())
        .max()
        .map(|(_, m)| m)
        .or_else(|| {
            notices
                .iter()
                .filter_map(|n| n.term())
                .max()
                .map(|(_, m)| (m + 5) % 12 + 1)
        });
    let Some(fy_month) = fy_month else {
        return Vec::new();
    };
    let fy_of = |(y, m): (i32, u32)| {
        if m <= fy_month {
            (y, fy_month)
        } else {
            (y + 1, fy_month)
        }
    };

    // (fiscal year) -> (term, IFCode) -> FRCode -> newest notice.
    type Periods<'a> = BTreeMap<((i32, u32), String), BTreeMap<String, &'a DividendNotice>>;
    let mut years: BTreeMap<(i32, u32), Periods> = BTreeMap::new();
    for n in notices {
        let (Some(term), Some(fr)) = (n.term(), text(&n.fr_code)) else {
            continue;
        };
        let slot = years
            .entry(fy_of(term))
            .or_default()
            .entry((term, text(&n.if_code).unwrap_or_default()))
            .or_default();
        match slot.get(&fr) {
            Some(old) if old.order_key() > n.order_key() => {}
            _ => {
                slot.insert(fr, n);
            }
        }
    }

    let close = latest_close.filter(|(_, c)| *c > 0.0);
    let yield_of = |div: Option<f64>| div.zip(close).map(|(d, (_, c))| d / c);
    years
        .into_iter()
        .rev()
        .map(|((y, m), periods)| {
            let periods: Vec<DividendPeriod> = periods
                .into_iter()
                .map(|(((ty, tm), if_code), by_fr)| {
                    let dec = by_fr.get("1");
                    let fc = by_fr.get("2");
                    DividendPeriod {
                        if_term: format!("{ty:04}-{tm:02}"),
                        if_code,
                        decided: dec.and_then(|n| num(&n.div_rate)),
                        has_decided: dec.is_some(),
                        forecast: fc.and_then(|n| num(&n.div_rate)),
                        has_forecast: fc.is_some(),
                    }
                })
                .collect();
            // A sum is known only when every amount in it is: an undecided "-" is not 0.
            let sum = |parts: Vec<Option<f64>>| -> Option<f64> {
                if parts.is_empty() {
                    return None;
                }
                parts.into_iter().sum::<Option<f64>>()
            };
            let decided = sum(periods
                .iter()
                .filter(|p| p.has_decided)
                .map(|p| p.decided)
                .collect());
            let forecast = sum(periods
                .iter()
                .filter(|p| p.has_forecast)
                .map(|p| p.forecast)
                .collect());
            let expected = sum(periods
                .iter()
                .map(|p| if p.has_decided { p.decided } else { p.forecast })
                .collect());
            AnnualDividend {
                code: code.clone(),
                fiscal_year_end: format!("{y:04}-{m:02}"),
                decided_div: decided,
                forecast_div: forecast,
                expected_div: expected,
                close: close.map(|(_, c)| c),
                close_date: close.map(|(d, _)| crate::jst::fmt_date(d)),
                decided_yield: yield_of(decided),
                forecast_yield: yield_of(forecast),
                expected_yield: yield_of(expected),
                periods,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn notice(pub_date: &str, refno: &str, ca: &str, stat: &str) -> DividendNotice {
        DividendNotice::from_row(
            &serde_json::from_value(json!({
                "PubDate": pub_date, "PubTime": "15:00", "Code": "86970", "RefNo": refno,
                "StatCode": stat, "BoardDate": pub_date, "IFCode": "2", "FRCode": "2",
                "IFTerm": "2023-03", "DivRate": "-", "RecDate": "2023-03-31",
                "ExDate": "2023-03-30", "ActRecDate": "2023-03-31", "PayDate": "-",
                "CARefNo": ca, "DistAmt": "", "RetEarn": "", "DeemDiv": "",
                "DeemCapGains": "", "NetAssetDecRatio": "", "CommSpecCode": "0",
                "CommDivRate": "", "SpecDivRate": ""
            }))
            .unwrap(),
        )
        .unwrap()
    }

    fn refs(v: &[NoticeInForce]) -> Vec<String> {
        v.iter().map(|c| c.notice.ref_no()).collect()
    }

    /// The reference page's example (86970, `docs/dividends.md`): new 1 (03-06), correction
    /// 2 -> 1 (03-07), deletion 3 -> 1 (03-08), new 4 (03-09): only notice 4 is in force, with
    /// no history.
    #[test]
    fn seed_001_chain() {
        let ns = [
            notice("2023-03-06", "1", "1", "1"),
            notice("2023-03-07", "2", "1", "2"),
            notice("2023-03-08", "3", "1", "3"),
            notice("2023-03-09", "4", "4", "1"),
        ];
        let f = apply_chain(&ns);
        assert_eq!(refs(&f), ["4"]);
        assert!(f[0].history.is_empty());
        // Same result whatever order the rows arrive in.
        let mut rev = ns.to_vec();
        rev.reverse();
        assert_eq!(refs(&apply_chain(&rev)), ["4"]);
    }

    #[test]
    fn corrections_replace_and_keep_history() {
        let ns = [
            notice("2023-03-06", "1", "1", "1"),
            notice("2023-03-07", "2", "1", "2"),
            // A later correction naming the previous correction.
            notice("2023-03-08", "5", "2", "2"),
            notice("2023-03-08", "6", "6", "1"),
        ];
        let f = apply_chain(&ns);
        assert_eq!(refs(&f), ["5", "6"]);
        let hist: Vec<String> = f[0].history.iter().map(|n| n.ref_no()).collect();
        assert_eq!(hist, ["1", "2"]);
        let v = serde_json::to_value(&f[0]).unwrap();
        assert_eq!(v["RefNo"], json!("5"));
        assert_eq!(v["DivRate"], json!("-"), "passed through as sent");
        assert_eq!(v["History"][0]["RefNo"], json!("1"));
        assert_eq!(v.as_object().unwrap().len(), 24);
    }

    #[test]
    fn orphan_corrections_stand_and_orphan_deletions_remove_nothing() {
        let ns = [
            notice("2023-03-07", "2", "1", "2"),
            notice("2023-03-08", "3", "9", "3"),
            notice("2023-03-09", "7", "2", "2"),
        ];
        let f = apply_chain(&ns);
        assert_eq!(refs(&f), ["7"]);
        assert_eq!(f[0].history.len(), 1);
        assert!(DividendNotice::from_row(&Row::new()).is_err());
    }

    fn div(
        pub_date: &str,
        refno: &str,
        if_code: &str,
        fr: &str,
        term: &str,
        rate: Value,
    ) -> NoticeInForce {
        let mut n = notice(pub_date, refno, refno, "1");
        n.if_code = json!(if_code);
        n.fr_code = json!(fr);
        n.if_term = json!(term);
        n.div_rate = rate;
        NoticeInForce {
            notice: n,
            history: vec![],
        }
    }

    #[test]
    fn yields_of_decided_forecast_and_expected() {
        let close = Some((NaiveDate::from_ymd_opt(2025, 1, 10).unwrap(), 2_200.0));
        let f = [
            div("2024-04-30", "a", "1", "2", "2024-09", json!("45")),
            div("2024-04-30", "b", "2", "2", "2025-03", json!(60)),
            div("2024-10-30", "c", "1", "1", "2024-09", json!(50.0)),
            div("2024-04-30", "d", "2", "1", "2024-03", json!("40.0")),
            // A forecast revised by a new notice, not a correction: the newer counts.
            div("2023-04-28", "e", "2", "2", "2024-03", json!("35")),
            div("2023-10-28", "f", "2", "2", "2024-03", json!("38")),
        ];
        let y = annual_yields(&f, close);
        assert_eq!(y.len(), 2);
        let cur = &y[0];
        assert_eq!(cur.code, "86970");
        assert_eq!(cur.fiscal_year_end, "2025-03");
        assert_eq!(cur.decided_div, Some(50.0));
        assert_eq!(cur.forecast_div, Some(105.0));
        assert_eq!(cur.expected_div, Some(110.0));
        assert_eq!(cur.expected_yield, Some(0.05));
        assert_eq!(cur.decided_yield, Some(50.0 / 2_200.0));
        assert_eq!(cur.close_date.as_deref(), Some("2025-01-10"));
        assert_eq!(cur.periods.len(), 2);
        let prev = &y[1];
        assert_eq!(prev.fiscal_year_end, "2024-03");
        assert_eq!(prev.decided_div, Some(40.0));
        assert_eq!(prev.forecast_div, Some(38.0));
        assert_eq!(prev.expected_div, Some(40.0));
    }

    #[test]
    fn unknown_amounts_are_not_zero() {
        let f = [
            div("2024-10-30", "c", "1", "1", "2024-09", json!(50.0)),
            div("2024-04-30", "b", "2", "2", "2025-03", json!("-")),
        ];
        let y = annual_yields(
            &f,
            Some((NaiveDate::from_ymd_opt(2025, 1, 10).unwrap(), 1_000.0)),
        );
        assert_eq!(y[0].decided_div, Some(50.0));
        assert_eq!(y[0].forecast_div, None);
        assert_eq!(y[0].expected_div, None);
        assert_eq!(y[0].expected_yield, None);
        assert_eq!(y[0].decided_yield, Some(0.05));
        // Nothing decided yet: null, not 0. No close: no yields.
        let g = [div("2024-04-30", "b", "2", "2", "2025-03", json!(""))];
        let y = annual_yields(&g, None);
        assert_eq!((y[0].decided_div, y[0].forecast_div), (None, None));
        assert_eq!(y[0].close, None);
        // Interim-only history: fiscal year assumed to end six months later.
        let h = [div("2024-10-30", "c", "1", "1", "2024-09", json!(10))];
        assert_eq!(annual_yields(&h, None)[0].fiscal_year_end, "2025-03");
        assert!(annual_yields(&[], None).is_empty());
    }

    #[test]
    fn a_notice_serialises_to_exactly_the_upstream_keys_in_order() {
        let row: Row =
            serde_json::from_str(r#"{"RefNo":"1","PubDate":"2026-01-05","DivRate":"-"}"#).unwrap();
        let n = DividendNotice::from_row(&row).unwrap();
        let v = serde_json::to_value(&n).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, crate::catalog::fields_of("/fins/dividend"));
        assert_eq!(v["DivRate"], "-");
        assert_eq!(v["RefNo"], "1");
    }
}
