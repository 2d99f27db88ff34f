//! Builds the application: binds the listener first (so tests can use port 0 and read the
//! port back), wires upstream -> cache -> routes, and applies the one middleware stack.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use axum::http::StatusCode;

use axum::ServiceExt as _;
use axum::response::IntoResponse;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tower::{Layer, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::timeout::TimeoutLayer;

use crate::auth::{Auth, AuthConfig};
use crate::bulk::{BulkConfig, BulkFiles, BulkHistory};
use crate::cache::Cache;
use crate::catalog::Plan;
use crate::config::ServeConfig;
use crate::error::ApiError;
use crate::http::hit::HitLayer;
use crate::http::{self, AppState};
use crate::market::{BulkFirst, CacheSource, MarketData};
use crate::rows::Filler;
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
    /// Demo mode's bulk file folder, removed with the app (see [`bulk_dir`]).
    demo_files: Option<RemovedOnDrop>,
}

/// A folder deleted, with its contents, when this is dropped.
struct RemovedOnDrop(PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What signs the proxy's bulk-file links: the subscription key, which every replica shares
/// and no client sees.
fn secret_seed(upstream: &UpstreamConfig) -> Vec<u8> {
    use secrecy::ExposeSecret;
    let key = upstream
        .api_key
        .as_ref()
        .map(|k| k.expose_secret().as_bytes().to_vec());
    key.unwrap_or_default()
}

/// Where bulk files are kept without Postgres: a folder per upstream (base URL and key) under
/// the configured one. File keys and `LastModified` name a file only within one upstream: a
/// simulator names its files as J-Quants does, so a shared folder would let one simulator's
/// files (another market size, another spelling) or a demo's simulated files be read as
/// another upstream's. A demo's key is new each run, so its folder is too.
fn bulk_dir(cfg: &BulkConfig, upstream: &UpstreamConfig) -> PathBuf {
    use sha2::Digest;
    let mut id = sha2::Sha256::new();
    id.update(upstream.base_url.as_bytes());
    id.update(b"\n");
    id.update(secret_seed(upstream));
    let id = hex::encode(id.finalize());
    cfg.dir.join(&id[..16])
}

/// The persistent tier, if configured (never in demo mode).
async fn store(cfg: &ServeConfig, demo: bool) -> anyhow::Result<Option<Arc<Store>>> {
    Ok(match &cfg.database {
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
    })
}

impl Application {
    pub async fn build(cfg: ServeConfig) -> anyhow::Result<Application> {
        // Bind before anything slow so a port conflict fails fast and port 0 is known early.
        let listener = TcpListener::bind(cfg.listen).await?;
        // Metrics recorded before the recorder exists are lost: install it first.
        crate::telemetry::prometheus();
        let (upstream_cfg, demo_sim) = match &cfg.upstream.api_key {
            Some(_) => (cfg.upstream.clone(), None),
            None => {
                let (upstream_cfg, handle) = demo_upstream(&cfg).await?;
                (upstream_cfg, Some(handle))
            }
        };
        let demo = demo_sim.is_some();
        let plan = upstream_cfg.plan;
        let auth = Arc::new(access(&cfg, &upstream_cfg, demo)?);
        let upstream = Upstream::new(upstream_cfg.clone())?;
        let store = store(&cfg, demo).await?;
        if let Some(store) = &store {
            upstream.coordinate_through(store.clone());
        }
        let cache = Cache::new(upstream, store, cfg.clock.clone(), cfg.cache.clone());
        crate::sync::spawn_schedule(cache.clone(), &cfg.sync)?;
        let seed = secret_seed(&upstream_cfg);
        let bulk_cfg = BulkConfig {
            dir: bulk_dir(&cfg.bulk, &upstream_cfg),
            ..cfg.bulk.clone()
        };
        // Nothing reads a demo's folder after it stops.
        let demo_files = demo.then(|| RemovedOnDrop(bulk_cfg.dir.clone()));
        let bulk = Arc::new(BulkFiles::new(cache.clone(), &seed, &bulk_cfg)?);
        let history = Arc::new(BulkHistory::new(
            bulk.clone(),
            cache.rows().clone(),
            &bulk_cfg,
        ));
        let filler: Arc<dyn Filler> = history.clone();
        cache.rows().set_filler(Arc::downgrade(&filler));
        let source = Arc::new(BulkFirst {
            bulk: history.clone(),
            cache: CacheSource(cache.clone()),
        });
        let market = MarketData::new(source, &upstream_cfg, cfg.clock.clone(), cfg.market.clone());
        let state = AppState {
            cache,
            market: Arc::new(market),
            bulk,
            history,
            auth: auth.clone(),
            http: cfg.http.clone(),
            demo,
            plan,
        };
        let router = app_router(state.clone(), cfg.http.request_timeout);
        tracing::info!(addr = %listener.local_addr()?, plan = plan.as_str(), demo, "jquants-proxy listening");
        Ok(Application {
            listener,
            router,
            state,
            demo_sim,
            demo_files,
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
        // Holding `_demo_sim` keeps the in-process simulator serving until shutdown, and
        // `_demo_files` the demo's bulk files.
        let Application {
            listener,
            router,
            state,
            demo_sim: _demo_sim,
            demo_files: _demo_files,
        } = self;
        // Hits L1 holds are answered before the router (`http::hit`).
        let service = HitLayer::new(state).layer(router);
        axum::serve(
            listener,
            service.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(crate::signal::shutdown())
        .await?;
        tracing::info!("shut down cleanly");
        Ok(())
    }
}

/// Demo mode's rate-limit window. The plan's call counts per window are kept, so pacing, fair
/// shares and `Retry-After` behave as they do against J-Quants; the window is a tenth of the
/// real 60 s because the upstream is an in-process simulator whose quota protects nobody, and
/// the first visit to `/margin` (about 180 statement cross-sections at 60 a window) would
/// otherwise take three minutes.
const DEMO_RATE_WINDOW: Duration = Duration::from_secs(6);

/// Demo mode: the in-process simulator (Premium, on the app's clock, [`DEMO_RATE_WINDOW`]) as
/// the upstream, with every other upstream setting as configured.
async fn demo_upstream(cfg: &ServeConfig) -> anyhow::Result<(UpstreamConfig, sim::SimHandle)> {
    let key = format!("demo-{}", uuid::Uuid::new_v4().simple());
    let mut sim_cfg = sim::SimConfig::new(key.clone());
    sim_cfg.plan = Plan::Premium;
    sim_cfg.clock = cfg.clock.clone();
    sim_cfg.rate_window = DEMO_RATE_WINDOW;
    let handle = sim::spawn(sim_cfg, "127.0.0.1:0".parse()?).await?;
    tracing::warn!(
        simulator = %handle.base_url(),
        "DEMO MODE: no JQUANTS_API_KEY set; serving SIMULATED data from the built-in J-Quants simulator (responses carry x-jquants-proxy-mode: demo)"
    );
    let upstream = UpstreamConfig {
        base_url: handle.base_url(),
        api_key: Some(SecretString::from(key)),
        plan: Plan::Premium,
        rate_window: DEMO_RATE_WINDOW,
        ..cfg.upstream.clone()
    };
    Ok((upstream, handle))
}

/// Access control as configured. Demo mode serves everyone (its data is simulated, nobody's
/// licence) and has no subscription key to refuse.
fn access(cfg: &ServeConfig, upstream: &UpstreamConfig, demo: bool) -> anyhow::Result<Auth> {
    if demo {
        return Ok(Auth::new(&AuthConfig {
            allow_anonymous: true,
            ..cfg.auth.clone()
        }));
    }
    if cfg.auth.client_keys.is_empty() {
        if cfg.auth.allow_anonymous {
            tracing::warn!(
                "no client keys and anonymous access allowed: anyone who can reach this port reads licensed data"
            );
        } else {
            tracing::info!("no client keys configured: only loopback clients are served");
        }
    }
    let auth = Auth::new(&cfg.auth);
    match &upstream.api_key {
        Some(key) => auth.refusing(key),
        None => Ok(auth),
    }
}

/// The routes with the full middleware stack: what the server runs. Public so tests can
/// drive it without a socket (e.g. with a mocked non-loopback peer).
pub fn app_router(state: AppState, request_timeout: Duration) -> Router {
    with_middleware(http::router(state), request_timeout)
}

/// The one middleware stack, outermost first: the access edge (request id, access log,
/// metrics, sensitive headers), catch-panic, timeout, compression. Access control is not
/// here: each group of routes carries its own (`http::access`).
fn with_middleware(router: Router, timeout: Duration) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(AccessLayer)
            .layer(CatchPanicLayer::custom(|_| {
                ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
            }))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::GATEWAY_TIMEOUT,
                timeout,
            ))
            // A bulk file is a gzip file already: compressing it again only costs CPU.
            .layer(CompressionLayer::new().gzip(true).compress_when(
                DefaultPredicate::new().and(NotForContentType::const_new("application/gzip")),
            )),
    )
}
