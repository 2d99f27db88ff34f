//! The control endpoints tests use, outside `/v2`: they need no key and are not counted.
//! `GET /__sim/stats`, `POST /__sim/reset` (stats, rate windows, lockouts, faults),
//! `POST /__sim/faults` (a [`Faults`] JSON; `{}` or an empty body clears), `GET|POST
//! /__sim/clock` (`{"now": RFC 3339}` and/or `{"advance_secs": n}`), and
//! `GET /__sim/files/...`, the files behind the fake presigned URLs of `/bulk/get` and `/td/*`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::faults::Faults;
use super::reply::message;
use super::state::Shared;
use super::stats::SimStats;
use crate::jst::{self, Clock};

pub(super) async fn stats(State(s): State<Arc<Shared>>) -> Json<SimStats> {
    Json(s.stats().clone())
}

pub(super) async fn reset(State(s): State<Arc<Shared>>) -> StatusCode {
    s.reset();
    StatusCode::NO_CONTENT
}

pub(super) async fn faults(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let f: Faults = if body.iter().all(|b| b.is_ascii_whitespace()) {
        Faults::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(f) => f,
            Err(e) => return message(StatusCode::BAD_REQUEST, &format!("invalid faults: {e}")),
        }
    };
    s.faults().set(f);
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

pub(super) async fn clock_get(State(s): State<Arc<Shared>>) -> Json<serde_json::Value> {
    clock_body(&s.cfg.clock)
}

/// Lets out-of-process tests (the CLI binary) move the data clock like in-process ones do.
pub(super) async fn clock_set(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
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
pub(super) async fn file(axum::extract::Path(key): axum::extract::Path<String>) -> Response {
    let csv = format!("Key,Note\n{key},simulated bulk file\n");
    if key.ends_with(".gz") {
        let body = crate::gzip::compress(csv.as_bytes());
        ([(header::CONTENT_TYPE, "application/gzip")], body).into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/octet-stream")], csv).into_response()
    }
}
