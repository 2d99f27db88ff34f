//! Builds the application: binds the listener first (so tests can use port 0 and read the
//! port back), wires upstream -> cache -> routes, and applies the one middleware stack.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;

use crate::auth::{self, Auth};
use crate::cache::{Cache, CacheConfig};
use crate::catalog::Plan;
use crate::config::ServeConfig;
use crate::error::ApiError;
use crate::routes::{self, AppState};
use crate::sim;
use crate::store::Store;
use crate::telemetry::access::AccessLayer;
use crate::upstream::{Upstream, UpstreamConfig};

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    /// The in-process simulator in demo mode; kept so it lives as long as the app.
    demo_sim: Option<sim::SimHandle>,
}

impl Application {
    pub async fn build(cfg: ServeConfig) -> anyhow::Result<Application> {
        // Bind before anything slow so a port conflict fails fast and port 0 is known early.
        let listener = TcpListener::bind(cfg.listen).await?;
        // Metrics recorded before the recorder exists are lost: install it first.
        crate::telemetry::prometheus();
        let (upstream_key, base_url, plan, demo_sim) = match &cfg.upstream_key {
            Some(k) => (k.clone(), cfg.upstream_base_url.clone(), cfg.plan, None),
            None => {
                let key = format!("demo-{}", uuid::Uuid::new_v4().simple());
                let mut sim_cfg = sim::SimConfig::new(key.clone());
                sim_cfg.plan = Plan::Premium;
                sim_cfg.clock = cfg.clock.clone();
                let handle = sim::spawn(sim_cfg, "127.0.0.1:0".parse()?).await?;
                tracing::warn!(
                    simulator = %handle.base_url(),
                    "DEMO MODE: no JQUANTS_API_KEY set; serving SIMULATED data from the built-in J-Quants simulator (responses carry x-jquants-proxy-mode: demo)"
                );
                (
                    SecretString::from(key),
                    handle.base_url(),
                    Plan::Premium,
                    Some(handle),
                )
            }
        };
        let demo = demo_sim.is_some();
        let mut ucfg = UpstreamConfig::new(base_url, upstream_key.clone(), plan);
        ucfg.rate_window = cfg.rate_window;
        ucfg.cooldown_after_429 = cfg.cooldown_after_429;
        ucfg.queue_timeout = cfg.queue_timeout;
        ucfg.request_timeout = cfg.upstream_timeout;
        ucfg.max_retries = cfg.max_retries;
        ucfg.retry_base_delay = cfg.retry_base_delay;
        ucfg.sharing = cfg.sharing.clone();
        let upstream = Upstream::new(ucfg)?;
        let store = match &cfg.database {
            // Simulated answers must never sit where a later live run would serve them.
            Some(_) if demo => {
                tracing::warn!(
                    "demo mode: DATABASE_URL ignored so simulated data never mixes with real data; memory cache only"
                );
                None
            }
            Some(opts) => Some(Store::with_options(opts.clone()).await?),
            None => {
                tracing::warn!(
                    "no DATABASE_URL: the cache is memory only and does not survive a restart"
                );
                None
            }
        };
        if let Some(store) = &store {
            upstream.coordinate_through(store.clone());
        }
        let cache = Cache::new(
            upstream,
            store,
            cfg.clock.clone(),
            CacheConfig {
                max_bytes: cfg.cache_max_bytes,
                max_page_bytes: cfg.max_page_bytes,
                stale_while_revalidate: cfg.stale_while_revalidate,
                ..Default::default()
            },
        );
        crate::sync::spawn_schedule(cache.clone(), &cfg.sync)?;
        let upstream_for_auth = (!demo).then(|| upstream_key.clone());
        let auth = Arc::new(Auth::new(
            &cfg.client_keys,
            cfg.admin_key.as_ref(),
            upstream_for_auth.as_ref(),
            cfg.allow_anonymous,
            demo,
            cfg.client_quota_per_minute,
        )?);
        if cfg.client_keys.is_empty() && !demo {
            if cfg.allow_anonymous {
                tracing::warn!(
                    "no client keys and anonymous access allowed: anyone who can reach this port reads licensed data"
                );
            } else {
                tracing::info!("no client keys configured: only loopback clients are served");
            }
        }
        let state = AppState {
            cache,
            auth: auth.clone(),
            demo,
            plan,
            max_page_bytes: cfg.max_page_bytes,
        };
        let router = app_router(state.clone(), cfg.request_timeout);
        tracing::info!(addr = %listener.local_addr()?, plan = plan.as_str(), demo, "jquants-proxy listening");
        Ok(Application {
            listener,
            router,
            state,
            demo_sim,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn demo_sim(&self) -> Option<&sim::SimHandle> {
        self.demo_sim.as_ref()
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        // Holding `_demo_sim` keeps the in-process simulator serving until shutdown.
        let Application {
            listener,
            router,
            demo_sim: _demo_sim,
            ..
        } = self;
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(crate::signal::shutdown())
        .await?;
        tracing::info!("shut down cleanly");
        Ok(())
    }
}

/// The routes with the full middleware stack: what the server runs. Public so tests can
/// drive it without a socket (e.g. with a mocked non-loopback peer).
pub fn app_router(state: AppState, request_timeout: Duration) -> Router {
    let auth = state.auth.clone();
    with_middleware(routes::router(state), auth, request_timeout)
}

/// The one middleware stack, outermost first: the access edge (request id, access log,
/// metrics, sensitive headers), catch-panic, timeout, compression; then access control.
fn with_middleware(router: Router, auth: Arc<Auth>, timeout: Duration) -> Router {
    router
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(auth, auth::authorize))
        .layer(
            ServiceBuilder::new()
                .layer(AccessLayer)
                .layer(CatchPanicLayer::custom(|_| {
                    ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
                }))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::GATEWAY_TIMEOUT,
                    timeout,
                ))
                .layer(CompressionLayer::new().gzip(true)),
        )
}

/// Unknown paths: under `/v2` the upstream answers 403, so the mirror does too.
async fn fallback(req: Request) -> Response {
    if req.uri().path().starts_with("/v2") {
        ApiError::Forbidden("Missing Authentication Token".into()).into_response()
    } else {
        ApiError::NotFound(format!("No route for {}", req.uri().path())).into_response()
    }
}
