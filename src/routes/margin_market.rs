//! `GET /derived/margin/market`: market-wide margin indicators per application date (seed
//! 002), computed from date cross-sections: one cached upstream call per date and dataset
//! (margin balances and bars per application date, bars per business day for splits, filings
//! per day of the share-count look-back), none when stored, never one call per code.
//!
//! Each cross-section is reduced once to the few fields the computation needs and kept in an
//! in-process memo keyed by the cached answer's ETag (a hash of its body), so a warm request
//! parses nothing: the memo cannot serve a stale digest, because new data has a new ETag.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};

use axum::extract::{RawQuery, State};
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::catalog;
use crate::derived::cross_section::{self, CrossSections, DayBars};
use crate::derived::margin::{self, MarginInterest};
use crate::derived::margin_market::{self, MarketMarginRow};
use crate::derived::margin_pl::HOLDING_LIMIT;
use crate::derived::market_cap::{Bar, Calendar, Statement, TradingDay};
use crate::derived::{Row, values};
use crate::error::{ApiError, ApiResult};
use crate::jst;

/// How far before the first application date filings are read: the latest filing of every
/// issue (quarterly, filed up to ~56 days after the quarter end) lies within it.
pub const STATEMENT_LOOKBACK_DAYS: i64 = 120;
/// Longest range one request may cover, so one request cannot start thousands of upstream calls.
pub const MAX_RANGE_DAYS: i64 = 366 * 3;
/// Cross-sections fetched at once.
const CONCURRENCY: usize = 8;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(market_route))
}

/// Market segments by their `/equities/master` `Mkt` code.
const SEGMENTS: &[(&str, &str)] = &[("Prime", "0111"), ("Standard", "0112"), ("Growth", "0113")];

#[derive(Debug, Clone, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MarketQuery {
    /// One application date, YYYYMMDD or YYYY-MM-DD. Not with from/to.
    pub date: Option<String>,
    /// First application date (inclusive). Required unless `date` is given.
    #[param(example = "2026-10-01")]
    pub from: Option<String>,
    /// Last application date (inclusive); default today (JST). At most 1,098 days after `from`.
    #[param(example = "2026-11-20")]
    pub to: Option<String>,
    /// `Prime`, `Standard` or `Growth` (by `/equities/master` `Mkt`); default every issue.
    pub segment: Option<String>,
}

/// A validated market query.
pub struct Market {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub segment: Option<&'static str>,
}

/// Validates a market query. Without `date` or `from`, `default_days` (when given) before `to`
/// is the range; otherwise that is a 400.
pub fn parse(raw: Option<&str>, today: NaiveDate, default_days: Option<i64>) -> ApiResult<Market> {
    let seen = super::derived::query_map(raw, &["date", "from", "to", "segment"])?;
    let date = |name: &str| super::derived::query_date(&seen, name);
    let (d, from, to) = (date("date")?, date("from")?, date("to")?);
    let (from, to) = match (d, from, to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(ApiError::bad_request(
                "Specify either date or from/to, not both.",
            ));
        }
        (Some(d), None, None) => (d, d),
        (None, Some(f), t) => (f, t.unwrap_or(today)),
        (None, None, t) => match default_days {
            Some(n) => {
                let t = t.unwrap_or(today);
                (t - Duration::days(n), t)
            }
            None => {
                return Err(ApiError::bad_request(
                    "This API requires the parameter date or from",
                ));
            }
        },
    };
    if from > to {
        return Err(ApiError::bad_request(format!(
            "from ({from}) must not be after to ({to})."
        )));
    }
    if (to - from).num_days() > MAX_RANGE_DAYS {
        return Err(ApiError::bad_request(format!(
            "Specify at most {MAX_RANGE_DAYS} days between from and to."
        )));
    }
    let segment = match seen.get("segment") {
        None => None,
        Some(s) => Some(
            SEGMENTS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(s))
                .map(|(name, _)| *name)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "Invalid segment: {s}. Specify Prime, Standard or Growth."
                    ))
                })?,
        ),
    };
    Ok(Market {
        from,
        to: to.min(today),
        segment,
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MarketMarginResponse {
    /// One row per application date from `from` to `to` with margin rows published, oldest
    /// first.
    pub data: Vec<MarketMarginRow>,
}

/// Market-wide margin balances per application date: totals in shares and yen, 信用倍率, net
/// balance and changes, total market cap, 信用買残比率 and the ESTIMATED 信用評価損益率.
///
/// Every total is the sum of the per-issue figures of `/derived/margin` (and `MktCapExTr` of
/// `/derived/market-cap`) on that date. Computed from date cross-sections of
/// `/markets/margin-interest`, `/equities/bars/daily` (six months before `from` on: the cost
/// estimate's window), `/fins/summary` (120 days before `from` on) and `/equities/master`:
/// at most one upstream call per date and dataset, none when stored. The first request over a
/// new range is therefore slow (the statements cap is 60 calls a minute); later ones are not.
#[utoipa::path(
    get, path = "/derived/margin/market", tag = "derived", params(MarketQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, body = MarketMarginResponse),
        (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody), (status = 502, body = super::ErrorBody)
    )
)]
async fn market_route(State(st): State<AppState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let today = jst::today(st.cache.clock().now());
    let m = parse(q.as_deref(), today, None)?;
    let rows = market_rows(&st, &m).await?;
    super::derived::json_response(&st, &rows)
}

