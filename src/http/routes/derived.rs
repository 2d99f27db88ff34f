//! Per-issue derived endpoints: what the proxy computes from upstream data J-Quants does not
//! provide. Adapters only: parse the query, ask the market-data service (`crate::market`),
//! and answer in the mirror's `{"data": [...]}` envelope, paged by the proxy when large.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use bytes::Bytes;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::derived::dividends;
use crate::derived::margin::MarginRow;
use crate::derived::margin_account::{AccountInput, AccountReport};
use crate::derived::market_cap::MarketCapRow;
use crate::error::{ApiError, ApiResult};
use crate::http::params::{RangeQuery, parse_range};
use crate::http::render::{ErrorBody, json_response, paged_response};
use crate::http::state::AppState;
use crate::request::canonical_code;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(market_cap_route))
        .routes(routes!(margin_route))
        .routes(routes!(dividends_route))
        .routes(routes!(margin_account_route))
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
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 502, body = ErrorBody)
    )
)]
async fn market_cap_route(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let range = parse_range(q.as_deref(), true)?;
    let key = range.pagination_key()?;
    let (rows, _) = st.market.market_caps(&range.code).await?;
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
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 502, body = ErrorBody)
    )
)]
async fn margin_route(State(st): State<AppState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let range = parse_range(q.as_deref(), true)?;
    let key = range.pagination_key()?;
    let rows: Vec<_> = st
        .market
        .margin_rows(&range.code)
        .await?
        .into_iter()
        .filter(|r| range.contains(&r.date))
        .collect();
    paged_response(&st, &rows, &range, key.as_ref())
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
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 502, body = ErrorBody)
    )
)]
async fn dividends_route(State(st): State<AppState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let range = parse_range(q.as_deref(), false)?;
    let d = st.market.dividends(&range.code).await?;
    json_response(
        &st,
        &[DividendsAnswer {
            notices: d.notices,
            annual: d.annual,
        }],
    )
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
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 502, body = ErrorBody)
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
        let (_, close) = st.market.latest_close(&canonical).await?.ok_or_else(|| {
            ApiError::bad_request(format!("No close price is known for {code}; give Price."))
        })?;
        prices.insert(code, close);
    }
    let report = account.evaluate(&prices)?;
    json_response(&st, &[report])
}
