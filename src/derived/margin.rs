//! Margin balances per issue and application date, from `/markets/margin-interest`, with the
//! ratios of `docs/margin.md`: 信用倍率 (`LongVol / ShrtVol`), the net position (信用残 = 買残 - 売残),
//! week-on-week (or day-on-day) changes, yen values, 信用買残比率 (long value / market
//! cap ex-treasury) and the estimated 信用評価損益率 ([`super::margin_pl`]).
//!
//! Two schemas arrive in one series: the older 9-key weekly rows (no `PubDate`, no `*Val`)
//! and the current 16-key rows (weekly with `*Val` null before application date 2026-09-25,
//! daily with yen values since). Volumes are never adjusted for corporate actions upstream,
//! so the estimated yen value uses the raw close, not the adjusted one.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::margin_pl::{self, Period};
use super::market_cap::{Bar, MarketCapRow};
use super::values::{get, num, req_date, text};
use super::{DerivedError, Row, code_matches};

/// The switch to daily data (`docs/margin.md`: daily from 2026-09-25); rows on or after it
/// are daily.
pub fn first_daily_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 9, 25).expect("valid date")
}

/// One `/markets/margin-interest` row, either schema.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MarginInterest {
    /// Application date (申込日).
    pub date: NaiveDate,
    /// Publication date; `None` in the older 9-key schema.
    pub pub_date: Option<NaiveDate>,
    pub code: String,
    /// `IssType`: 1 margin issue, 2 loan issue, 3 other.
    pub iss_type: Option<String>,
    pub long_vol: Option<f64>,
    pub shrt_vol: Option<f64>,
    pub long_std_vol: Option<f64>,
    pub long_neg_vol: Option<f64>,
    pub shrt_std_vol: Option<f64>,
    pub shrt_neg_vol: Option<f64>,
    /// Upstream yen values (current schema, daily rows); `None` when absent or null.
    pub long_val: Option<f64>,
    pub shrt_val: Option<f64>,
}

impl MarginInterest {
    pub fn from_row(row: &Row) -> Result<Self, DerivedError> {
        Ok(Self {
            date: req_date(row, "Date")?,
            pub_date: super::values::date(get(row, "PubDate")),
            code: text(get(row, "Code")).unwrap_or_default(),
            iss_type: text(get(row, "IssType")),
            long_vol: num(get(row, "LongVol")),
            shrt_vol: num(get(row, "ShrtVol")),
            long_std_vol: num(get(row, "LongStdVol")),
            long_neg_vol: num(get(row, "LongNegVol")),
            shrt_std_vol: num(get(row, "ShrtStdVol")),
            shrt_neg_vol: num(get(row, "ShrtNegVol")),
            long_val: num(get(row, "LongVal")),
            shrt_val: num(get(row, "ShrtVal")),
        })
    }
}

/// Where `LongVal`/`ShrtVal` come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ValSource {
    /// Both yen values as published by JPX (daily rows since 2026-09-25).
    Upstream,
    /// Volume x the raw close of the last business day on or before `Date` (the upstream
    /// sent no yen values).
    Estimated,
}

/// Publication frequency of the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    /// Weekly balance (application date usually a Friday), before 2026-09-25.
    Weekly,
    /// Daily balance, application dates from 2026-09-25.
    Daily,
}