/// The market rows of a validated query (also used by the page and the charts).
pub async fn market_rows(st: &AppState, m: &Market) -> ApiResult<Vec<MarketMarginRow>> {
    let cal_rows = digest(st, "/markets/calendar", String::new()).await?;
    let Digest::Calendar(cal) = &*cal_rows else {
        unreachable!("calendar digest")
    };
    let window_start = m.from.checked_sub_months(HOLDING_LIMIT).unwrap_or(m.from);
    let fins_start = m.from - Duration::days(STATEMENT_LOOKBACK_DAYS);
    let app_dates = margin_market::application_dates(cal, window_start, m.to);
    let business: Vec<NaiveDate> = days(window_start.min(fins_start), m.to)
        .filter(|d| cal.is_business_day(*d))
        .collect();

    let q = |d: &NaiveDate| format!("date={}", jst::fmt_date(*d));
    // The datasets have separate upstream budgets (statements: 60 a minute), so they load
    // side by side.
    let (bars, margins, fins, codes) = tokio::try_join!(
        fetch_all(st, "/equities/bars/daily", business.iter().map(q)),
        fetch_all(st, "/markets/margin-interest", app_dates.iter().map(q)),
        fetch_all(st, "/fins/summary", days(fins_start, m.to).map(|d| q(&d))),
        async {
            match m.segment {
                None => Ok(None),
                Some(name) => segment_codes(st, name).await.map(Some),
            }
        }
    )?;

    let empty = DayBars::default();
    let bars_by_day: BTreeMap<NaiveDate, &DayBars> = business
        .iter()
        .zip(&bars)
        .map(|(d, g)| match &**g {
            Digest::Bars(b) => (*d, b),
            _ => (*d, &empty),
        })
        .collect();
    let margin_by_day: BTreeMap<NaiveDate, &[MarginInterest]> = app_dates
        .iter()
        .zip(&margins)
        .map(|(d, g)| match &**g {
            Digest::Margin(r) => (*d, r.as_slice()),
            _ => (*d, &[][..]),
        })
        .collect();
    let statements: Vec<(String, Statement)> = fins
        .iter()
        .flat_map(|g| match &**g {
            Digest::Fins(s) => s.clone(),
            _ => vec![],
        })
        .collect();
    let x = CrossSections {
        calendar: cal,
        bars: &bars_by_day,
        margin: &margin_by_day,
        statements: &statements,
        codes: codes.as_ref(),
    };
    let wanted: Vec<NaiveDate> = app_dates
        .into_iter()
        .filter(|d| *d >= m.from && margin_by_day.get(d).is_some_and(|r| !r.is_empty()))
        .collect();
    let days = cross_section::market_days(&x, &wanted);
    Ok(margin_market::rows(&days, m.segment))
}

fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d <= to)
}

