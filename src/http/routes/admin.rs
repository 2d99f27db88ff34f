//! Cache administration behind the admin key (checked by `crate::auth`): purge by endpoint
//! and/or code, statistics per tier, and how the upstream is being shared (per client key
//! and between replicas).

use axum::Json;
use axum::extract::{Query, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::bulk::BulkStats;
use crate::cache::CacheStats;
use crate::catalog;
use crate::error::{ApiError, ApiResult};
use crate::http::ErrorBody;
use crate::http::state::AppState;
use crate::market::jobs::JobStats;
use crate::request::canonical_code;
use crate::upstream::ClientQueueStats;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(purge))
        .routes(routes!(stats))
        .routes(routes!(all_stats))
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
    responses((status = 200, body = Purged), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody))
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
    get, path = "/admin/cache/stats", tag = "admin",
    responses((status = 200, body = CacheStats), (status = 403, body = ErrorBody))
)]
async fn stats(State(st): State<AppState>) -> Json<CacheStats> {
    Json(st.cache.stats().await)
}

/// How the one upstream subscription is being shared right now.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SharingStats {
    /// `postgres` (one budget shared by every replica) or `local` (this replica's share).
    pub coordination: &'static str,
    /// Fraction of the plan this replica uses while coordination is local.
    pub local_share: f64,
    /// Mean milliseconds of one coordination statement in Postgres (None without it).
    pub coordination_ms_per_op: Option<f64>,
    /// Requests waiting for an upstream slot now, all clients.
    pub queued: usize,
    /// Upstream HTTP calls made.
    pub calls: u64,
    /// Upstream 429 answers seen.
    pub rate_limited: u64,
    /// Queue depth and waits per client key.
    pub clients: Vec<ClientQueueStats>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AdminStats {
    /// Cache statistics, as `GET /admin/cache/stats` returns them.
    pub cache: CacheStats,
    /// How the upstream subscription is shared: coordination, calls and per-client queues.
    pub upstream: SharingStats,
    /// Whole-market jobs of the derived routes running now (or failed in the last minute),
    /// oldest first, with their progress.
    pub jobs: Vec<JobStats>,
    /// Bulk files ingested, and whether each dataset's rows are trusted for the mirror (and
    /// if not, the first difference found).
    pub bulk: BulkStats,
}

/// Cache statistics and upstream sharing: per-client queue depth and waits, coordination.
#[utoipa::path(
    get, path = "/admin/stats", tag = "admin",
    responses((status = 200, body = AdminStats), (status = 403, body = ErrorBody))
)]
async fn all_stats(State(st): State<AppState>) -> Json<AdminStats> {
    let l = st.cache.upstream().limiter_stats();
    Json(AdminStats {
        cache: st.cache.stats().await,
        upstream: SharingStats {
            coordination: l.coordination,
            local_share: l.local_share,
            coordination_ms_per_op: l.coordination_overhead.map(|(d, _)| d.as_secs_f64() * 1e3),
            queued: l.queued,
            calls: l.calls,
            rate_limited: l.rate_limited,
            clients: l.clients,
        },
        jobs: st.market.job_stats(),
        bulk: st.history.stats(),
    })
}
