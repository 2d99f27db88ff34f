//! How the proxy's answers are written: a served mirror answer (headers, gzip, ETag/304),
//! derived rows in the mirror's envelope (paged like the mirror when large), SVG, the
//! margin figures the chart and the page draw, and the upstream's error shape.
//!
//! Invariant: the mirror route and the hit path send a served answer through the one
//! [`respond`], so both answer a request byte for byte and header for header alike.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use chrono::NaiveDate;
use serde::Serialize;

use super::params::Range;
use super::state::AppState;
use crate::cache::Served;
use crate::cache::paging::{self, PageKey};
use crate::derived::margin::MarginRow;
use crate::derived::margin_market::MarketMarginRow;
use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::jst;
use crate::market::jobs::JobProgress;

/// The upstream's error shape, used by every error this service returns.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Human-readable reason. A stable machine-readable code is in the `x-error-code` header.
    pub message: String,
}

/// One application date of the margin chart and page, of one issue or the market, in the
/// rows' own units (the chart and the page scale them). The market's totals are always
/// known; an issue's figures may not be.
pub struct MarginFigures {
    /// Application date, `YYYY-MM-DD`.
    pub date: String,
    pub long_vol: Option<f64>,
    pub shrt_vol: Option<f64>,
    pub long_val: Option<f64>,
    pub shrt_val: Option<f64>,
    pub margin_ratio: Option<f64>,
    pub long_val_to_mkt_cap: Option<f64>,
    /// Market cap ex-treasury, yen.
    pub mkt_cap: Option<f64>,
    pub pl_rate: Option<f64>,
}

impl From<&MarginRow> for MarginFigures {
    fn from(r: &MarginRow) -> Self {
        Self {
            date: r.date.clone(),
            long_vol: r.long_vol,
            shrt_vol: r.shrt_vol,
            long_val: r.long_val,
            shrt_val: r.shrt_val,
            margin_ratio: r.margin_ratio,
            long_val_to_mkt_cap: r.long_val_to_mkt_cap,
            mkt_cap: r.mkt_cap_ex_tr,
            pl_rate: r.pl_rate,
        }
    }
}

impl MarginFigures {
    /// The figures of an issue's rows dated in `[from, to]` (an unreadable date is not).
    pub fn of_issue(rows: &[MarginRow], from: NaiveDate, to: NaiveDate) -> Vec<Self> {
        rows.iter()
            .filter(|r| jst::parse_date(&r.date).is_some_and(|d| d >= from && d <= to))
            .map(Self::from)
            .collect()
    }
}

impl From<&MarketMarginRow> for MarginFigures {
    fn from(r: &MarketMarginRow) -> Self {
        Self {
            date: r.date.clone(),
            long_vol: Some(r.long_vol),
            shrt_vol: Some(r.shrt_vol),
            long_val: Some(r.long_val),
            shrt_val: Some(r.shrt_val),
            margin_ratio: r.margin_ratio,
            long_val_to_mkt_cap: r.long_val_to_mkt_cap,
            mkt_cap: Some(r.mkt_cap_ex_tr),
            pl_rate: r.pl_rate,
        }
    }
}

/// A derived answer that is never paged (a few hundred rows at most).
pub fn json_response<T: Serialize>(st: &AppState, rows: &[T]) -> ApiResult<Response> {
    Ok(json_body(st, answer(rows)?.body))
}

/// A derived answer paged as the mirror pages: the page `key` names, the first without one.
pub fn paged_response<T: Serialize>(
    st: &AppState,
    rows: &[T],
    range: &Range,
    key: Option<&PageKey>,
) -> ApiResult<Response> {
    let merged = answer(rows)?;
    let body = paging::page_of(&merged, st.cache.max_page_bytes(), &range.canonical, key)?;
    Ok(json_body(st, body))
}

/// `rows` in the mirror's `{"data": [...]}` envelope.
fn answer<T: Serialize>(rows: &[T]) -> ApiResult<envelope::Merged> {
    let raw: Vec<Bytes> = rows
        .iter()
        .map(|r| {
            serde_json::to_vec(r)
                .map(Bytes::from)
                .map_err(|e| ApiError::Internal(e.into()))
        })
        .collect::<ApiResult<_>>()?;
    Ok(envelope::from_rows(&raw))
}

fn json_body(st: &AppState, body: Bytes) -> Response {
    st.own_response("application/json", body)
}

/// An SVG chart of `panels`, `width` pixels wide.
pub fn svg_response(
    st: &AppState,
    title: &str,
    panels: &[crate::chart::Panel],
    width: u32,
) -> ApiResult<Response> {
    let svg = crate::chart::render(title, panels, width)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("chart: {e}")))?;
    Ok(st.own_response("image/svg+xml", svg))
}