async fn segment_codes(st: &AppState, name: &str) -> ApiResult<HashSet<String>> {
    let mkt = SEGMENTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .unwrap_or_default();
    let d = digest(st, "/equities/master", String::new()).await?;
    let Digest::Master(rows) = &*d else {
        unreachable!("master digest")
    };
    Ok(rows
        .iter()
        .filter(|(_, m)| m == mkt)
        .map(|(c, _)| c.clone())
        .collect())
}

/// What the computation keeps of one cached answer.
pub enum Digest {
    Calendar(Calendar),
    Bars(DayBars),
    /// One row per code (the later-published one when a date has two).
    Margin(Vec<MarginInterest>),
    /// (code, statement) of the filings with a share count.
    Fins(Vec<(String, Statement)>),
    /// (code, `Mkt`).
    Master(Vec<(String, String)>),
}

impl Digest {
    fn weight(&self) -> u32 {
        let n = match self {
            Digest::Calendar(_) => 1,
            Digest::Bars(v) => v.closes.len(),
            Digest::Margin(v) => v.len(),
            Digest::Fins(v) => v.len(),
            Digest::Master(v) => v.len(),
        };
        u32::try_from(n).unwrap_or(u32::MAX).max(1)
    }

    fn build(path: &str, rows: &[Row]) -> Result<Digest, crate::derived::DerivedError> {
        Ok(match path {
            "/markets/calendar" => Digest::Calendar(Calendar::new(
                &rows
                    .iter()
                    .map(TradingDay::from_row)
                    .collect::<Result<Vec<_>, _>>()?,
            )),
            "/equities/bars/daily" => Digest::Bars(DayBars::new(
                &rows
                    .iter()
                    .map(Bar::from_row)
                    .collect::<Result<Vec<_>, _>>()?,
            )),
            "/markets/margin-interest" => {
                let all: Vec<MarginInterest> = rows
                    .iter()
                    .map(MarginInterest::from_row)
                    .collect::<Result<_, _>>()?;
                Digest::Margin(margin::dedup(&all).into_iter().cloned().collect())
            }
            "/fins/summary" => {
                let mut v = Vec::new();
                for r in rows {
                    let s = Statement::from_row(r)?;
                    if s.sh_out.is_some_and(|n| n > 0.0) {
                        v.push((values::text(values::get(r, "Code")).unwrap_or_default(), s));
                    }
                }
                Digest::Fins(v)
            }
            _ => Digest::Master(
                rows.iter()
                    .map(|r| {
                        let t = |k| values::text(values::get(r, k)).unwrap_or_default();
                        (t("Code"), t("Mkt"))
                    })
                    .collect(),
            ),
        })
    }
}

type Memo = moka::future::Cache<String, Arc<Digest>>;

/// Process-wide, keyed by content hash: apps in one process (tests) can share it safely.
fn memo() -> &'static Memo {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(|| {
        moka::future::Cache::builder()
            // Rows kept: ~ a year and a half of daily cross-sections of ~4,000 issues.
            .max_capacity(3_000_000)
            .weigher(|_, d: &Arc<Digest>| d.weight())
            .build()
    })
}

/// One cross-section through the cache, reduced by the memo.
async fn digest(st: &AppState, path: &'static str, query: String) -> ApiResult<Arc<Digest>> {
    let ep = catalog::find(path)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("{path} not in catalog")))?;
    let req = st.admit(ep, Some(&query))?.request;
    let entry = st.cache.get(&req).await?.entry;
    let key = format!("{path}|{}", entry.etag);
    memo()
        .try_get_with(key, async move {
            let rows: Vec<Row> = entry
                .merged
                .rows
                .iter()
                .map(|r| serde_json::from_slice::<Row>(r))
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow::anyhow!("row of {path}: {e}"))?;
            let d = Digest::build(path, &rows).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
            Ok::<_, anyhow::Error>(Arc::new(d))
        })
        .await
        .map_err(|e: Arc<anyhow::Error>| ApiError::Internal(anyhow::anyhow!("{e}")))
}

async fn fetch_all(
    st: &AppState,
    path: &'static str,
    queries: impl Iterator<Item = String>,
) -> ApiResult<Vec<Arc<Digest>>> {
    futures::stream::iter(queries.map(|q| digest(st, path, q)))
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}