/// One row of `GET /derived/margin`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MarginRow {
    /// Application date (申込日), `YYYY-MM-DD`.
    pub date: String,
    /// Issue code (5 characters).
    pub code: String,
    /// Publication date, `YYYY-MM-DD`; null for rows of the older schema without it.
    pub pub_date: Option<String>,
    /// `weekly` or `daily` (by application date: daily from 2026-09-25).
    pub freq: Frequency,
    /// `IssType` as published: "1" margin issue, "2" loan (貸借) issue, "3" other.
    pub iss_type: Option<String>,
    /// Long margin balance (信用買残), shares.
    pub long_vol: Option<f64>,
    /// Short margin balance (信用売残), shares.
    pub shrt_vol: Option<f64>,
    /// 信用倍率 = `LongVol / ShrtVol`, ratio (times); null when `ShrtVol` is 0 or unknown.
    pub margin_ratio: Option<f64>,
    /// Net position (信用残) = `LongVol - ShrtVol`, shares.
    pub net_vol: Option<f64>,
    /// Change of `LongVol` since the previous row of this code, shares; null on the first row.
    pub long_vol_chg: Option<f64>,
    /// Change of `ShrtVol` since the previous row of this code, shares; null on the first row.
    pub shrt_vol_chg: Option<f64>,
    /// Change of `NetVol` since the previous row of this code, shares; null on the first row.
    pub net_vol_chg: Option<f64>,
    /// Long balance from standardized margin trading (制度信用), shares.
    pub long_std_vol: Option<f64>,
    /// Long balance from negotiable margin trading (一般信用), shares.
    pub long_neg_vol: Option<f64>,
    /// Short balance from standardized margin trading (制度信用), shares.
    pub shrt_std_vol: Option<f64>,
    /// Short balance from negotiable margin trading (一般信用), shares.
    pub shrt_neg_vol: Option<f64>,
    /// Long balance value, yen (see `ValSource`); null when neither published nor estimable.
    pub long_val: Option<f64>,
    /// Short balance value, yen (see `ValSource`); null when neither published nor estimable.
    pub shrt_val: Option<f64>,
    /// `upstream` (JPX's yen values) or `estimated` (volume x `Close`); null when no value.
    pub val_source: Option<ValSource>,
    /// Raw close used for estimated values and the ratio's market cap: the last business
    /// day on or before `Date`, yen per share; null when that day had no trade.
    pub close: Option<f64>,
    /// Date of that close, `YYYY-MM-DD`.
    pub close_date: Option<String>,
    /// Market cap excluding treasury shares on `CloseDate`, yen (from `/derived/market-cap`).
    pub mkt_cap_ex_tr: Option<f64>,
    /// 信用買残比率 = `LongVal / MktCapExTr`, fraction (0.01 = 1%); null when either is unknown.
    pub long_val_to_mkt_cap: Option<f64>,
    /// ESTIMATED cost of the long balance, yen: each increase of `LongVol` over the six months
    /// up to `Date` priced at its date's close, decreases closing the oldest first
    /// (docs/margin-pl-estimate.md); null without a close on `Date`.
    pub long_cost: Option<f64>,
    /// ESTIMATED unrealised gain or loss of the long balance, yen: `LongVol` x `Close` -
    /// `LongCost`.
    pub long_pl: Option<f64>,
    /// ESTIMATED 信用評価損益率 = `LongPl / LongCost`, fraction (-0.1 = -10 %); null when
    /// `LongCost` is null or 0.
    pub pl_rate: Option<f64>,
}

/// The yen values of a row: both published upstream, or both estimated as volume x `close`.
/// Estimating both (not one) keeps the two values on the same basis.
pub fn values(
    r: &MarginInterest,
    close: Option<f64>,
) -> (Option<f64>, Option<f64>, Option<ValSource>) {
    match (r.long_val, r.shrt_val) {
        (Some(l), Some(s)) => (Some(l), Some(s), Some(ValSource::Upstream)),
        _ => match close {
            Some(c) => (
                r.long_vol.map(|v| v * c),
                r.shrt_vol.map(|v| v * c),
                Some(ValSource::Estimated),
            ),
            None => (None, None, None),
        },
    }
}

/// The rows of one code with a later-published duplicate of an application date replacing
/// the earlier one, in (code, date) order.
pub fn dedup(rows: &[MarginInterest]) -> Vec<&MarginInterest> {
    let mut rows: Vec<&MarginInterest> = rows.iter().collect();
    rows.sort_by(|a, b| (&a.code, a.date, a.pub_date).cmp(&(&b.code, b.date, b.pub_date)));
    let mut out: Vec<&MarginInterest> = Vec::with_capacity(rows.len());
    for r in rows {
        match out.last_mut() {
            Some(last) if last.code == r.code && last.date == r.date => *last = r,
            _ => out.push(r),
        }
    }
    out
}