// Header names built once: `HeaderMap::insert("x-cache", ..)` parses the name on every call.
const X_CACHE: HeaderName = HeaderName::from_static("x-cache");
const X_CACHE_TIER: HeaderName = HeaderName::from_static("x-cache-tier");
const DEMO_MODE: HeaderName = HeaderName::from_static("x-jquants-proxy-mode");

/// The response for a served answer: the stored body (`Bytes`, shared, not copied), in the
/// stored gzip form when the client accepts it.
pub fn respond(st: &AppState, served: &Served, page: usize, headers: &HeaderMap) -> Response {
    let e = &served.entry;
    let (body, gz, etag) = match &e.pages {
        Some(pages) => {
            let p = &pages[page];
            let etag = format!("\"{}-p{page}\"", e.etag.trim_matches('"'));
            (&p.body, &p.gzip, HeaderValue::try_from(etag).ok())
        }
        None => (&e.merged.body, &e.gzip, e.etag_header.clone()),
    };
    let now = st.cache.clock().now();
    let max_age = (e.fresh_until - now).num_seconds().max(0);
    let age = (now - e.fetched_at).num_seconds().max(0);
    let mut h = HeaderMap::with_capacity(12);
    h.insert(X_CACHE, HeaderValue::from_static(served.status.as_str()));
    h.insert(X_CACHE_TIER, HeaderValue::from_static(served.tier.as_str()));
    h.insert(header::AGE, HeaderValue::from(age));
    h.insert(header::CACHE_CONTROL, cache_control(max_age));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(v) = &etag {
        h.insert(header::ETAG, v.clone());
    }
    if st.demo {
        h.insert(DEMO_MODE, HeaderValue::from_static("demo"));
    }
    crate::telemetry::record_cache_result(e.endpoint.path, served.status.as_str());
    let not_modified = etag.as_ref().is_some_and(|etag| {
        headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .any(|t| t.trim().as_bytes() == etag.as_bytes() || t.trim() == "*")
            })
    });
    let (status, body) = if not_modified {
        (StatusCode::NOT_MODIFIED, Body::empty())
    } else {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if !gz.is_empty() && crate::gzip::accepted(headers) {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (StatusCode::OK, Body::from(gz.clone()))
        } else {
            (StatusCode::OK, Body::from(body.clone()))
        }
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    *resp.headers_mut() = h;
    resp
}

/// `private, max-age=N`, formatted on the stack: one of the headers of every hit.
fn cache_control(max_age: i64) -> HeaderValue {
    const PREFIX: &[u8] = b"private, max-age=";
    let mut buf = [0u8; PREFIX.len() + 20];
    buf[..PREFIX.len()].copy_from_slice(PREFIX);
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(max_age).as_bytes();
    let len = PREFIX.len() + digits.len();
    buf[PREFIX.len()..len].copy_from_slice(digits);
    HeaderValue::from_bytes(&buf[..len]).expect("ascii digits")
}

/// What a request for long work gets while the work runs (202): the upstream's error shape
/// (`message`) plus the job's progress.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PendingBody {
    /// What is being prepared and how far it is, in words; ask again after `Retry-After`.
    pub message: String,
    /// How far the job is: reads done and needed, and the estimated seconds left.
    pub progress: JobProgress,
}

/// Seconds a client is asked to wait before it asks again: the estimate, within bounds that
/// keep a page's progress moving and a client from polling in a loop.
pub fn retry_after(p: &JobProgress) -> u64 {
    p.eta_seconds.clamp(2, 30)
}

/// The 202 of a request whose work runs on: `Retry-After`, and the progress as JSON.
pub fn pending(st: &AppState, what: &str, progress: JobProgress) -> Response {
    let retry = retry_after(&progress);
    let message = format!(
        "Preparing {what}: {} of {} days read (from bulk files or one call each), about {} s left. The work goes on \
         whether or not you wait; ask again after {retry} s.",
        progress.done, progress.total, progress.eta_seconds
    );
    let body = serde_json::to_vec(&PendingBody { message, progress }).unwrap_or_default();
    let mut resp = st.own_response("application/json", body);
    *resp.status_mut() = StatusCode::ACCEPTED;
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry));
    resp
}

/// Says which `Prefer` preference the answer honoured (RFC 7240 `Preference-Applied`).
pub fn with_preference(mut resp: Response, applied: Option<&str>) -> Response {
    if let Some(v) = applied.and_then(|a| HeaderValue::from_str(a).ok()) {
        resp.headers_mut().insert("preference-applied", v);
    }
    resp
}
