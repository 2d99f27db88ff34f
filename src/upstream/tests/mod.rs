//! Behaviour of the upstream client against a tiny axum server started inside each test:
//! the server records when and what it was asked and answers as the test scripts it.
//!
//! This module holds that server and the helpers every test module shares; the tests are
//! grouped by concept: [`limiter`] (rate limits, queueing), [`retries`] (429 cool-down,
//! backoff, errors), [`paging`] (`pagination_key` loops) and [`client`] (headers, key
//! secrecy, configuration).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use parking_lot::Mutex;
use secrecy::SecretString;

use super::*;
use crate::catalog::{Plan, RateGroup};

mod client;
mod limiter;
mod paging;
mod retries;

const KEY: &str = "test-secret-key-9f8e7d";

#[derive(Clone, Debug)]
struct Hit {
    at: Instant,
    path: String,
    query: String,
    headers: HeaderMap,
}

type Script = Arc<dyn Fn(usize, &Hit) -> Response + Send + Sync>;

struct TestServer {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl TestServer {
    async fn start(script: impl Fn(usize, &Hit) -> Response + Send + Sync + 'static) -> Self {
        let script: Script = Arc::new(script);
        let hits = Arc::new(Mutex::new(Vec::<Hit>::new()));
        let log = hits.clone();
        let app = axum::Router::new().fallback(move |req: Request| {
            let script = script.clone();
            let log = log.clone();
            async move {
                let hit = Hit {
                    at: Instant::now(),
                    path: req.uri().path().to_string(),
                    query: req.uri().query().unwrap_or("").to_string(),
                    headers: req.headers().clone(),
                };
                let n = {
                    let mut l = log.lock();
                    l.push(hit.clone());
                    l.len() - 1
                };
                let mut resp = script(n, &hit);
                // A script asks for a slow answer this way, since it cannot await itself.
                if let Some(ms) = resp.headers_mut().remove("x-test-delay-ms") {
                    let ms: u64 = ms.to_str().unwrap().parse().unwrap();
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                resp
            }
        });
        // Its own runtime, so a script that blocks (or a busy server) cannot stall the
        // client's timers, and the client's load cannot delay the recorded arrivals.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap()
            })
        });
        Self {
            base: format!("http://{addr}/v2"),
            hits,
        }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().clone()
    }
}

fn ok_json() -> Response {
    json(StatusCode::OK, r#"{"data": []}"#)
}

fn json(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn config(base: &str, plan: Plan, window: Duration) -> UpstreamConfig {
    let mut c = UpstreamConfig::new(base, SecretString::from(KEY), plan).with_rate_window(window);
    c.request_timeout = Duration::from_secs(2);
    c.queue_timeout = Duration::from_secs(20);
    c.retry_base_delay = Duration::from_millis(20);
    c
}

/// An upstream on `server` with the Premium plan and a 600 ms rate window.
fn premium(server: &TestServer) -> Upstream {
    Upstream::new(config(
        &server.base,
        Plan::Premium,
        Duration::from_millis(600),
    ))
    .unwrap()
}

/// Starts `req` in the background, so that the test can watch the limiter while it waits.
fn spawn_call(
    up: &Upstream,
    req: UpstreamRequest,
) -> tokio::task::JoinHandle<Result<UpstreamResponse, UpstreamError>> {
    let up = up.clone();
    tokio::spawn(async move { up.call(req).await })
}

fn req(path: &'static str, query: impl Into<String>) -> UpstreamRequest {
    UpstreamRequest {
        path,
        query: query.into(),
        group: RateGroup::Plan,
        client: Arc::from("test"),
    }
}
