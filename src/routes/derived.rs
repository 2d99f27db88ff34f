//! Derived endpoints: what the proxy computes from upstream data J-Quants does not provide.
//! Every input is read through the proxy's own cache (one cached full history per code and
//! dataset serves every date range), handed to the pure functions in `crate::derived`, and
//! returned in the mirror's `{"data": [...]}` envelope, paged by the proxy when large.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use bytes::Bytes;
use chrono::NaiveDate;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::cache::paging::{self, PageKey};
use crate::catalog;
use crate::derived::margin::{self, MarginInterest, MarginRow};
use crate::derived::margin_account::{AccountInput, AccountReport};
use crate::derived::market_cap::{self, Bar, MarketCapRow, Statement, TradingDay};
use crate::derived::{Row, dividends};
use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::jst;
use crate::request::canonical_code;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(market_cap_route))
        .routes(routes!(margin_route))
        .routes(routes!(dividends_route))
        .routes(routes!(margin_account_route))
}

/// `code` plus either `date` or a `from`/`to` range (either end optional), validated like
/// the mirror's parameters.
#[derive(Debug, Clone, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// Issue code, 4 or 5 characters (e.g. 3350 or 33500).
    #[param(example = "33500")]
    pub code: String,
    /// One day, YYYYMMDD or YYYY-MM-DD. Not with from/to.
    pub date: Option<String>,
    /// First day (inclusive), YYYYMMDD or YYYY-MM-DD.
    #[param(example = "2025-03-20")]
    pub from: Option<String>,
    /// Last day (inclusive), YYYYMMDD or YYYY-MM-DD.
    #[param(example = "2025-04-04")]
    pub to: Option<String>,
    /// The proxy's key of the next page, from the previous page of the same query.
    pub pagination_key: Option<String>,
}

pub struct Range {
    pub code: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    page_key: Option<String>,
    canonical: String,
}

impl Range {
    /// The client's `pagination_key`, checked to be one issued for this query.
    fn pagination_key(&self) -> ApiResult<Option<PageKey>> {
        let key = self.page_key.as_deref();
        key.map(|k| PageKey::parse_for(k, &self.canonical))
            .transpose()
    }

    /// Rows carry dates as the upstream spells them (`YYYY-MM-DD`).
    pub fn contains(&self, date: &str) -> bool {
        let Some(d) = jst::parse_date(date) else {
            return false;
        };
        self.from.is_none_or(|f| d >= f) && self.to.is_none_or(|t| d <= t)
    }
}

/// The query's parameters, each at most once and each one of `allowed` (else a 400 naming
/// the offending parameter, as the upstream words it).
pub fn query_map(raw: Option<&str>, allowed: &[&str]) -> ApiResult<HashMap<String, String>> {
    let mut seen: HashMap<String, String> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if !allowed.contains(&k.as_ref()) {
            return Err(ApiError::bad_request(format!(
                "Unexpected parameter: {k}. This API accepts: {}",
                allowed.join(", ")
            )));
        }
        if seen.insert(k.to_string(), v.trim().to_string()).is_some() {
            return Err(ApiError::bad_request(format!("Duplicated parameter: {k}")));
        }
    }
    Ok(seen)
}

/// The date parameter `name`, if given; a 400 when it is not an existing date.
pub fn query_date(seen: &HashMap<String, String>, name: &str) -> ApiResult<Option<NaiveDate>> {
    match seen.get(name) {
        None => Ok(None),
        Some(v) => jst::parse_date(v).map(Some).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Invalid date for {name}: {v}. Specify an existing date as YYYYMMDD or YYYY-MM-DD."
            ))
        }),
    }
}

pub fn parse_range(raw: Option<&str>, allow_range: bool) -> ApiResult<Range> {
    let allowed = if allow_range {
        &["code", "date", "from", "to", "pagination_key"][..]
    } else {
        &["code", "pagination_key"][..]
    };
    let seen = query_map(raw, allowed)?;
    let code = seen
        .get("code")
        .ok_or_else(|| ApiError::bad_request("This API requires the parameter code"))?;
    let code = canonical_code(code).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Invalid code: {code}. Specify a 4 or 5 character issue code."
        ))
    })?;
    let date = |name: &str| query_date(&seen, name);
    let (d, from, to) = (date("date")?, date("from")?, date("to")?);
    if d.is_some() && (from.is_some() || to.is_some()) {
        return Err(ApiError::bad_request(
            "Specify either date or from/to, not both.",
        ));
    }
    let (from, to) = if d.is_some() { (d, d) } else { (from, to) };
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::bad_request(format!(
            "from ({f}) must not be after to ({t})."
        )));
    }
    let canonical = format!("{code}|{from:?}|{to:?}");
    Ok(Range {
        code,
        from,
        to,
        page_key: seen.get("pagination_key").cloned(),
        canonical,
    })
}

