//! The per-request edge of the service as one middleware: the request id, the access log
//! line, the request metrics and the marking of credential headers.
//!
//! Invariants:
//! - Every response carries `X-Request-Id`: the caller's own when it sent one, otherwise a
//!   generated one; the request seen by inner layers carries the same id.
//! - Exactly one access line per request ([`access_line`]); every other line logged while
//!   serving is inside the `request` span, whose fields are the request id and the client
//!   (filled in by `auth`, which also puts the [`Client`] on the response for the line).
//! - `x-api-key`, `Authorization` and `Cookie` are marked sensitive before any inner layer sees
//!   them, so no `Debug` of the headers prints a key.
//!
//! One middleware rather than five generic layers (sensitive headers, set and propagate
//! request id, trace, metrics): one boxed future per request instead of five wrappers, no span
//! fields formatted that the line repeats, a request id without a random draw or `Display`,
//! and the response body passed through untouched (tower-http's trace layer wraps it to enter
//! its span on every chunk).

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Response, header};
use tower::{Layer, Service};
use tracing::Instrument;

use super::access_line::{self, AccessRecord};
use crate::auth::Client;

/// The header a caller may set to correlate its request with the proxy's log.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Headers that hold credentials.
const SENSITIVE: [HeaderName; 3] = [
    HeaderName::from_static("x-api-key"),
    header::AUTHORIZATION,
    header::COOKIE,
];

/// The layer; apply it outside everything that can answer (catch-panic, timeout), so every
/// response is logged and counted.
#[derive(Clone, Copy, Debug, Default)]
pub struct AccessLayer;

impl<S> Layer<S> for AccessLayer {
    type Service = Access<S>;
    fn layer(&self, inner: S) -> Access<S> {
        Access { inner }
    }
}

#[derive(Clone, Debug)]
pub struct Access<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<Request> for Access<S>
where
    S: Service<Request, Response = Response<B>>,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<B>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let start = Instant::now();
        mark_sensitive(req.headers_mut());
        let id = match req.headers().get(&REQUEST_ID) {
            Some(v) => v.clone(),
            None => {
                let id = next_request_id();
                req.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        let span = tracing::info_span!(
            "request",
            request_id = id.to_str().unwrap_or("-"),
            client = tracing::field::Empty,
        );
        let line = Line::of(&req);
        let fut = self.inner.call(req).instrument(span.clone());
        Box::pin(async move {
            let mut resp = fut.await?;
            mark_sensitive(resp.headers_mut());
            line.finish(&resp, start, &id, &span);
            resp.headers_mut().insert(REQUEST_ID, id);
            Ok(resp)
        })
    }
}

/// What the access line and the metrics need from the request, taken before it moves on.
struct Line {
    method: axum::http::Method,
    uri: axum::http::Uri,
    route: Option<MatchedPath>,
}

impl Line {
    fn of(req: &Request) -> Line {
        Line {
            method: req.method().clone(),
            uri: req.uri().clone(),
            route: req.extensions().get::<MatchedPath>().cloned(),
        }
    }

    fn finish<B>(self, resp: &Response<B>, start: Instant, id: &HeaderValue, span: &tracing::Span) {
        let route = self.route.as_ref().map_or("unmatched", MatchedPath::as_str);
        let rec = AccessRecord {
            method: &self.method,
            uri: &self.uri,
            status: resp.status(),
            cache: x_cache(resp.headers()),
            elapsed: start.elapsed(),
            request_id: id,
            client: resp.extensions().get::<Client>(),
        };
        finish(route, &rec, Some(span));
    }
}

/// The end of every request, whichever path served it: its metrics and its access line.
pub fn finish(route: &str, rec: &AccessRecord<'_>, span: Option<&tracing::Span>) {
    super::record_request(route, rec.method, rec.status, rec.cache, rec.elapsed);
    access_line::emit(rec, span);
}

/// The response's `X-Cache`, `-` for answers that are not cached ones.
pub fn x_cache(headers: &HeaderMap) -> &str {
    headers
        .get("x-cache")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
}

/// The caller's request id, or a fresh one.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(&REQUEST_ID)
        .cloned()
        .unwrap_or_else(next_request_id)
}

fn mark_sensitive(headers: &mut HeaderMap) {
    for name in SENSITIVE {
        if let header::Entry::Occupied(mut e) = headers.entry(name) {
            for v in e.iter_mut() {
                v.set_sensitive(true);
            }
        }
    }
}

/// A fresh request id in UUID form (36 characters): a random 64-bit prefix drawn once per
/// process, then a counter. Unique within a process, and across processes with
/// overwhelming probability; unlike a v4 UUID it costs no random draw per request.
pub fn next_request_id() -> HeaderValue {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let text = uuid::Uuid::from_u64_pair(prefix, n)
        .hyphenated()
        .encode_lower(&mut buf);
    HeaderValue::from_str(text).expect("hex digits and hyphens")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uuid_shaped_and_distinct() {
        let a = next_request_id();
        let b = next_request_id();
        assert_eq!(a.len(), 36);
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(a.to_str().unwrap()).is_ok());
    }
}
