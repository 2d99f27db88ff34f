//! `GET /derived/margin/market`: market-wide margin indicators per application date, from
//! the market-data service (`crate::market::margin`: date cross-sections, at most one
//! upstream call per date and dataset, none when held, never one call per code).

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::derived::margin_market::MarketMarginRow;
use crate::error::ApiResult;
use crate::http::params::{MarketQuery, parse_market};
use crate::http::render::{ErrorBody, PendingBody, json_response, pending, with_preference};
use crate::http::state::AppState;
use crate::market::jobs::Prepared;

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
///
/// Cold work runs as a background job shared by every client that asks for the same range: a
/// request waits for it up to `JQP_DERIVED_WAIT_SECS` (10 s; `Prefer: wait=N` for longer),
/// then answers 202 with `Retry-After` and the job's progress. A 200 always carries the
/// complete table.
#[utoipa::path(
    get, path = "/derived/margin/market", tag = "derived",
    params(MarketQuery, ("Prefer" = Option<String>, Header, description = "RFC 7240 preferences: `wait=N` waits up to N seconds for the answer (at most the request timeout less 10 s) before a 202; `respond-async` answers 202 at once unless the answer is ready within a second. Others are ignored.")),
    security(("api_key" = [])),
    responses(
        (status = 200, body = MarketMarginResponse, headers(("Preference-Applied" = String, description = "The `Prefer` preference honoured, when one was sent"))),
        (status = 202, body = PendingBody, description = "Still being prepared by a background job shared by every client asking the same; the body says how far it is. Ask again after `Retry-After`.", headers(("Retry-After" = u64, description = "Seconds to wait before asking again (the job's estimate, 2 to 30)"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 502, body = ErrorBody)
    )
)]
async fn market_route(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let m = parse_market(q.as_deref(), st.today(), None)?;
    let (prepared, wait) = st.market_margin(&m, &headers).await?;
    let resp = match prepared {
        Prepared::Ready(rows) => json_response(&st, rows.as_slice())?,
        Prepared::Pending { what, progress } => pending(&st, &what, progress),
    };
    Ok(with_preference(resp, wait.applied.as_deref()))
}
