//! The upstream client: the only code that talks to the J-Quants API.
//!
//! Every call goes through one tower stack shared by the whole process, so the plan's rate
//! limit (and the 60/min statements cap) holds for all requests together: a 429 costs a
//! minute of cool-down and repeated excess locks the key, which is far worse than queueing.
//! Stack, outermost first: retry (429 cool-down, backoff for 5xx and connection errors) ->
//! rate limit (every attempt, fair across clients, GCRA with burst 1, shared by replicas
//! through Postgres when attached) -> per-attempt timeout -> reqwest
//! (pooled connections, gzip). The API key lives in a `SecretString` and a sensitive header
//! value; it is never logged, printed by `Debug`, or returned.
//!
//! The upstream's rules this follows (per-plan limits, no `Retry-After` on a 429, lock-out on
//! sustained excess, `pagination_key` paging) are in docs/upstream.md, "Rate limits" and
//! "Paging".
//!
//! Invariants: every attempt, retries included, holds a limiter slot; no request path panics
//! on a lock (the limiter's and the fair queue's locks are `parking_lot`'s, which a panic
//! cannot poison); a page loop ends, since a repeated `pagination_key` is an error.

pub mod fair;
mod limiter;
mod service;
mod shared;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::http::{HeaderValue, StatusCode};
use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};

use crate::catalog::{FINS_PER_MINUTE, Plan, RateGroup};
use crate::error::ApiError;
use crate::request::CanonicalRequest;

pub use fair::ClientQueueStats;
use limiter::Limiter;
pub use limiter::LimiterStats;
use service::{HttpService, RetryPolicy};
use shared::SharedBudget;

pub const DEFAULT_BASE_URL: &str = "https://api.jquants.com/v2";

/// How often a request is retried after a 429 before giving up with `RateLimited`.
const MAX_429_RETRIES: usize = 2;

/// The upstream client's settings. [`Default`] holds the production value of each, once;
/// `serve` maps its flags onto it, tests and benchmarks override fields.
#[derive(Clone, Debug)]
pub struct UpstreamConfig {
    /// e.g. `https://api.jquants.com/v2` (a trailing slash is removed).
    pub base_url: String,
    /// The subscription key. `None`: there is none, so `serve` runs in demo mode and fills in
    /// its simulator's key; [`Upstream::new`] refuses to start without one.
    pub api_key: Option<SecretString>,
    pub plan: Plan,
    /// The upstream's rate-limit window, 60 s; tests, benchmarks and the simulator shrink it.
    pub rate_window: Duration,
    /// Emission interval = `rate_window / limit * (1 + safety_margin)`.
    pub safety_margin: f64,
    /// Per HTTP attempt, body included.
    pub request_timeout: Duration,
    /// Longest wait for a limiter slot before `UpstreamError::QueueTimeout`. It outlives the
    /// client's bounded wait (`sharing.max_wait`), so a fetch keeps its place in the queue and
    /// its answer still lands in the cache for the client's retry.
    pub queue_timeout: Duration,
    pub cooldown_after_429: Duration,
    /// For 5xx and connection errors.
    pub max_retries: usize,
    /// First backoff delay; doubles per retry, with jitter.
    pub retry_base_delay: Duration,
    pub sharing: SharingConfig,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.into(),
            api_key: None,
            plan: Plan::Free,
            rate_window: Duration::from_secs(60),
            safety_margin: 0.05,
            request_timeout: Duration::from_secs(60),
            queue_timeout: Duration::from_secs(600),
            cooldown_after_429: Duration::from_secs(60),
            max_retries: 3,
            retry_base_delay: Duration::from_millis(500),
            sharing: SharingConfig::default(),
        }
    }
}

/// How one subscription is shared between client apps and between proxy replicas.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct SharingConfig {
    /// Longest a client waits for an upstream answer, in seconds, before `429` with
    /// `Retry-After` (the fetch keeps its place, so the retry is a hit). Below the official
    /// client's 30 s read timeout.
    #[arg(
        long = "max-wait-secs",
        env = "JQP_MAX_WAIT_SECS",
        default_value_t = SharingConfig::default().max_wait_secs
    )]
    pub max_wait_secs: f64,
    /// Proxy replicas sharing the subscription. Without a reachable Postgres each replica
    /// keeps to 1/N of the plan; with it they share one budget.
    #[arg(long, env = "JQP_REPLICAS", default_value_t = SharingConfig::default().replicas)]
    pub replicas: u32,
    /// Seconds a cross-replica fetch lease lasts unless its holder renews it; the others
    /// wait at most this long for a crashed holder.
    #[arg(
        long = "lease-secs",
        env = "JQP_LEASE_SECS",
        default_value_t = SharingConfig::default().lease_secs
    )]
    pub lease_secs: f64,
}

