//! Logging (tracing, text or JSON), the process-wide Prometheus recorder, and the metrics
//! every request records.
//!
//! Log lines are formatted on the worker that emits them but written in batches by one
//! background thread ([`batch_writer`]): a slow stdout (a terminal, a pipe to a log shipper)
//! must not hold a request, and a busy proxy must not pay a system call per line. No line is
//! dropped: only when the writer is far behind do emitters wait, as a synchronous writer
//! always would.
//!
//! Per-request metrics go through handles memoised per worker thread by their label values:
//! recording allocates nothing and takes no lock other threads take (the recorder's registry
//! is consulted once per thread and label set). Handles are only memoised once the recorder
//! is installed ([`prometheus`], called before the server starts).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use foldhash::fast::RandomState as FastHash;
use metrics::{Counter, Histogram};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

pub mod access;
pub mod access_line;
pub mod batch_writer;

/// How log lines are written: the telemetry subsystem's one setting (`JQP_LOG_FORMAT`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the global subscriber once; later calls (tests) are no-ops. Keep the guard until
/// exit: dropping it flushes the lines still queued.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(format: LogFormat) -> batch_writer::BatchGuard {
    let (writer, guard) = batch_writer::spawn(std::io::stdout());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour codes only for a terminal: in a file or a log pipeline they are noise, and
    // writing them was a visible share of every logged request.
    let terminal = std::io::stdout().is_terminal();
    if !terminal {
        access_line::install(writer.clone(), format);
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(terminal)
        .with_writer(writer);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    guard
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The metrics facade has one global recorder per process; every app in it (tests start
/// several) shares it.
pub fn prometheus() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let latency_buckets = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            30.0, 60.0,
        ];
        let recorder = PrometheusBuilder::new()
            .set_buckets(&latency_buckets)
            .expect("non-empty buckets")
            .build_recorder();
        let handle = recorder.handle();
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The handles of one route, on one thread.
struct RouteMetrics {
    duration: Histogram,
    /// (method, status, cache) -> requests; a handful per route, so a list.
    requests: Vec<(Method, StatusCode, Box<str>, Counter)>,
}

/// Counts a served request (`jqp_http_requests_total` by route, method, status and `X-Cache`)
/// and records its duration (`jqp_http_request_duration_seconds` by route).
pub fn record_request(
    route: &str,
    method: &Method,
    status: StatusCode,
    cache: &str,
    elapsed: Duration,
) {
    thread_local! {
        static ROUTES: RefCell<HashMap<Box<str>, RouteMetrics, FastHash>> = RefCell::new(HashMap::default());
    }
    if HANDLE.get().is_none() {
        return record_request_unmemoised(route, method, status, cache, elapsed);
    }
    ROUTES.with_borrow_mut(|routes| {
        if !routes.contains_key(route) {
            let duration = metrics::histogram!("jqp_http_request_duration_seconds", "route" => route.to_owned());
            routes.insert(route.into(), RouteMetrics { duration, requests: Vec::new() });
        }
        let r = routes.get_mut(route).expect("inserted above");
        r.duration.record(elapsed.as_secs_f64());
        match r.requests.iter().find(|(m, s, c, _)| m == method && *s == status && **c == *cache) {
            Some((.., counter)) => counter.increment(1),
            None => {
                let counter = request_counter(route, method, status, cache);
                counter.increment(1);
                r.requests.push((method.clone(), status, cache.into(), counter));
            }
        }
    });
}

fn request_counter(route: &str, method: &Method, status: StatusCode, cache: &str) -> Counter {
    let labels = [
        ("route", route.to_owned()),
        ("method", method.to_string()),
        ("status", status.as_str().to_owned()),
        ("cache", cache.to_owned()),
    ];
    metrics::counter!("jqp_http_requests_total", &labels)
}

fn record_request_unmemoised(
    route: &str,
    method: &Method,
    status: StatusCode,
    cache: &str,
    elapsed: Duration,
) {
    request_counter(route, method, status, cache).increment(1);
    metrics::histogram!("jqp_http_request_duration_seconds", "route" => route.to_owned())
        .record(elapsed.as_secs_f64());
}

/// Counts how the cache answered a mirror request (`jqp_cache_results_total`).
pub fn record_cache_result(endpoint: &'static str, result: &'static str) {
    thread_local! {
        static RESULTS: RefCell<HashMap<(&'static str, &'static str), Counter, FastHash>> =
            RefCell::new(HashMap::default());
    }
    let counter =
        || metrics::counter!("jqp_cache_results_total", "endpoint" => endpoint, "result" => result);
    if HANDLE.get().is_none() {
        return counter().increment(1);
    }
    RESULTS.with_borrow_mut(|m| {
        m.entry((endpoint, result))
            .or_insert_with(counter)
            .increment(1)
    });
}