/// Rows of one upstream request, read through the cache.
async fn upstream_rows(st: &AppState, path: &str, query: &str) -> ApiResult<Vec<Row>> {
    let ep = catalog::find(path)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("{path} not in catalog")))?;
    let req = st.admit(ep, Some(query))?.request;
    let served = st.cache.get(&req).await?;
    served
        .entry
        .merged
        .rows
        .iter()
        .map(|r| {
            serde_json::from_slice::<Row>(r)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("row of {path}: {e}")))
        })
        .collect()
}

fn parse_all<T>(
    rows: &[Row],
    f: impl Fn(&Row) -> Result<T, crate::derived::DerivedError>,
) -> ApiResult<Vec<T>> {
    // A row the upstream sent that we cannot read is our problem, not the client's.
    rows.iter()
        .map(|r| f(r).map_err(|e| ApiError::Internal(anyhow::anyhow!("upstream row: {e}"))))
        .collect()
}

/// Daily market cap over the code's whole history (inputs are cached per code).
pub async fn market_caps(st: &AppState, code: &str) -> ApiResult<(Vec<MarketCapRow>, Vec<Bar>)> {
    let q = format!("code={code}");
    let (bars, stmts, cal) = tokio::try_join!(
        upstream_rows(st, "/equities/bars/daily", &q),
        upstream_rows(st, "/fins/summary", &q),
        upstream_rows(st, "/markets/calendar", ""),
    )?;
    let bars = parse_all(&bars, Bar::from_row)?;
    let stmts = parse_all(&stmts, Statement::from_row)?;
    let cal = parse_all(&cal, TradingDay::from_row)?;
    Ok((market_cap::compute(code, &bars, &stmts, &cal), bars))
}

/// A derived answer that is never paged (a few hundred rows at most).
pub fn json_response<T: Serialize>(st: &AppState, rows: &[T]) -> ApiResult<Response> {
    Ok(json_body(st, answer(rows)?.body))
}

/// A derived answer paged as the mirror pages: the page `key` names, the first without one.
fn paged_response<T: Serialize>(
    st: &AppState,
    rows: &[T],
    range: &Range,
    key: Option<&PageKey>,
) -> ApiResult<Response> {
    let merged = answer(rows)?;
    let body = paging::page_of(&merged, st.cache.max_page_bytes(), &range.canonical, key)?;
    Ok(json_body(st, body))
}

/// `rows` in the mirror's `{"data": [...]}` envelope.
fn answer<T: Serialize>(rows: &[T]) -> ApiResult<envelope::Merged> {
    let raw: Vec<Bytes> = rows
        .iter()
        .map(|r| {
            serde_json::to_vec(r)
                .map(Bytes::from)
                .map_err(|e| ApiError::Internal(e.into()))
        })
        .collect::<ApiResult<_>>()?;
    Ok(envelope::from_rows(&raw))
}

fn json_body(st: &AppState, body: Bytes) -> Response {
    st.own_response("application/json", body)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MarketCapResponse {
    /// One row per daily bar of `code` from `from` to `to`, oldest first; this page's rows
    /// when the answer is paged.
    pub data: Vec<MarketCapRow>,
    /// Present when more pages follow.
    pub pagination_key: Option<String>,
}

/// Daily market cap from the raw close and issued shares, adjusted for splits between filings.
///
/// Shares come from the latest `/fins/summary` statement with a non-blank `ShOutFY` known on
/// that day (disclosed before 15:00 on a business day, else effective the next business day),
/// read as restated for splits up to its release unless the period-end reading fits the
/// previous filing better (`ShOutBasis`, docs/share-counts.md); each later `AdjFactor` != 1
/// multiplies them by 1/AdjFactor. Null where there is no close or
/// no statement yet. Reads `/equities/bars/daily`, `/fins/summary` and `/markets/calendar`.
#[utoipa::path(
    get, path = "/derived/market-cap", tag = "derived", params(RangeQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, body = MarketCapResponse),
        (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody), (status = 502, body = super::ErrorBody)
    )
)]
async fn market_cap_route(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let range = parse_range(q.as_deref(), true)?;
    let key = range.pagination_key()?;
    let (rows, _) = market_caps(&st, &range.code).await?;
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| range.contains(&r.date))
        .collect();
    paged_response(&st, &rows, &range, key.as_ref())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MarginResponse {
    /// One row per application date of `code` from `from` to `to`, oldest first; this page's
    /// rows when the answer is paged.
    pub data: Vec<MarginRow>,
    /// Present when more pages follow.
    pub pagination_key: Option<String>,
}