impl Default for SharingConfig {
    fn default() -> Self {
        Self {
            max_wait_secs: 25.0,
            replicas: 1,
            lease_secs: 10.0,
        }
    }
}

impl SharingConfig {
    pub fn max_wait(&self) -> Duration {
        Duration::from_secs_f64(self.max_wait_secs.max(0.0))
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs_f64(self.lease_secs.max(0.05))
    }
}

impl UpstreamConfig {
    /// The production defaults for this subscription.
    pub fn new(base_url: impl Into<String>, api_key: SecretString, plan: Plan) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: Some(api_key),
            plan,
            ..Self::default()
        }
    }

    /// Shrinks (or stretches) the rate window and the 429 cool-down by the same factor,
    /// for tests, benchmarks and the simulator.
    pub fn with_rate_window(mut self, window: Duration) -> Self {
        let factor = window.as_secs_f64() / self.rate_window.as_secs_f64();
        self.cooldown_after_429 = self.cooldown_after_429.mul_f64(factor);
        self.rate_window = window;
        self
    }
}

/// One upstream call. `query` is already canonical and encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamRequest {
    /// Catalog path, without `/v2`.
    pub path: &'static str,
    /// Canonical query, may include `pagination_key`.
    pub query: String,
    pub group: RateGroup,
    /// The client key whose turn in the fair queue this call takes.
    pub client: Arc<str>,
}

#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    pub status: StatusCode,
    /// Decompressed; for 2xx it has been checked to be complete JSON.
    pub body: Bytes,
    /// The next page's key, read in the same pass that checked the body.
    pub pagination_key: Option<String>,
}

/// `Clone` so one fetch's outcome can be handed to every request that waited on it.
#[derive(thiserror::Error, Debug, Clone)]
pub enum UpstreamError {
    /// 400/403/404/...: not retried; `message` is the upstream's `message` or a fallback.
    #[error("upstream answered {status}: {message}")]
    Status { status: StatusCode, message: String },
    /// Still 429 after the cool-down retries.
    #[error("upstream rate limit (429) persists after cool-down")]
    RateLimited,
    /// Connection errors, timeouts or 5xx after retries. Internal detail, never shown to clients.
    #[error("upstream unavailable: {0}")]
    Unavailable(String),
    /// No limiter slot within `queue_timeout`.
    #[error("no upstream rate-limit slot within the queue timeout")]
    QueueTimeout,
}

impl From<UpstreamError> for ApiError {
    fn from(e: UpstreamError) -> Self {
        match e {
            UpstreamError::Status { status, message } => ApiError::Upstream { status, message },
            UpstreamError::RateLimited => ApiError::Upstream {
                status: StatusCode::TOO_MANY_REQUESTS,
                message: "The upstream J-Quants API is rate limiting this proxy; no cached answer exists. Please try again later.".into(),
            },
            UpstreamError::Unavailable(detail) => ApiError::UpstreamUnavailable(detail),
            UpstreamError::QueueTimeout => ApiError::RateLimitQueue,
        }
    }
}

