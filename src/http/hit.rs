//! The hit path: a mirror request whose whole answer L1 holds fresh is answered at the edge of
//! the service, before the router and its layers, as nginx answers from `proxy_cache` before
//! anything else runs; every other request goes on to the full stack untouched.
//!
//! Invariants:
//! - It answers exactly as the full path would, with the same code: the plan's rules and the
//!   parameters (`AppState::admit`, remembered per request target and day: [`admitted`]),
//!   the client's key and quota (the mirror group's
//!   [`Guard`]), the response (`render::respond`: headers, gzip, ETag/304), the request id,
//!   one access line and the request metrics (`telemetry::access::finish`). The integration
//!   test `a_hit_at_the_edge_answers_as_the_full_stack_does` compares the two.
//! - It never waits and never refuses. Whatever it cannot answer at once from a fresh L1
//!   entry (a miss, an expired or paged answer, a `pagination_key`, a refused key or quota, a
//!   gzip form only the compression layer would make, moka busy) goes to the full path, so
//!   each request is served, counted against its quota and logged exactly once, by one path
//!   (a refusal changes no quota, so the full path checking it again is harmless).
//!
//! Why: the router, the mirror group's auth middleware, catch-panic, timeout, compression and
//! the access span cost several times the instructions of the hit itself; with many
//! connections on few cores, that user time separates this service from a bare hyper server
//! sending the same bodies (docs/benchmarks.md, "Against nginx").

mod admitted;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;
use futures::future::{Either, Ready, ready};
use tower::{Layer, Service};

use super::render::respond;
use super::state::AppState;
use crate::auth::{Access, Guard};
use crate::catalog::{ENDPOINTS, Endpoint};
use crate::jst;
use crate::telemetry::access::{self, REQUEST_ID};
use crate::telemetry::access_line::AccessRecord;
use admitted::Admitted;

/// Puts the hit path in front of a service (the full router).
#[derive(Clone)]
pub struct HitLayer {
    path: Arc<HitPath>,
}

impl HitLayer {
    pub fn new(state: AppState) -> HitLayer {
        let guard = Guard::new(state.auth.clone(), Access::Client);
        // `/bulk/get` answers with the proxy's own link (`crate::bulk`), never the cached
        // upstream URL: it always takes the full path.
        let endpoints = ENDPOINTS
            .iter()
            .filter(|ep| ep.path != crate::bulk::LINKED)
            .map(|ep| (format!("/v2{}", ep.path), ep))
            .collect();
        HitLayer {
            path: Arc::new(HitPath {
                state,
                guard,
                endpoints,
                admitted: Admitted::default(),
            }),
        }
    }
}

impl<S> Layer<S> for HitLayer {
    type Service = Hit<S>;
    fn layer(&self, inner: S) -> Hit<S> {
        Hit {
            path: self.path.clone(),
            inner,
        }
    }
}

struct HitPath {
    state: AppState,
    /// The check the mirror routes' group applies (`http::access`).
    guard: Guard,
    /// Mirror route (`/v2/...`, also the metrics' route label) -> its endpoint.
    endpoints: HashMap<String, &'static Endpoint, foldhash::fast::RandomState>,
    admitted: Admitted,
}

#[derive(Clone)]
pub struct Hit<S> {
    path: Arc<HitPath>,
    inner: S,
}

impl<S> Service<Request> for Hit<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // A panic here must not cost the client its connection: the request goes on to the
        // full stack, whose catch-panic layer answers it (500) if it panics there too.
        let path = &self.path;
        let answer = std::panic::catch_unwind(AssertUnwindSafe(|| path.answer(&req)));
        match answer.ok().flatten() {
            Some(resp) => Either::Left(ready(Ok(resp))),
            None => Either::Right(self.inner.call(req)),
        }
    }
}

impl HitPath {
    /// The response, when this request is a hit the edge can answer; `None` hands it on.
    fn answer(&self, req: &Request) -> Option<Response> {
        let start = Instant::now();
        if req.method() != Method::GET {
            return None;
        }
        let (route, ep) = self.endpoints.get_key_value(req.uri().path())?;
        let target = req.uri().path_and_query()?.as_str();
        let day = jst::today(self.state.cache.clock().now());
        let key = match self.admitted.key(target, day) {
            Some(key) => key,
            None => {
                let parsed = self.state.admit(ep, req.uri().query()).ok()?;
                if parsed.pagination_key.is_some() {
                    return None;
                }
                let key: Arc<str> = parsed.request.key().into();
                self.admitted.remember(target, day, key.clone());
                key
            }
        };
        let entry = self.state.cache.peek_fresh(&key)?;
        let gzip_only_on_the_fly = entry.gzip.is_empty() && crate::gzip::accepted(req.headers());
        if entry.pages.is_some() || gzip_only_on_the_fly {
            return None;
        }
        let ConnectInfo(peer) = *req.extensions().get::<ConnectInfo<SocketAddr>>()?;
        let client = self.guard.admit(req, peer).ok()?;
        let served = self.state.cache.served_from_memory(entry);
        let mut resp = respond(&self.state, &served, 0, req.headers());
        content_length(&mut resp);
        let id = access::request_id(req.headers());
        let rec = AccessRecord {
            method: req.method(),
            uri: req.uri(),
            status: resp.status(),
            cache: served.status.as_str(),
            elapsed: start.elapsed(),
            request_id: &id,
            client: Some(&client),
        };
        access::finish(route, &rec, None);
        resp.headers_mut().insert(REQUEST_ID, id);
        Some(resp)
    }
}

/// `Content-Length` as the router sets it on every response with a known size (a 304's `0`
/// included), so both paths send the same headers.
fn content_length(resp: &mut Response) {
    use axum::body::HttpBody;
    if let Some(n) = resp.body().size_hint().exact() {
        let mut digits = itoa::Buffer::new();
        let v = HeaderValue::from_str(digits.format(n)).expect("digits");
        resp.headers_mut().insert(header::CONTENT_LENGTH, v);
    }
}
