//! The `/v2` API: every catalog endpoint, answered as the upstream answers it
//! (`docs/upstream.md`). A request is counted, delayed or failed by injected faults, then
//! admitted by the upstream's checks in the upstream's order (route, key, rate limit, plan,
//! parameters, history window), and finally generated off the async threads and cut to the
//! requested page. Invariant: every refusal carries the status and `message` the upstream
//! sends for it; parameter rules come from `crate::request`, shared with the proxy.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::Response;

use super::datasets::{self, Ctx, Output};
use super::faults::Action;
use super::limits::Verdict;
use super::paging;
use super::reply::{NO_ROUTE, Refusal, dropped_response, json_response, message};
use super::state::Shared;
use crate::catalog::{self, RateGroup};
use crate::error::INVALID_KEY;

pub(super) async fn handler(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let uri = req.uri().clone();
    let Some(path) = uri.path().strip_prefix("/v2") else {
        return message(StatusCode::FORBIDDEN, NO_ROUTE);
    };
    let path = if path.is_empty() { "/" } else { path };
    let raw_query = uri.query();
    s.stats().count(path, raw_query);
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
        let mut f = s.faults();
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
    let verdict = s
        .limiter()
        .check(per_window, fins, s.cfg.rate_window, s.cfg.lockout);
    if verdict != Verdict::Ok {
        s.stats().rate_limited += 1;
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
    let page_bytes = s.page_bytes();
    let shared = s.clone();
    let corrections = s.corrections().clone();
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
            corrections: &corrections,
            docs: None,
        };
        match datasets::generate(&ctx) {
            Output::Object(o) => Ok(o),
            Output::Rows(rows) => paging::page_body(
                shared.cfg.seed,
                &parsed.request,
                parsed.pagination_key.as_deref(),
                &rows,
                page_bytes,
                now_jst,
            ),
        }
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
