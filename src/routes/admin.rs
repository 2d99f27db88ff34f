//! Cache administration behind the admin key (checked by `crate::auth`): purge by endpoint
//! and/or code, and statistics per tier.

use axum::Json;
use axum::extract::{Query, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::cache::CacheStats;
use crate::catalog;
use crate::error::{ApiError, ApiResult};
use crate::request::canonical_code;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(purge))
        .routes(routes!(stats))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PurgeQuery {
    /// Upstream path without `/v2`, e.g. `/equities/bars/daily`. Omit for every endpoint.
    pub endpoint: Option<String>,
    /// Issue code (4 or 5 characters). Omit for every code.
    pub code: Option<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Purged {
    /// Answers dropped from memory.
    pub l1: u64,
    /// Answers deleted from Postgres.
    pub l2: u64,
}

/// Drops cached answers so the next request fetches them again.
#[utoipa::path(
    post, path = "/admin/cache/purge", tag = "admin", params(PurgeQuery),
    security(("admin_key" = [])),
    responses((status = 200, body = Purged), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody))
)]
async fn purge(State(st): State<AppState>, Query(q): Query<PurgeQuery>) -> ApiResult<Json<Purged>> {
    let endpoint = match q.endpoint.as_deref().map(|p| p.trim_start_matches("/v2")) {
        None => None,
        Some(p) => Some(
            catalog::find(p)
                .ok_or_else(|| ApiError::bad_request(format!("Unknown endpoint: {p}")))?
                .path,
        ),
    };
    let code = match q.code.as_deref() {
        None => None,
        Some(c) => Some(
            canonical_code(c).ok_or_else(|| ApiError::bad_request(format!("Invalid code: {c}")))?,
        ),
    };
    let (l1, l2) = st.cache.purge(endpoint, code).await;
    tracing::info!(?endpoint, l1, l2, "cache purged by admin");
    Ok(Json(Purged { l1, l2 }))
}

/// Entries, bytes and hit ratio per tier, and upstream calls saved.
#[utoipa::path(
    get, path = "/admin/cache/stats", tag = "admin", security(("admin_key" = [])),
    responses((status = 200, body = CacheStats), (status = 403, body = super::ErrorBody))
)]
async fn stats(State(st): State<AppState>) -> Json<CacheStats> {
    Json(st.cache.stats().await)
}
