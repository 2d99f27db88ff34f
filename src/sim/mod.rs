//! Offline simulator of the J-Quants API V2, the upstream every other part of the project is
//! tested against. It serves every catalog endpoint at `/v2{path}` from a deterministic
//! synthetic market and reproduces the upstream's protocol (`docs/upstream.md`): key auth, plan
//! restrictions and history windows, parameter rules (`crate::request`, shared with the
//! proxy), byte-based pagination with query-bound keys, gzip on request, per-key rate limits
//! with lockout, and publication times driven by an injectable clock.
//!
//! Control endpoints for tests live outside `/v2`, need no key and are not counted:
//! `GET /__sim/stats`, `POST /__sim/reset` (stats, rate windows, lockouts, faults),
//! `POST /__sim/faults` (a [`Faults`] JSON; `{}` clears), `GET|POST /__sim/clock`
//! (`{"now": RFC 3339}` and/or `{"advance_secs": n}`), and `GET /__sim/files/...` behind the
//! fake presigned URLs of `/bulk/get` and `/td/*`.
//!
//! Layout: `calendar` (trading days), `market` (issues, splits, price model), `datasets`
//! (rows per endpoint), `paging`, `limits`, `faults`, `stats`; this file wires them to HTTP.

pub mod calendar;
pub mod datasets;
pub mod faults;
pub mod limits;
pub mod market;
pub mod paging;
pub mod stats;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;

pub use faults::Faults;
pub use market::{Issue, Market, Split};
pub use stats::SimStats;

use crate::catalog::{self, Plan, RateGroup};
use crate::error::INVALID_KEY;
use crate::jst::{self, Clock};
use datasets::{Ctx, Output};
use faults::{Action, FaultState};
use limits::{Limiter, Verdict};

/// Command-line flags of `jquants-proxy sim`.
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, env = "JQSIM_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// The one API key the simulator accepts (header `x-api-key`).
    #[arg(
        long,
        env = "JQSIM_API_KEY",
        default_value = DEMO_KEY,
        hide_env_values = true
    )]
    pub api_key: String,
    /// Subscription plan of that key: free, light, standard or premium.
    #[arg(long, env = "JQSIM_PLAN", default_value = SimConfig::default().plan.as_str())]
    pub plan: Plan,
    /// Number of listed issues to simulate.
    #[arg(long, env = "JQSIM_ISSUES", default_value_t = SimConfig::default().issues)]
    pub issues: usize,
    /// Seed of the synthetic market.
    #[arg(long, env = "JQSIM_SEED", default_value_t = SimConfig::default().seed)]
    pub seed: u64,
    /// Latency added to every /v2 response, in milliseconds.
    #[arg(long, env = "JQSIM_LATENCY_MS", default_value_t = SimConfig::default().latency.as_millis() as u64)]
    pub latency_ms: u64,
    /// Page size limit in bytes (the upstream cuts at about 5 MB).
    #[arg(long, env = "JQSIM_PAGE_BYTES", default_value_t = SimConfig::default().page_bytes)]
    pub page_bytes: usize,
    /// How long heavy rate-limit excess locks the key out, in seconds.
    #[arg(long, env = "JQSIM_LOCKOUT_SECS", default_value_t = SimConfig::default().lockout.as_secs())]
    pub lockout_secs: u64,
    /// Length of the rate-limit window in milliseconds (a minute upstream).
    #[arg(long, env = "JQSIM_RATE_WINDOW_MS", default_value_t = SimConfig::default().rate_window.as_millis() as u64)]
    pub rate_window_ms: u64,
    /// Pin "now" (RFC 3339, e.g. 2026-11-20T11:00:00Z) instead of following the system
    /// clock; it can be moved later with `POST /__sim/clock`.
    #[arg(long, env = "JQSIM_NOW")]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

/// Settings of one simulator instance.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub api_key: String,
    pub plan: Plan,
    pub issues: usize,
    pub seed: u64,
    pub latency: Duration,
    pub page_bytes: usize,
    pub lockout: Duration,
    pub rate_window: Duration,
    /// What "now" is for data visibility.
    pub clock: Clock,
}

impl SimConfig {
    /// The defaults around `api_key`.
    pub fn new(api_key: impl Into<String>) -> Self {
        SimConfig {
            api_key: api_key.into(),
            ..Self::default()
        }
    }
}