/// Margin rows in (code, date) order with ratios and changes.
///
/// `closes`: daily bars of the codes (any order, may include no-trade days). `mktcap`: the
/// market-cap rows of the same codes (from [`super::market_cap::compute`]). When a code has
/// two rows for one application date (e.g. the weekly and the daily row around the switch),
/// the later published one wins.
pub fn compute(rows: &[MarginInterest], closes: &[Bar], mktcap: &[MarketCapRow]) -> Vec<MarginRow> {
    let dedup = dedup(rows);

    // Bars by date, so each row finds its close by binary search instead of a scan; market
    // caps by (code, date) for the same reason.
    let mut bars: Vec<&Bar> = closes.iter().collect();
    bars.sort_by_key(|b| b.date);
    let mut caps: std::collections::HashMap<&str, Vec<&MarketCapRow>> =
        std::collections::HashMap::new();
    for m in mktcap {
        caps.entry(m.date.as_str()).or_default().push(m);
    }

    let mut out: Vec<MarginRow> = Vec::with_capacity(dedup.len());
    let mut periods: Vec<Period> = Vec::with_capacity(dedup.len());
    let mut prev: Option<&MarginInterest> = None;
    for r in &dedup {
        let p = prev.filter(|p| p.code == r.code);
        prev = Some(r);
        if p.is_none() {
            flush_estimates(&mut out, &mut periods);
        }

        // The bar of the last business day on or before the application date: bars exist
        // for every business day (null prices on no-trade days), so this is that day.
        let upto = bars.partition_point(|b| b.date <= r.date);
        let own = |b: &&&Bar| b.code.is_empty() || code_matches(&b.code, &r.code);
        let bar = bars[..upto].iter().rev().find(own);
        let close = bar.and_then(|b| b.close);
        let mkt_cap_ex_tr = bar.and_then(|b| {
            let day = crate::jst::fmt_date(b.date);
            caps.get(day.as_str())?
                .iter()
                .find(|m| code_matches(&m.code, &r.code))
                .and_then(|m| m.mkt_cap_ex_tr)
        });
        // Splits since the previous application date, for the cost estimate.
        let split = p.map_or(1.0, |p| {
            let from = bars.partition_point(|b| b.date <= p.date);
            bars[from..upto]
                .iter()
                .filter(own)
                .filter_map(|b| b.adj_factor.filter(|f| *f > 0.0))
                .map(|f| 1.0 / f)
                .product()
        });
        periods.push(Period {
            date: r.date,
            long_vol: r.long_vol.unwrap_or(0.0),
            close: close.filter(|_| r.long_vol.is_some()),
            split,
        });

        let (long_val, shrt_val, val_source) = values(r, close);
        let net = r.long_vol.zip(r.shrt_vol).map(|(l, s)| l - s);
        let p_net = p.and_then(|p| p.long_vol.zip(p.shrt_vol).map(|(l, s)| l - s));
        out.push(MarginRow {
            date: crate::jst::fmt_date(r.date),
            code: r.code.clone(),
            pub_date: r.pub_date.map(crate::jst::fmt_date),
            // Daily rows are the ones carrying yen values (weekly rows send `*Val` null); the
            // date only decides for rows without values, since publications around the switch
            // straddle it.
            freq: if r.long_val.is_some() || r.shrt_val.is_some() || r.date >= first_daily_date() {
                Frequency::Daily
            } else {
                Frequency::Weekly
            },
            iss_type: r.iss_type.clone(),
            long_vol: r.long_vol,
            shrt_vol: r.shrt_vol,
            margin_ratio: r
                .long_vol
                .zip(r.shrt_vol.filter(|s| *s != 0.0))
                .map(|(l, s)| l / s),
            net_vol: net,
            long_vol_chg: diff(r.long_vol, p.and_then(|p| p.long_vol)),
            shrt_vol_chg: diff(r.shrt_vol, p.and_then(|p| p.shrt_vol)),
            net_vol_chg: diff(net, p_net),
            long_std_vol: r.long_std_vol,
            long_neg_vol: r.long_neg_vol,
            shrt_std_vol: r.shrt_std_vol,
            shrt_neg_vol: r.shrt_neg_vol,
            long_val,
            shrt_val,
            val_source,
            close,
            close_date: bar.map(|b| crate::jst::fmt_date(b.date)),
            mkt_cap_ex_tr,
            long_val_to_mkt_cap: long_val
                .zip(mkt_cap_ex_tr.filter(|m| *m > 0.0))
                .map(|(l, m)| l / m),
            long_cost: None,
            long_pl: None,
            pl_rate: None,
        });
    }
    flush_estimates(&mut out, &mut periods);
    out
}

/// Fills the cost estimate of the last `periods.len()` rows (one code's series) and clears
/// `periods` for the next code.
fn flush_estimates(out: &mut [MarginRow], periods: &mut Vec<Period>) {
    let n = periods.len();
    let start = out.len() - n;
    let rows = &mut out[start..];
    for (row, e) in rows.iter_mut().zip(margin_pl::series(periods)) {
        let e = e.filter(|_| row.long_vol.is_some());
        row.long_cost = e.map(|e| e.cost);
        row.long_pl = e.map(|e| e.pl());
        row.pl_rate = e.and_then(|e| e.rate());
    }
    periods.clear();
}

