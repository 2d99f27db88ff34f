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

use std::collections::HashMap;

use super::bar::Bar;
use super::margin_pl::{self, Period};
use super::market_cap::MarketCapRow;
use super::values::Fields;
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
        Self::from_fields(Fields::Row(row))
    }

    pub fn from_fields(f: Fields) -> Result<Self, DerivedError> {
        Ok(Self {
            date: f.req_date("Date")?,
            pub_date: f.date("PubDate"),
            code: f.text("Code").unwrap_or_default(),
            iss_type: f.text("IssType"),
            long_vol: f.num("LongVol"),
            shrt_vol: f.num("ShrtVol"),
            long_std_vol: f.num("LongStdVol"),
            long_neg_vol: f.num("LongNegVol"),
            shrt_std_vol: f.num("ShrtStdVol"),
            shrt_neg_vol: f.num("ShrtNegVol"),
            long_val: f.num("LongVal"),
            shrt_val: f.num("ShrtVal"),
        })
    }

    /// Daily rows are the ones carrying yen values (weekly rows send `*Val` null); the date
    /// only decides for rows without values, since publications around the switch straddle
    /// it.
    fn frequency(&self) -> Frequency {
        if self.long_val.is_some() || self.shrt_val.is_some() || self.date >= first_daily_date() {
            Frequency::Daily
        } else {
            Frequency::Weekly
        }
    }

    /// 買残 - 売残, shares; `None` when either is unknown.
    fn net_vol(&self) -> Option<f64> {
        self.long_vol.zip(self.shrt_vol).map(|(l, s)| l - s)
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
    let prices = Prices::new(closes, mktcap);
    let mut out: Vec<MarginRow> = Vec::with_capacity(dedup.len());
    let mut periods: Vec<Period> = Vec::with_capacity(dedup.len());
    let mut prev: Option<&MarginInterest> = None;
    for r in &dedup {
        let p = prev.filter(|p| p.code == r.code);
        prev = Some(r);
        if p.is_none() {
            flush_estimates(&mut out, &mut periods);
        }
        let at = prices.at(r, p);
        periods.push(Period {
            date: r.date,
            long_vol: r.long_vol.unwrap_or(0.0),
            close: at.close.filter(|_| r.long_vol.is_some()),
            split: at.split,
        });
        out.push(margin_row(r, p, &at));
    }
    flush_estimates(&mut out, &mut periods);
    out
}

/// The bars by date and the market caps by date, so each margin row finds its close by
/// binary search and its market cap by lookup instead of a scan.
struct Prices<'a> {
    bars: Vec<&'a Bar>,
    caps: HashMap<&'a str, Vec<&'a MarketCapRow>>,
}

/// What one margin row takes from the bars and the market caps.
struct PricedAt<'a> {
    /// The bar of the last business day on or before the application date.
    bar: Option<&'a Bar>,
    close: Option<f64>,
    mkt_cap_ex_tr: Option<f64>,
    /// Product of `1/AdjFactor` since the previous application date of the code (1 on the
    /// code's first row), for the cost estimate.
    split: f64,
}

impl<'a> Prices<'a> {
    fn new(closes: &'a [Bar], mktcap: &'a [MarketCapRow]) -> Self {
        let mut bars: Vec<&Bar> = closes.iter().collect();
        bars.sort_by_key(|b| b.date);
        let mut caps: HashMap<&str, Vec<&MarketCapRow>> = HashMap::new();
        for m in mktcap {
            caps.entry(m.date.as_str()).or_default().push(m);
        }
        Self { bars, caps }
    }

    /// The prices for row `r` of a code whose previous row is `p`.
    fn at(&self, r: &MarginInterest, p: Option<&MarginInterest>) -> PricedAt<'a> {
        let bars = &self.bars;
        // The bar of the last business day on or before the application date: bars exist
        // for every business day (null prices on no-trade days), so this is that day.
        let upto = bars.partition_point(|b| b.date <= r.date);
        let own = |b: &&&Bar| b.code.is_empty() || code_matches(&b.code, &r.code);
        let bar = bars[..upto].iter().rev().find(own).copied();
        let mkt_cap_ex_tr = bar.and_then(|b| {
            let day = crate::jst::fmt_date(b.date);
            self.caps
                .get(day.as_str())?
                .iter()
                .find(|m| code_matches(&m.code, &r.code))
                .and_then(|m| m.mkt_cap_ex_tr)
        });
        let split = p.map_or(1.0, |p| {
            let from = bars.partition_point(|b| b.date <= p.date);
            bars[from..upto]
                .iter()
                .filter(own)
                .filter_map(|b| b.adj_factor.filter(|f| *f > 0.0))
                .map(|f| 1.0 / f)
                .product()
        });
        PricedAt {
            bar,
            close: bar.and_then(|b| b.close),
            mkt_cap_ex_tr,
            split,
        }
    }
}

/// The output row of `r` (previous row of the code `p`), its cost estimate still empty
/// ([`flush_estimates`] fills it once the code's series is complete).
fn margin_row(r: &MarginInterest, p: Option<&MarginInterest>, at: &PricedAt) -> MarginRow {
    let (long_val, shrt_val, val_source) = values(r, at.close);
    let net = r.net_vol();
    MarginRow {
        date: crate::jst::fmt_date(r.date),
        code: r.code.clone(),
        pub_date: r.pub_date.map(crate::jst::fmt_date),
        freq: r.frequency(),
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
        net_vol_chg: diff(net, p.and_then(MarginInterest::net_vol)),
        long_std_vol: r.long_std_vol,
        long_neg_vol: r.long_neg_vol,
        shrt_std_vol: r.shrt_std_vol,
        shrt_neg_vol: r.shrt_neg_vol,
        long_val,
        shrt_val,
        val_source,
        close: at.close,
        close_date: at.bar.map(|b| crate::jst::fmt_date(b.date)),
        mkt_cap_ex_tr: at.mkt_cap_ex_tr,
        long_val_to_mkt_cap: long_val
            .zip(at.mkt_cap_ex_tr.filter(|m| *m > 0.0))
            .map(|(l, m)| l / m),
        long_cost: None,
        long_pl: None,
        pl_rate: None,
    }
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
mod tests;
