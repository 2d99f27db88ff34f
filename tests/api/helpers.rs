//! `spawn_app()`: the real application on port 0, in front of the in-process simulator,
//! with a shared fixed clock and (optionally) its own Postgres schema.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::NaiveDate;
use jquants_proxy::auth::AuthConfig;
use jquants_proxy::cache::CacheConfig;
use jquants_proxy::catalog::Plan;
use jquants_proxy::config::ServeConfig;
use jquants_proxy::http::AppState;
use jquants_proxy::jst::{self, Clock};
use jquants_proxy::sim::{self, SimConfig, SimHandle};
use jquants_proxy::startup::Application;
use jquants_proxy::upstream::UpstreamConfig;
use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;

pub const SIM_KEY: &str = "sim-test-key";

/// Friday 2026-11-20, 20:00 JST: after the day's close, before the weekend.
pub fn default_now() -> chrono::DateTime<chrono::Utc> {
    jst::at(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(), 20, 0)
}

pub struct Options {
    pub plan: Plan,
    pub sim_page_bytes: usize,
    pub sim_latency: Duration,
    pub max_page_bytes: usize,
    pub database: bool,
    pub client_keys: Vec<(String, String)>,
    pub admin_key: Option<String>,
    pub upstream_key: String,
    pub rate_window: Duration,
    pub issues: usize,
    pub client_quota: u32,
    /// Bounded wait, replicas and lease length.
    pub sharing: jquants_proxy::upstream::SharingConfig,
    /// How long a market-wide derived request waits before a 202. Long by default, so tests
    /// of what the routes compute get the table; the tests of the 202 set it.
    pub derived_wait: Duration,
    /// Whether derived inputs and the row store may come from bulk files.
    pub bulk_ingest: bool,
    /// The simulator's bulk CSV spells whole numbers without `.0` (its JSON has it).
    pub bulk_bare_integers: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            plan: Plan::Premium,
            sim_page_bytes: SimConfig::default().page_bytes,
            sim_latency: Duration::ZERO,
            max_page_bytes: CacheConfig::default().max_page_bytes,
            database: false,
            client_keys: vec![],
            admin_key: Some("admin-test-key".into()),
            upstream_key: SIM_KEY.into(),
            rate_window: UpstreamConfig::default().rate_window,
            issues: 300,
            client_quota: 0,
            sharing: Default::default(),
            derived_wait: Duration::from_secs(240),
            bulk_ingest: true,
            bulk_bare_integers: false,
        }
    }
}

impl Options {
    /// The row store on its own: without bulk files, which would hold whole months at once
    /// (`tests/api/bulk_history.rs`).
    pub fn row_store_alone() -> Options {
        Options {
            bulk_ingest: false,
            ..Options::default()
        }
    }
}

pub struct TestApp {
    pub url: String,
    pub sim: SimHandle,
    pub clock: Clock,
    pub http: reqwest::Client,
    pub state: AppState,
    pub db: Option<PgConnectOptions>,
}

impl TestApp {
    pub async fn get(&self, path_and_query: &str) -> reqwest::Response {
        self.request(path_and_query).send().await.expect("request")
    }

    /// A GET to the proxy with one more header (a client key, a request id, ...).
    pub async fn get_with(
        &self,
        path_and_query: &str,
        name: &str,
        value: &str,
    ) -> reqwest::Response {
        let r = self.request(path_and_query).header(name, value);
        r.send().await.expect("request")
    }

    fn request(&self, path_and_query: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{}", self.url, path_and_query))
    }

    /// A POST of a JSON body to the proxy.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        let r = self.http.post(format!("{}{}", self.url, path)).json(body);
        r.send().await.expect("request")
    }

    /// [`TestApp::get`]'s body as JSON.
    pub async fn get_json(&self, path_and_query: &str) -> serde_json::Value {
        let r = self.get(path_and_query).await;
        r.json().await.expect("JSON body")
    }

    /// [`TestApp::direct`]'s body as JSON.
    pub async fn direct_json(&self, path_and_query: &str) -> serde_json::Value {
        let r = self.direct(path_and_query).await;
        r.json().await.expect("JSON body")
    }

    /// The same request straight to the simulator.
    pub async fn direct(&self, path_and_query: &str) -> reqwest::Response {
        let base = self.sim.base_url();
        self.http
            .get(format!(
                "{}{}",
                base,
                path_and_query.trim_start_matches("/v2")
            ))
            .header("x-api-key", SIM_KEY)
            .send()
            .await
            .expect("direct request")
    }

    pub fn upstream_calls(&self) -> u64 {
        self.sim.stats().total
    }

    pub fn calls_to(&self, path: &str) -> u64 {
        self.sim.stats().by_path.get(path).copied().unwrap_or(0)
    }

    /// Has the simulator replace bulk file `key` in place (its `LastModified` moves): the
    /// simulator's answer, the file's new listing row.
    pub async fn correct_bulk_file(&self, key: &str) -> reqwest::Response {
        let origin = self.sim.base_url();
        let origin = origin.trim_end_matches("/v2");
        self.http
            .post(format!("{origin}/__sim/bulk/correct"))
            .json(&serde_json::json!({ "key": key }))
            .send()
            .await
            .expect("simulator control request")
    }
}

/// GETs `url` asking for gzip, checks the answer is gzip-encoded, and returns it decompressed.
pub async fn get_gunzipped(http: &reqwest::Client, url: &str) -> Vec<u8> {
    let r = http
        .get(url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("request");
    assert_eq!(r.headers()["content-encoding"], "gzip", "{url}");
    let gz = r.bytes().await.expect("body");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain)
        .expect("valid gzip");
    plain
}

