//! Operations: liveness, readiness (upstream, Postgres and limiter state) and Prometheus
//! metrics. Readiness never calls the upstream: probing would spend the quota it protects.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics_text))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok` while the process serves requests.
    pub status: &'static str,
    /// The proxy's version (`Cargo.toml`), e.g. `0.1.0`.
    pub version: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready`, or `degraded` when a dependency is down but answers are still served
    /// (from memory and upstream without Postgres, or stale without upstream).
    pub status: &'static str,
    /// `demo` (in-process simulator) or `live`.
    pub mode: &'static str,
    /// `ok`, `down`, or `disabled` (no DATABASE_URL).
    pub postgres: &'static str,
    /// Upstream fetch counts and the rate limiter's state.
    pub upstream: UpstreamHealth,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct UpstreamHealth {
    /// Plan whose rate limit the proxy keeps to.
    pub plan: &'static str,
    /// Complete answers fetched from upstream since start.
    pub fetches: u64,
    /// Fetches that failed (after retries) since start.
    pub errors: u64,
    /// The upstream rate limiter's state.
    pub limiter: LimiterView,
}

/// The upstream rate limiter's state.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct LimiterView {
    /// Requests waiting for an upstream slot now.
    pub queued: usize,
    /// Upstream HTTP calls made (pages and retries included).
    pub calls: u64,
    /// Upstream 429 answers seen (each pauses every caller for a cool-down).
    pub rate_limited: u64,
    /// Upstream calls repeated after a 429 (once the cool-down is over) or after a transient
    /// failure (connection error, timeout, 5xx; with backoff), count since start.
    pub retries: u64,
    /// Requests that gave up waiting for a slot.
    pub queue_timeouts: u64,
    /// Total time requests spent waiting for slots, seconds.
    pub total_wait_secs: f64,
    /// Seconds left of a cool-down after a 429, if one is running.
    pub paused_for_secs: Option<f64>,
    /// `postgres`: one budget shared with every replica on the same database; `local`:
    /// this replica keeps to `local_share` of the plan (no DATABASE_URL, or Postgres down).
    pub coordination: &'static str,
    /// Fraction of the plan used while coordination is local (1 / JQP_REPLICAS).
    pub local_share: f64,
}

/// Readiness: serves 200 while answers can be given, with what is degraded.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, body = Readiness)))]
async fn readyz(State(st): State<AppState>) -> Json<Readiness> {
    let postgres = match st.cache.store() {
        None => "disabled",
        Some(s) if s.ping().await => "ok",
        Some(_) => "down",
    };
    let stats = st.cache.stats().await;
    let l = st.cache.upstream().limiter_stats();
    let limiter = LimiterView {
        queued: l.queued,
        calls: l.calls,
        rate_limited: l.rate_limited,
        retries: l.retries,
        queue_timeouts: l.queue_timeouts,
        total_wait_secs: l.total_wait.as_secs_f64(),
        paused_for_secs: l.pause_remaining().map(|d| d.as_secs_f64()),
        coordination: l.coordination,
        local_share: l.local_share,
    };
    Json(Readiness {
        status: if postgres == "down" {
            "degraded"
        } else {
            "ready"
        },
        mode: if st.demo { "demo" } else { "live" },
        postgres,
        upstream: UpstreamHealth {
            plan: st.plan.as_str(),
            fetches: stats.upstream_fetches,
            errors: stats.upstream_errors,
            limiter,
        },
    })
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics_text(State(st): State<AppState>) -> Response {
    let stats = st.cache.stats().await;
    metrics::gauge!("jqp_cache_entries", "tier" => "l1").set(stats.l1_entries as f64);
    metrics::gauge!("jqp_cache_bytes", "tier" => "l1").set(stats.l1_bytes as f64);
    if let Some(l2) = &stats.l2 {
        if let (Some(n), Some(b)) = (l2.entries, l2.bytes) {
            metrics::gauge!("jqp_cache_entries", "tier" => "l2").set(n as f64);
            metrics::gauge!("jqp_cache_bytes", "tier" => "l2").set(b as f64);
        }
        metrics::gauge!("jqp_postgres_up").set(if l2.healthy { 1.0 } else { 0.0 });
        metrics::gauge!("jqp_postgres_pending_writes").set(l2.pending_writes as f64);
    }
    let l = st.cache.upstream().limiter_stats();
    metrics::gauge!("jqp_upstream_limiter_queue").set(l.queued as f64);
    metrics::gauge!("jqp_upstream_paused_seconds")
        .set(l.pause_remaining().map_or(0.0, |d| d.as_secs_f64()));
    let shared = l.coordination == "postgres";
    metrics::gauge!("jqp_upstream_coordination_shared").set(if shared { 1.0 } else { 0.0 });
    metrics::gauge!("jqp_upstream_plan_share").set(if shared { 1.0 } else { l.local_share });
    if let Some((per_op, failures)) = l.coordination_overhead {
        metrics::gauge!("jqp_coordination_op_seconds").set(per_op.as_secs_f64());
        metrics::gauge!("jqp_coordination_failures").set(failures as f64);
    }
    for c in &l.clients {
        metrics::gauge!("jqp_upstream_client_queued", "client" => c.client.clone())
            .set(c.queued as f64);
        metrics::gauge!("jqp_upstream_client_wait_seconds_total", "client" => c.client.clone())
            .set(c.total_wait_secs);
        metrics::gauge!("jqp_upstream_client_slots_total", "client" => c.client.clone())
            .set(c.granted as f64);
    }
    let body = crate::telemetry::prometheus().render();
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
