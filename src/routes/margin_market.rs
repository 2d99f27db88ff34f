//! `GET /derived/margin/market`: market-wide margin indicators per application date (seed
//! 002), computed from date cross-sections: one cached upstream call per date and dataset
//! (margin balances and bars per application date, bars per business day for splits, filings
//! per day of the share-count look-back), none when stored, never one call per code.
//!
//! Each cross-section is reduced once to the few fields the computation needs and memoised
//! (see [`super::cross_sections`]), so a warm request parses nothing; the rows of a query are
//! memoised with the digests they were computed from and reused while every digest is the
//! same, so a repeated query computes nothing either. The computation itself stays the pure
//! functions of `crate::derived`.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};

use axum::extract::{RawQuery, State};
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::cross_sections::{Digest, digest, fetch_all};
use crate::derived::cross_section::{self, CrossSections, DayBars};
use crate::derived::margin::MarginInterest;
use crate::derived::margin_market::{self, MarketMarginRow};
use crate::derived::margin_pl::HOLDING_LIMIT;
use crate::derived::market_cap::Statement;
use crate::error::{ApiError, ApiResult};
use crate::jst;

/// How far before the first application date filings are read: the latest filing of every
/// issue (quarterly, filed up to ~56 days after the quarter end) lies within it.
pub const STATEMENT_LOOKBACK_DAYS: i64 = 120;
/// Longest range one request may cover, so one request cannot start thousands of upstream calls.
pub const MAX_RANGE_DAYS: i64 = 366 * 3;

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
    super::derived::json_response(&st, rows.as_slice())
}

/// The cross-sections one market query reads, as memoised digests (see
/// [`super::cross_sections`]). Two `Inputs` holding the same digests (pointer-equal `Arc`s)
/// describe the same data, so their rows are equal.
struct Inputs {
    calendar: Arc<Digest>,
    business: Vec<NaiveDate>,
    app_dates: Vec<NaiveDate>,
    bars: Vec<Arc<Digest>>,
    margins: Vec<Arc<Digest>>,
    fins: Vec<Arc<Digest>>,
    master: Option<Arc<Digest>>,
}

impl Inputs {
    async fn load(st: &AppState, m: &Market) -> ApiResult<Inputs> {
        let calendar = digest(st, "/markets/calendar", String::new()).await?;
        let Digest::Calendar(cal) = &*calendar else {
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
        let (bars, margins, fins, master) = tokio::try_join!(
            fetch_all(st, "/equities/bars/daily", business.iter().map(q)),
            fetch_all(st, "/markets/margin-interest", app_dates.iter().map(q)),
            fetch_all(st, "/fins/summary", days(fins_start, m.to).map(|d| q(&d))),
            async {
                match m.segment {
                    None => Ok(None),
                    Some(_) => digest(st, "/equities/master", String::new())
                        .await
                        .map(Some),
                }
            }
        )?;
        Ok(Inputs {
            calendar,
            business,
            app_dates,
            bars,
            margins,
            fins,
            master,
        })
    }

    fn same_as(&self, other: &Inputs) -> bool {
        let same = |a: &[Arc<Digest>], b: &[Arc<Digest>]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| Arc::ptr_eq(x, y))
        };
        Arc::ptr_eq(&self.calendar, &other.calendar)
            && self.business == other.business
            && self.app_dates == other.app_dates
            && same(&self.bars, &other.bars)
            && same(&self.margins, &other.margins)
            && same(&self.fins, &other.fins)
            && match (&self.master, &other.master) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                (a, b) => a.is_none() && b.is_none(),
            }
    }

    /// The rows of `m` from these inputs: the pure computation of [`cross_section`].
    fn rows(&self, m: &Market) -> Vec<MarketMarginRow> {
        let Digest::Calendar(cal) = &*self.calendar else {
            unreachable!("calendar digest")
        };
        let empty = DayBars::default();
        let bars: BTreeMap<NaiveDate, &DayBars> = self
            .business
            .iter()
            .zip(&self.bars)
            .map(|(d, g)| match &**g {
                Digest::Bars(b) => (*d, b),
                _ => (*d, &empty),
            })
            .collect();
        let margin: BTreeMap<NaiveDate, &[MarginInterest]> = self
            .app_dates
            .iter()
            .zip(&self.margins)
            .map(|(d, g)| match &**g {
                Digest::Margin(r) => (*d, r.as_slice()),
                _ => (*d, &[][..]),
            })
            .collect();
        let statements: Vec<&(String, Statement)> = self
            .fins
            .iter()
            .flat_map(|g| match &**g {
                Digest::Fins(s) => s.as_slice(),
                _ => &[],
            })
            .collect();
        let codes = m
            .segment
            .map(|name| segment_codes(self.master.as_deref(), name));
        let x = CrossSections {
            calendar: cal,
            bars: &bars,
            margin: &margin,
            statements: &statements,
            codes: codes.as_ref(),
        };
        let wanted: Vec<NaiveDate> = self
            .app_dates
            .iter()
            .copied()
            .filter(|d| *d >= m.from && margin.get(d).is_some_and(|r| !r.is_empty()))
            .collect();
        margin_market::rows(&cross_section::market_days(&x, &wanted), m.segment)
    }
}

/// The last rows computed per query, with the inputs they were computed from.
struct Computed {
    inputs: Inputs,
    rows: Arc<Vec<MarketMarginRow>>,
}

/// (address of the app's cache, query); like the digest memo, per app. Small: each entry pins
/// its digests, which the digest memo holds anyway while they are in use.
type RowsMemo = moka::future::Cache<(usize, String), Arc<Computed>>;

fn rows_memo() -> &'static RowsMemo {
    static MEMO: OnceLock<RowsMemo> = OnceLock::new();
    MEMO.get_or_init(|| moka::future::Cache::new(16))
}

/// The market rows of a validated query (also used by the page and the charts). Computed
/// again only when the query or one of its cross-sections changed.
pub async fn market_rows(st: &AppState, m: &Market) -> ApiResult<Arc<Vec<MarketMarginRow>>> {
    let inputs = Inputs::load(st, m).await?;
    let key = (
        Arc::as_ptr(&st.cache) as usize,
        format!("{}|{}|{}", m.from, m.to, m.segment.unwrap_or("")),
    );
    if let Some(c) = rows_memo().get(&key).await
        && c.inputs.same_as(&inputs)
    {
        return Ok(c.rows.clone());
    }
    let rows = Arc::new(inputs.rows(m));
    let computed = Computed {
        inputs,
        rows: rows.clone(),
    };
    rows_memo().insert(key, Arc::new(computed)).await;
    Ok(rows)
}

fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d <= to)
}

/// The codes of segment `name` by the master's `Mkt`.
fn segment_codes(master: Option<&Digest>, name: &str) -> HashSet<String> {
    let mkt = SEGMENTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .unwrap_or_default();
    let Some(Digest::Master(rows)) = master else {
        return HashSet::new();
    };
    rows.iter()
        .filter(|(_, m)| m == mkt)
        .map(|(c, _)| c.clone())
        .collect()
}