/// The key the simulator accepts unless given one.
const DEMO_KEY: &str = "demo-key";

/// The simulator's defaults, each written once (the `sim` flags show them from here).
impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            api_key: DEMO_KEY.into(),
            plan: Plan::Premium,
            issues: 4000,
            seed: 42,
            latency: Duration::ZERO,
            page_bytes: 5_000_000,
            lockout: Duration::from_secs(300),
            rate_window: Duration::from_secs(60),
            clock: Clock::system(),
        }
    }
}

impl From<SimArgs> for SimConfig {
    fn from(a: SimArgs) -> Self {
        SimConfig {
            api_key: a.api_key,
            plan: a.plan,
            issues: a.issues,
            seed: a.seed,
            latency: Duration::from_millis(a.latency_ms),
            page_bytes: a.page_bytes,
            lockout: Duration::from_secs(a.lockout_secs),
            rate_window: Duration::from_millis(a.rate_window_ms),
            clock: a.now.map(Clock::fixed).unwrap_or_default(),
        }
    }
}

struct Shared {
    /// The settings the simulator was started with. Its `page_bytes` is only the initial
    /// value: read the `page_bytes` atomic, which `set_page_bytes` changes at run time.
    cfg: SimConfig,
    market: Arc<Market>,
    /// Page size limit in bytes, the one source of truth after start-up.
    page_bytes: AtomicUsize,
    stats: Mutex<SimStats>,
    limiter: Mutex<Limiter>,
    faults: Mutex<FaultState>,
}

impl Shared {
    fn reset(&self) {
        *self.stats.lock().expect("stats lock") = SimStats::default();
        *self.limiter.lock().expect("limiter lock") = Limiter::default();
        self.faults
            .lock()
            .expect("faults lock")
            .set(Faults::default());
    }
}