/// A fresh schema in the test database, so tests never see each other's rows.
pub async fn fresh_schema() -> PgConnectOptions {
    let url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let base: PgConnectOptions = url.parse().expect("TEST_DATABASE_URL");
    let schema = format!("t_{:016x}", rand_u64());
    let mut conn = sqlx::ConnectOptions::connect(&base)
        .await
        .expect("connect to the test database");
    sqlx::Executor::execute(&mut conn, format!("CREATE SCHEMA {schema}").as_str())
        .await
        .expect("create schema");
    base.options([("search_path", schema.as_str())])
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

pub async fn spawn_sim(opts: &Options, clock: &Clock) -> SimHandle {
    let mut cfg = SimConfig::new(SIM_KEY);
    cfg.plan = opts.plan;
    cfg.issues = opts.issues;
    cfg.page_bytes = opts.sim_page_bytes;
    cfg.latency = opts.sim_latency;
    cfg.rate_window = opts.rate_window;
    cfg.bulk_bare_integers = opts.bulk_bare_integers;
    cfg.clock = clock.clone();
    sim::spawn(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts")
}

pub fn serve_config(
    opts: &Options,
    sim: &SimHandle,
    clock: &Clock,
    db: Option<PgConnectOptions>,
) -> ServeConfig {
    let mut cfg = ServeConfig::new("127.0.0.1:0".parse::<SocketAddr>().unwrap());
    cfg.upstream = UpstreamConfig {
        base_url: sim.base_url(),
        api_key: Some(SecretString::from(opts.upstream_key.clone())),
        plan: opts.plan,
        rate_window: opts.rate_window,
        cooldown_after_429: opts.rate_window,
        queue_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(10),
        retry_base_delay: Duration::from_millis(20),
        max_retries: 2,
        sharing: opts.sharing.clone(),
        ..Default::default()
    };
    cfg.database = db;
    cfg.cache.max_page_bytes = opts.max_page_bytes;
    cfg.auth = AuthConfig {
        client_keys: opts
            .client_keys
            .iter()
            .map(|(n, k)| (n.clone(), SecretString::from(k.clone())))
            .collect(),
        admin_key: opts.admin_key.clone().map(SecretString::from),
        client_quota_per_minute: opts.client_quota,
        ..Default::default()
    };
    cfg.market.wait = opts.derived_wait;
    cfg.bulk.ingest = opts.bulk_ingest;
    // Each app its own file directory: two simulators may give one key different contents.
    cfg.bulk.dir = std::env::temp_dir().join(format!("jqp-test-bulk-{}", uuid::Uuid::new_v4()));
    cfg.clock = clock.clone();
    cfg
}

pub async fn start(cfg: ServeConfig) -> (String, AppState) {
    let app = Application::build(cfg).await.expect("app builds");
    let url = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    (url, state)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(opts: Options) -> TestApp {
    let clock = Clock::fixed(default_now());
    let sim = spawn_sim(&opts, &clock).await;
    let db = if opts.database {
        Some(fresh_schema().await)
    } else {
        None
    };
    let (url, state) = start(serve_config(&opts, &sim, &clock, db.clone())).await;
    TestApp {
        url,
        sim,
        clock,
        http: reqwest::Client::builder().no_gzip().build().unwrap(),
        state,
        db,
    }
}

/// Captures every log line of this test process (debug level, all tests) so a test can
/// check what was logged. Returns a reader of everything captured so far.
pub fn log_buffer() -> impl Fn() -> String {
    use std::sync::{Arc, Mutex, OnceLock};
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    let buf = BUF
        .get_or_init(|| {
            let buf = Arc::new(Mutex::new(Vec::new()));
            let writer = buf.clone();
            let _ = tracing_subscriber::fmt()
                .with_env_filter("debug")
                .with_writer(move || SharedWriter(writer.clone()))
                .with_ansi(false)
                .try_init();
            buf
        })
        .clone();
    move || String::from_utf8_lossy(&buf.lock().unwrap()).into_owned()
}

struct SharedWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A TCP relay to Postgres that the test can cut, to stop "Postgres" mid-run without
/// touching the machine's cluster.
pub struct Relay {
    pub port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    pub async fn start() -> Relay {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> =
            Default::default();
        let (u, c) = (up.clone(), conns.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !u.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused-ish
                }
                c.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                }));
            }
        });
        Relay { port, up, conns }
    }

    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `n` distinct daily-bar requests (`/v2/equities/bars/daily?code=..&date=..`): every issue
/// `sim` lists, on each of `dates` in turn.
pub async fn distinct_bar_paths(sim: &SimHandle, dates: &[&str], n: usize) -> Vec<String> {
    let master: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/equities/master", sim.base_url()))
        .header("x-api-key", SIM_KEY)
        .send()
        .await
        .expect("simulator request")
        .json()
        .await
        .expect("JSON body");
    let codes: Vec<String> = master["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Code"].as_str().unwrap().to_string())
        .collect();
    let paths: Vec<String> = dates
        .iter()
        .flat_map(|d| {
            codes
                .iter()
                .map(move |c| format!("/v2/equities/bars/daily?code={c}&date={d}"))
        })
        .take(n)
        .collect();
    assert_eq!(paths.len(), n, "not enough distinct requests");
    paths
}

/// The body of `GET url` as text (e.g. `/metrics`).
pub async fn get_text(http: &reqwest::Client, url: &str) -> String {
    let r = http.get(url).send().await.expect("request");
    r.text().await.expect("text body")
}