/// The process-wide upstream client; clones share the connection pool and the limiter.
#[derive(Clone)]
pub struct Upstream {
    svc: BoxCloneSyncService<UpstreamRequest, UpstreamResponse, UpstreamError>,
    limiter: Arc<Limiter>,
    base_url: Arc<str>,
    plan: Plan,
    sharing: SharingConfig,
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("base_url", &self.base_url)
            .field("plan", &self.plan)
            .field("api_key", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl Upstream {
    /// Checks `cfg` and builds the client, its limiter and its tower stack.
    pub fn new(cfg: UpstreamConfig) -> anyhow::Result<Self> {
        let base_url = checked_base_url(&cfg)?;
        let api_key = api_key_header(&cfg)?;
        let http = HttpService {
            client: http_client(cfg.request_timeout)?,
            base_url: base_url.clone(),
            api_key,
        };
        let limiter = Arc::new(Limiter::new(
            cfg.plan.per_minute(),
            FINS_PER_MINUTE,
            cfg.rate_window,
            cfg.safety_margin,
            cfg.queue_timeout,
            cfg.sharing.replicas,
        ));
        let policy = Arc::new(RetryPolicy {
            max_retries: cfg.max_retries,
            base_delay: cfg.retry_base_delay,
            cooldown: cfg.cooldown_after_429,
            max_429_retries: MAX_429_RETRIES,
        });
        let svc = build_stack(http, limiter.clone(), policy, cfg.request_timeout);
        tracing::info!(
            base_url = %base_url,
            plan = cfg.plan.as_str(),
            interval_ms = limiter.plan_interval().as_secs_f64() * 1e3,
            "upstream client ready"
        );
        Ok(Self {
            svc,
            limiter,
            base_url,
            plan: cfg.plan,
            sharing: cfg.sharing,
        })
    }

    pub fn plan(&self) -> Plan {
        self.plan
    }

    /// From now on, takes upstream slots from the budget every replica on `store`'s
    /// Postgres shares (falling back to the local share while it is unreachable).
    pub fn coordinate_through(&self, store: Arc<crate::store::Store>) {
        self.limiter.share(Arc::new(SharedBudget::new(store)));
    }

    pub fn sharing(&self) -> &SharingConfig {
        &self.sharing
    }

    /// What to send as `Retry-After` to `client` whose wait ran out: its turns ahead in
    /// the fair queue at the plan rate, after any cool-down; whole seconds, at least 1.
    pub fn retry_after(&self, client: &str) -> u64 {
        self.limiter
            .estimated_wait(client)
            .as_secs_f64()
            .ceil()
            .max(1.0) as u64
    }

    pub async fn call(&self, req: UpstreamRequest) -> Result<UpstreamResponse, UpstreamError> {
        self.svc.clone().oneshot(req).await
    }

    /// Follows upstream `pagination_key`s (same query + key) and returns every page body in order.
    /// Each page takes a turn of `client` in the fair queue.
    pub async fn fetch_pages(
        &self,
        req: &CanonicalRequest,
        client: &Arc<str>,
    ) -> Result<Vec<Bytes>, UpstreamError> {
        let base_query = req.query_string();
        let mut pages = Vec::new();
        let mut key: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let query = match &key {
                None => base_query.clone(),
                Some(k) => {
                    let k: String = url::form_urlencoded::byte_serialize(k.as_bytes()).collect();
                    if base_query.is_empty() {
                        format!("pagination_key={k}")
                    } else {
                        format!("{base_query}&pagination_key={k}")
                    }
                }
            };
            let resp = self
                .call(UpstreamRequest {
                    path: req.endpoint.path,
                    query,
                    group: req.endpoint.rate_group,
                    client: client.clone(),
                })
                .await?;
            let next = resp.pagination_key;
            pages.push(resp.body);
            match next {
                None => return Ok(pages),
                Some(k) => {
                    // A key seen before would loop forever, spending the rate limit.
                    if !seen.insert(k.clone()) {
                        return Err(UpstreamError::Unavailable(format!(
                            "{}: upstream repeated a pagination_key after {} pages",
                            req.endpoint.path,
                            pages.len()
                        )));
                    }
                    key = Some(k);
                }
            }
        }
    }

    pub fn limiter_stats(&self) -> LimiterStats {
        self.limiter.stats()
    }
}

/// The base URL without its trailing slash, once it and the limiter settings are valid.
fn checked_base_url(cfg: &UpstreamConfig) -> anyhow::Result<Arc<str>> {
    let base_url: Arc<str> = cfg.base_url.trim_end_matches('/').into();
    let parsed = url::Url::parse(&base_url)
        .with_context(|| format!("invalid upstream base URL {base_url:?}"))?;
    anyhow::ensure!(
        matches!(parsed.scheme(), "http" | "https"),
        "upstream base URL must be http(s): {base_url:?}"
    );
    anyhow::ensure!(
        cfg.safety_margin.is_finite() && cfg.safety_margin >= 0.0,
        "safety_margin must be >= 0"
    );
    anyhow::ensure!(!cfg.rate_window.is_zero(), "rate_window must be > 0");
    Ok(base_url)
}

/// The key as an `x-api-key` value marked sensitive, so hyper and `Debug` never print it.
fn api_key_header(cfg: &UpstreamConfig) -> anyhow::Result<HeaderValue> {
    let api_key = cfg
        .api_key
        .as_ref()
        .context("no upstream key (JQUANTS_API_KEY)")?;
    let mut api_key = HeaderValue::from_str(api_key.expose_secret())
        .context("JQUANTS_API_KEY is not a valid header value")?;
    api_key.set_sensitive(true);
    Ok(api_key)
}

/// The pooled reqwest client: gzip, keep-alive, and no redirects.
fn http_client(request_timeout: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("jquants-proxy/", env!("CARGO_PKG_VERSION")))
        .gzip(true)
        .connect_timeout(request_timeout.min(Duration::from_secs(10)))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_keepalive(Duration::from_secs(60))
        // A redirect to another host would carry x-api-key along (reqwest only strips
        // Authorization and cookies); the upstream has no reason to redirect.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the upstream HTTP client")
}

/// The whole stack in one place; retry waits for a limiter slot before every attempt.
fn build_stack(
    http: HttpService,
    limiter: Arc<Limiter>,
    policy: Arc<RetryPolicy>,
    request_timeout: Duration,
) -> BoxCloneSyncService<UpstreamRequest, UpstreamResponse, UpstreamError> {
    let attempt = ServiceBuilder::new()
        .map_err(service::from_box)
        .timeout(request_timeout)
        .service(http);
    BoxCloneSyncService::new(tower::service_fn(move |req| {
        service::retry(attempt.clone(), limiter.clone(), policy.clone(), req)
    }))
}
