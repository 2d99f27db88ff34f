//! `GET /derived/margin/market`: market-wide margin indicators per application date, from
//! the market-data service (`crate::market::margin`: date cross-sections, at most one
//! upstream call per date and dataset, none when held, never one call per code).

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::derived::margin_market::MarketMarginRow;
use crate::error::ApiResult;
use crate::http::params::{MarketQuery, parse_market};
use crate::http::render::{ErrorBody, json_response};
use crate::http::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(market_route))
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
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 502, body = ErrorBody)
    )
)]
async fn market_route(State(st): State<AppState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let m = parse_market(q.as_deref(), st.today(), None)?;
    let rows = st.market.market_margin(&m).await?;
    json_response(&st, rows.as_slice())
}