/// A running simulator.
pub struct SimHandle {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT/v2`
    pub fn base_url(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    pub fn stats(&self) -> SimStats {
        self.shared.stats.lock().expect("stats lock").clone()
    }

    /// Clears stats, rate-limit windows, lockouts and faults.
    pub fn reset(&self) {
        self.shared.reset()
    }

    pub fn set_faults(&self, f: Faults) {
        self.shared.faults.lock().expect("faults lock").set(f);
    }

    pub fn market(&self) -> Arc<Market> {
        self.shared.market.clone()
    }

    pub fn clock(&self) -> Clock {
        self.shared.cfg.clock.clone()
    }

    pub fn set_page_bytes(&self, n: usize) {
        self.shared.page_bytes.store(n.max(1), Ordering::Relaxed);
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `listen` (port 0 picks a free port) and serves in a background task.
pub async fn spawn(cfg: SimConfig, listen: SocketAddr) -> anyhow::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        market: Arc::new(Market::new(cfg.seed, cfg.issues)),
        page_bytes: AtomicUsize::new(cfg.page_bytes.max(1)),
        cfg,
        stats: Mutex::default(),
        limiter: Mutex::default(),
        faults: Mutex::default(),
    });
    let app = router(shared.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "simulator server stopped");
        }
    });
    Ok(SimHandle { addr, shared, task })
}

/// `jquants-proxy sim`: serve until ctrl-c or SIGTERM.
pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    let listen = args.listen;
    let cfg = SimConfig::from(args);
    let plan = cfg.plan;
    let h = spawn(cfg, listen).await?;
    tracing::info!(
        "J-Quants simulator listening on http://{}/v2 (plan {}, {} issues)",
        h.addr,
        plan.as_str(),
        h.market().issues.len()
    );
    crate::signal::shutdown().await;
    tracing::info!("simulator shutting down");
    Ok(())
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/__sim/stats", get(stats_handler))
        .route("/__sim/reset", post(reset_handler))
        .route("/__sim/faults", post(faults_handler))
        .route("/__sim/clock", get(clock_get).post(clock_set))
        .route("/__sim/files/{*key}", get(file_handler))
        .fallback(v2_handler)
        .with_state(shared)
}

async fn stats_handler(State(s): State<Arc<Shared>>) -> Json<SimStats> {
    Json(s.stats.lock().expect("stats lock").clone())
}

async fn reset_handler(State(s): State<Arc<Shared>>) -> StatusCode {
    s.reset();
    StatusCode::NO_CONTENT
}

async fn faults_handler(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let f: Faults = if body.iter().all(|b| b.is_ascii_whitespace()) {
        Faults::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(f) => f,
            Err(e) => return message(StatusCode::BAD_REQUEST, &format!("invalid faults: {e}")),
        }
    };
    s.faults.lock().expect("faults lock").set(f);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ClockReq {
    /// Pin "now" at this instant.
    now: Option<chrono::DateTime<chrono::Utc>>,
    /// Then move it by this many seconds (may be negative).
    advance_secs: Option<i64>,
}

fn clock_body(c: &Clock) -> Json<serde_json::Value> {
    let now = c.now();
    Json(serde_json::json!({
        "now": now.to_rfc3339(),
        "now_jst": jst::to_jst(now).format("%Y-%m-%dT%H:%M:%S").to_string(),
    }))
}

async fn clock_get(State(s): State<Arc<Shared>>) -> Json<serde_json::Value> {
    clock_body(&s.cfg.clock)
}

/// Lets out-of-process tests (the CLI binary) move the data clock like in-process ones do.
async fn clock_set(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let req: ClockReq = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return message(
                StatusCode::BAD_REQUEST,
                &format!("invalid clock request: {e}"),
            );
        }
    };
    if let Some(t) = req.now {
        s.cfg.clock.set(t);
    }
    if let Some(secs) = req.advance_secs {
        s.cfg.clock.advance(chrono::Duration::seconds(secs));
    }
    clock_body(&s.cfg.clock).into_response()
}

/// The files behind fake presigned URLs: a tiny gzipped CSV (or zip placeholder).
async fn file_handler(axum::extract::Path(key): axum::extract::Path<String>) -> Response {
    let csv = format!("Key,Note\n{key},simulated bulk file\n");
    if key.ends_with(".gz") {
        let body = crate::gzip::compress(csv.as_bytes());
        ([(header::CONTENT_TYPE, "application/gzip")], body).into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/octet-stream")], csv).into_response()
    }
}

fn message(status: StatusCode, msg: &str) -> Response {
    let body = serde_json::json!({ "message": msg }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The upstream's answer for unknown paths and methods (API Gateway wording).
const NO_ROUTE: &str = "Missing Authentication Token";

async fn v2_handler(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let uri = req.uri().clone();
    let Some(path) = uri.path().strip_prefix("/v2") else {
        return message(StatusCode::FORBIDDEN, NO_ROUTE);
    };
    let path = if path.is_empty() { "/" } else { path };
    let raw_query = uri.query();
    s.stats.lock().expect("stats lock").count(path, raw_query);
    if let Some(faulted) = inject_faults(&s, path).await {
        return faulted;
    }
    let headers = req.headers();
    let now = s.cfg.clock.now();
    let parsed = match admit(&s, req.method(), headers, path, raw_query, now) {
        Ok(p) => p,
        Err((status, msg)) => return message(status, &msg),
    };
    let origin = format!(
        "http://{}",
        headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("127.0.0.1")
    );
    match answer(&s, parsed, origin, now).await {
        Ok(body) => json_response(body, crate::gzip::accepted(headers)),
        Err((status, msg)) => message(status, &msg),
    }
}

/// The configured latency, then the fault injected for `path`, if any.
async fn inject_faults(s: &Shared, path: &str) -> Option<Response> {
    let (action, fault_latency) = {
        let mut f = s.faults.lock().expect("faults lock");
        (f.next(path), f.latency_ms(path))
    };
    let delay = s.cfg.latency + Duration::from_millis(fault_latency);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match action {
        Action::Error(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let msg = if code == 503 {
                "Service Unavailable"
            } else {
                "Internal Server Error"
            };
            Some(message(status, msg))
        }
        Action::Drop => Some(dropped_response()),
        Action::None => None,
    }
}

/// An error answer in the upstream's shape: its status and `message`.
type Refusal = (StatusCode, String);

/// The upstream's checks, in its order: route and method, key, rate limit, plan, parameters,
/// the plan's history window. A refusal is the upstream's answer to it.
fn admit(
    s: &Shared,
    method: &Method,
    headers: &axum::http::HeaderMap,
    path: &str,
    raw_query: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<crate::request::Parsed, Refusal> {
    let endpoint = match catalog::find(path) {
        Some(e) if method == Method::GET => e,
        _ => return Err((StatusCode::FORBIDDEN, NO_ROUTE.into())),
    };
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(s.cfg.api_key.as_str()) {
        return Err((StatusCode::FORBIDDEN, INVALID_KEY.into()));
    }
    let per_window = s.cfg.plan.per_minute();
    let fins = (endpoint.rate_group == RateGroup::Statements).then_some(catalog::FINS_PER_MINUTE);
    let verdict = s.limiter.lock().expect("limiter lock").check(
        per_window,
        fins,
        s.cfg.rate_window,
        s.cfg.lockout,
    );
    if verdict != Verdict::Ok {
        s.stats.lock().expect("stats lock").rate_limited += 1;
        return Err((StatusCode::TOO_MANY_REQUESTS, "Too Many Requests".into()));
    }
    let refused = |e: crate::error::ApiError| (e.status(), e.public_message());
    crate::request::check_plan(endpoint, s.cfg.plan).map_err(refused)?;
    let parsed = crate::request::parse(endpoint, raw_query).map_err(refused)?;
    let today = crate::jst::today(now);
    crate::request::check_history(&parsed.request, s.cfg.plan, today, chrono::Duration::zero())
        .map_err(refused)?;
    Ok(parsed)
}

/// Generates the rows off the async threads and cuts the requested page.
async fn answer(
    s: &Arc<Shared>,
    parsed: crate::request::Parsed,
    origin: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, Refusal> {
    let (now_jst, today) = (crate::jst::to_jst(now), crate::jst::today(now));
    let (lo, hi) = datasets::window(s.cfg.plan, today);
    let page_bytes = s.page_bytes.load(Ordering::Relaxed);
    let shared = s.clone();
    let result = tokio::task::spawn_blocking(move || {
        let ctx = Ctx {
            m: &shared.market,
            req: &parsed.request,
            plan: shared.cfg.plan,
            now,
            now_jst,
            today,
            lo,
            hi,
            origin,
        };
        let out = datasets::generate(&ctx);
        build_body(
            &shared,
            &parsed.request,
            parsed.pagination_key.as_deref(),
            out,
            page_bytes,
            now_jst,
        )
    })
    .await;
    match result {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(msg)) => Err((StatusCode::BAD_REQUEST, msg)),
        Err(e) => {
            tracing::error!(error = %e, "generator panicked");
            Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error".into(),
            ))
        }
    }
}

fn json_response(body: String, gzip: bool) -> Response {
    if gzip {
        let z = crate::gzip::compress(body.as_bytes());
        return (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CONTENT_ENCODING, "gzip"),
            ],
            z,
        )
            .into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A 200 whose body stream fails half-way, so hyper aborts the connection.
fn dropped_response() -> Response {
    let first: Result<Bytes, std::io::Error> = Ok(Bytes::from_static(b"{\"data\":[{\"Date\":\"20"));
    let fail: Result<Bytes, std::io::Error> = Err(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "simulated connection drop",
    ));
    let stream = futures::stream::iter(vec![first, fail]);
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}

fn build_body(
    s: &Shared,
    req: &crate::request::CanonicalRequest,
    key: Option<&str>,
    out: Output,
    page_bytes: usize,
    now_jst: chrono::NaiveDateTime,
) -> Result<String, String> {
    let rows = match out {
        Output::Object(o) => return Ok(o),
        Output::Rows(r) => r,
    };
    let query = req.query_string();
    let seed = s.cfg.seed;
    let start = match key {
        None => 0,
        Some(k) => match paging::decode_key(seed, &query, k) {
            Some(off) if off < rows.len() => off,
            _ => {
                return Err(
                    "Invalid pagination_key. Specify the pagination_key returned for this same query."
                        .into(),
                );
            }
        },
    };
    let starts = paging::page_starts(&rows[start..], page_bytes);
    let end = starts.get(1).map(|e| start + e).unwrap_or(rows.len());
    let mut body =
        String::with_capacity(rows[start..end].iter().map(|r| r.len() + 1).sum::<usize>() + 200);
    body.push_str("{\"data\":[");
    for (i, r) in rows[start..end].iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(r);
    }
    body.push(']');
    if end < rows.len() {
        body.push_str(",\"pagination_key\":");
        datasets::push_str(&mut body, &paging::encode_key(seed, &query, end));
    } else if matches!(req.endpoint.path, "/fins/summary" | "/fins/details") {
        body.push_str(",\"cursor\":");
        datasets::push_str(&mut body, &datasets::fins::cursor_for(now_jst));
    }
    body.push('}');
    Ok(body)
}