/// Margin balances per application date with 信用倍率 (LongVol/ShrtVol), net position,
/// changes, yen values, 信用買残比率 (long value / market cap ex-treasury) and the ESTIMATED
/// 信用評価損益率 (`LongCost`, `LongPl`, `PlRate`: docs/margin-pl-estimate.md).
///
/// Reads `/markets/margin-interest` (weekly rows, and daily rows since 2026-09-25), bars and
/// the market cap above. Needs the Standard plan upstream.
#[utoipa::path(
    get, path = "/derived/margin", tag = "derived", params(RangeQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, body = MarginResponse),
        (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody), (status = 502, body = super::ErrorBody)
    )
)]
async fn margin_route(State(st): State<AppState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let range = parse_range(q.as_deref(), true)?;
    let key = range.pagination_key()?;
    let rows: Vec<_> = margin_rows(&st, &range.code)
        .await?
        .into_iter()
        .filter(|r| range.contains(&r.date))
        .collect();
    paged_response(&st, &rows, &range, key.as_ref())
}

/// Every margin row of `code` with ratios and the cost estimate (inputs cached per code).
pub async fn margin_rows(st: &AppState, code: &str) -> ApiResult<Vec<MarginRow>> {
    let interest = upstream_rows(st, "/markets/margin-interest", &format!("code={code}")).await?;
    let interest = parse_all(&interest, MarginInterest::from_row)?;
    let (caps, bars) = market_caps(st, code).await?;
    Ok(margin::compute(&interest, &bars, &caps))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DividendsAnswer {
    /// Notices in force after corrections and deletions, each with the notices it replaced.
    pub notices: Vec<dividends::NoticeInForce>,
    /// Decided and forecast annual dividends per fiscal year and their yields on the latest close.
    pub annual: Vec<dividends::AnnualDividend>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DividendsResponse {
    /// One element: the notices in force and the annual dividends.
    pub data: Vec<DividendsAnswer>,
}

#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CodeQuery {
    /// Issue code, 4 or 5 characters.
    #[param(example = "72030")]
    pub code: String,
}

/// Dividend notices with the RefNo/CARefNo/StatCode chain applied, and annual dividend yields.
///
/// Reads `/fins/dividend` (Premium upstream) and the latest close from `/equities/bars/daily`.
#[utoipa::path(
    get, path = "/derived/dividends", tag = "derived", params(CodeQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, body = DividendsResponse),
        (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody), (status = 502, body = super::ErrorBody)
    )
)]
async fn dividends_route(State(st): State<AppState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let range = parse_range(q.as_deref(), false)?;
    let q = format!("code={}", range.code);
    let (notices, bars) = tokio::try_join!(
        upstream_rows(&st, "/fins/dividend", &q),
        upstream_rows(&st, "/equities/bars/daily", &q)
    )?;
    let notices = parse_all(&notices, dividends::DividendNotice::from_row)?;
    let bars = parse_all(&bars, Bar::from_row)?;
    let in_force = dividends::apply_chain(&notices);
    let latest = latest_close(&bars);
    let annual = dividends::annual_yields(&in_force, latest);
    json_response(
        &st,
        &[DividendsAnswer {
            notices: in_force,
            annual,
        }],
    )
}

fn latest_close(bars: &[Bar]) -> Option<(NaiveDate, f64)> {
    bars.iter()
        .filter_map(|b| b.close.map(|c| (b.date, c)))
        .max_by_key(|(d, _)| *d)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MarginAccountResponse {
    /// One element: the account report.
    pub data: Vec<AccountReport>,
}

/// Margin-account arithmetic (JSF primer): valuation, unrealised P/L, deposit, maintenance
/// ratio, margin call to the minimum, deposit required for new positions and the maximum
/// reverse daily fee (最高料率) of standardized shorts.
///
/// Prices not given in the request are the latest raw close from `/equities/bars/daily`.
#[utoipa::path(
    post, path = "/derived/margin-account", tag = "derived", request_body = AccountInput,
    security(("api_key" = [])),
    responses(
        (status = 200, body = MarginAccountResponse),
        (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody), (status = 502, body = super::ErrorBody)
    )
)]
async fn margin_account_route(State(st): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let input: AccountInput = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}")))?;
    // Any input error is a 400 here, before an upstream call.
    let account = input.validate()?;
    let mut prices = HashMap::new();
    for code in account.codes_needing_prices() {
        let canonical = canonical_code(&code)
            .ok_or_else(|| ApiError::bad_request(format!("Invalid code: {code}")))?;
        let bars = upstream_rows(&st, "/equities/bars/daily", &format!("code={canonical}")).await?;
        let bars = parse_all(&bars, Bar::from_row)?;
        let (_, close) = latest_close(&bars).ok_or_else(|| {
            ApiError::bad_request(format!("No close price is known for {code}; give Price."))
        })?;
        prices.insert(code, close);
    }
    let report = account.evaluate(&prices)?;
    json_response(&st, &[report])
}