fn diff(now: Option<f64>, before: Option<f64>) -> Option<f64> {
    now.zip(before).map(|(a, b)| a - b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &str) -> NaiveDate {
        crate::jst::parse_date(s).unwrap()
    }

    fn parse(v: serde_json::Value) -> MarginInterest {
        MarginInterest::from_row(&serde_json::from_value(v).unwrap()).unwrap()
    }

    fn bar(date: &str, c: Option<f64>) -> Bar {
        Bar {
            date: d(date),
            code: "86970".into(),
            close: c,
            adj_factor: Some(1.0),
        }
    }

    fn cap(date: &str, ex_tr: Option<f64>) -> MarketCapRow {
        MarketCapRow {
            date: date.into(),
            code: "86970".into(),
            c: None,
            sh_out: None,
            tr_sh: None,
            mkt_cap: None,
            mkt_cap_ex_tr: ex_tr,
            base_disc_no: None,
            sh_out_basis: None,
            cum_factor: None,
        }
    }

    /// The older 9-key schema (`docs/margin.md`; numbers as JSON numbers).
    fn old_week(date: &str, long: f64, short: f64) -> MarginInterest {
        parse(json!({
            "Date": date, "Code": "86970", "ShrtVol": short, "LongVol": long,
            "ShrtNegVol": 1000.0, "LongNegVol": 2000.0, "ShrtStdVol": short - 1000.0,
            "LongStdVol": long - 2000.0, "IssType": "2"
        }))
    }

    #[test]
    fn weekly_rows_ratio_net_change_and_estimated_values() {
        let rows = [
            old_week("2023-03-24", 234_567.0, 123_456.0),
            old_week("2023-03-17", 200_000.0, 100_000.0),
        ];
        let bars = [
            bar("2023-03-16", Some(2_000.0)),
            bar("2023-03-17", Some(2_100.0)),
            bar("2023-03-24", Some(2_200.0)),
        ];
        let caps = [
            cap("2023-03-17", Some(1e12)),
            cap("2023-03-24", Some(1.1e12)),
        ];
        let out = compute(&rows, &bars, &caps);
        assert_eq!(out.len(), 2);
        let (a, b) = (&out[0], &out[1]);
        assert_eq!(a.date, "2023-03-17");
        assert_eq!(a.margin_ratio, Some(2.0));
        assert_eq!(a.net_vol, Some(100_000.0));
        assert_eq!(
            (a.long_vol_chg, a.shrt_vol_chg, a.net_vol_chg),
            (None, None, None)
        );
        assert_eq!(a.long_val, Some(200_000.0 * 2_100.0));
        assert_eq!(a.shrt_val, Some(100_000.0 * 2_100.0));
        assert_eq!(a.val_source, Some(ValSource::Estimated));
        assert_eq!(a.long_val_to_mkt_cap, Some(200_000.0 * 2_100.0 / 1e12));
        assert_eq!(a.freq, Frequency::Weekly);
        assert_eq!(a.pub_date, None);

        assert_eq!(b.margin_ratio, Some(234_567.0 / 123_456.0));
        assert_eq!(b.long_vol_chg, Some(34_567.0));
        assert_eq!(b.shrt_vol_chg, Some(23_456.0));
        assert_eq!(b.net_vol_chg, Some(11_111.0));
        assert_eq!(
            (b.long_std_vol, b.long_neg_vol),
            (Some(232_567.0), Some(2_000.0))
        );
        assert_eq!(
            (b.shrt_std_vol, b.shrt_neg_vol),
            (Some(122_456.0), Some(1_000.0))
        );
        assert_eq!(b.close_date.as_deref(), Some("2023-03-24"));
    }

    #[test]
    fn zero_short_gives_null_ratio_and_unknown_cap_gives_null_share() {
        let rows = [old_week("2023-03-24", 5_000.0, 0.0)];
        let out = compute(
            &rows,
            &[bar("2023-03-24", Some(100.0))],
            &[cap("2023-03-24", None)],
        );
        assert_eq!(out[0].margin_ratio, None);
        assert_eq!(out[0].net_vol, Some(5_000.0));
        assert_eq!(out[0].long_val, Some(500_000.0));
        assert_eq!(out[0].long_val_to_mkt_cap, None);
        // No market-cap rows at all.
        let out = compute(&rows, &[bar("2023-03-24", Some(100.0))], &[]);
        assert_eq!(out[0].long_val_to_mkt_cap, None);
    }

    #[test]
    fn close_is_the_last_business_day_on_or_before_the_date() {
        // Application date on a holiday Friday: Thursday's close is used.
        let rows = [old_week("2023-03-24", 10.0, 5.0)];
        let out = compute(
            &rows,
            &[
                bar("2023-03-22", Some(1.0)),
                bar("2023-03-23", Some(3.0)),
                bar("2023-03-27", Some(9.0)),
            ],
            &[],
        );
        assert_eq!(out[0].close, Some(3.0));
        assert_eq!(out[0].close_date.as_deref(), Some("2023-03-23"));
        assert_eq!(out[0].long_val, Some(30.0));
        // That day had no trade: no guess from an older close.
        let out = compute(
            &rows,
            &[bar("2023-03-22", Some(1.0)), bar("2023-03-24", None)],
            &[],
        );
        assert_eq!(
            (out[0].close, out[0].long_val, out[0].val_source),
            (None, None, None)
        );
        // No bars at all.
        let out = compute(&rows, &[], &[]);
        assert_eq!((out[0].close_date.clone(), out[0].shrt_val), (None, None));
    }

    #[test]
    fn daily_rows_use_upstream_values_and_mix_with_weekly() {
        let weekly = parse(json!({
            "PubDate": "2026-09-24", "Date": "2026-09-18", "Code": "86970", "IssType": "2",
            "ShrtVol": 100.0, "LongVol": 300.0, "ShrtNegVol": 0.0, "LongNegVol": 0.0,
            "ShrtStdVol": 100.0, "LongStdVol": 300.0, "ShrtVal": null, "LongVal": null,
            "ShrtNegVal": null, "LongNegVal": null, "ShrtStdVal": null, "LongStdVal": null
        }));
        let daily = parse(json!({
            "PubDate": "2026-09-28", "Date": "2026-09-25", "Code": "86970", "IssType": "2",
            "ShrtVol": "120", "LongVol": "330", "ShrtNegVol": "0", "LongNegVol": "0",
            "ShrtStdVol": "120", "LongStdVol": "330", "ShrtVal": "250000", "LongVal": "700000",
            "ShrtNegVal": "0", "LongNegVal": "0", "ShrtStdVal": "250000", "LongStdVal": "700000"
        }));
        // The weekly row for the same application date, published earlier: replaced.
        let mut weekly_dup = weekly.clone();
        weekly_dup.date = d("2026-09-25");
        weekly_dup.pub_date = Some(d("2026-09-26"));
        let bars = [
            bar("2026-09-18", Some(2_000.0)),
            bar("2026-09-25", Some(2_100.0)),
        ];
        let caps = [cap("2026-09-25", Some(7_000_000.0))];
        let out = compute(&[daily, weekly_dup, weekly], &bars, &caps);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].freq, Frequency::Weekly);
        assert_eq!(out[0].val_source, Some(ValSource::Estimated));
        assert_eq!(out[0].long_val, Some(600_000.0));
        let r = &out[1];
        assert_eq!(r.freq, Frequency::Daily);
        assert_eq!(r.pub_date.as_deref(), Some("2026-09-28"));
        assert_eq!(r.val_source, Some(ValSource::Upstream));
        assert_eq!((r.long_val, r.shrt_val), (Some(700_000.0), Some(250_000.0)));
        assert_eq!(r.long_val_to_mkt_cap, Some(0.1));
        assert_eq!(r.long_vol_chg, Some(30.0));
        assert_eq!(r.shrt_vol_chg, Some(20.0));
        assert_eq!(r.margin_ratio, Some(2.75));
    }

    #[test]
    fn changes_never_cross_codes() {
        let mut other = old_week("2023-03-17", 1.0, 1.0);
        other.code = "72030".into();
        let out = compute(&[old_week("2023-03-24", 10.0, 5.0), other], &[], &[]);
        assert_eq!(out[0].code, "72030");
        assert_eq!(out[1].long_vol_chg, None);
    }

    #[test]
    fn json_keys() {
        let out = compute(&[old_week("2023-03-24", 10.0, 5.0)], &[], &[]);
        let v = serde_json::to_value(&out[0]).unwrap();
        for k in [
            "Date",
            "Code",
            "LongVol",
            "ShrtVol",
            "MarginRatio",
            "NetVol",
            "LongVolChg",
            "ShrtVolChg",
            "LongStdVol",
            "LongNegVol",
            "ShrtStdVol",
            "ShrtNegVol",
            "LongVal",
            "ShrtVal",
            "ValSource",
            "LongValToMktCap",
        ] {
            assert!(v.get(k).is_some(), "{k} missing");
        }
        assert_eq!(v["Freq"], json!("weekly"));
        assert_eq!(v["ValSource"], json!(null));
    }
}
