//! The control endpoints tests use, outside `/v2`: they need no key and are not counted.
//! `GET /__sim/stats`, `POST /__sim/reset` (stats, rate windows, lockouts, faults),
//! `POST /__sim/faults` (a [`Faults`] JSON; `{}` or an empty body clears), `GET|POST
//! /__sim/clock` (`{"now": RFC 3339}` and/or `{"advance_secs": n}`), and
//! `GET /__sim/files/...`, the files behind the fake presigned URLs of `/bulk/get` and `/td/*`
//! (no key either; counted apart as downloads), and `POST /__sim/bulk/correct`
//! (`{"key": ...}`: that bulk file is replaced in place).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::config::SimConfig;
use super::csv::Spelling;
use super::datasets::{Correction, fmt_time};
use super::faults::Faults;
use super::files;
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

/// The files behind the fake presigned URLs: bulk files (see `files`), and for `td/` keys
/// (the TDnet add-on) a tiny placeholder. Served files are counted apart from API calls.
pub(super) async fn file(
    State(s): State<Arc<Shared>>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if key.starts_with("td/") {
        s.stats().count_download(&key);
        return td_placeholder(&key);
    }
    let now = s.cfg.clock.now();
    let found = files::check_link(s.cfg.seed, &key, query.as_deref().unwrap_or(""), now)
        .and_then(|()| files::find(&key, s.cfg.plan, now));
    let file = match found {
        Ok(f) => f,
        Err((status, xml)) => return host_error(status, xml),
    };
    let corrections = s.corrections().clone();
    let (truncate, drop_column) = {
        let mut f = s.faults();
        (f.take_truncation(), f.faults.drop_column.clone())
    };
    let shared = s.clone();
    let built = tokio::task::spawn_blocking(move || {
        let src = files::Source {
            market: &shared.market,
            plan: shared.cfg.plan,
            now,
            corrections: &corrections,
            spelling: spelling(&shared.cfg),
            drop_column: drop_column.as_deref(),
        };
        files::build(&src, &file)
    })
    .await;
    match built {
        Ok(body) => {
            s.stats().count_download(&key);
            let body = if truncate {
                body.slice(..body.len() / 2)
            } else {
                body
            };
            ([(header::CONTENT_TYPE, "application/gzip")], body).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "bulk file builder panicked");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn spelling(cfg: &SimConfig) -> Spelling {
    if cfg.bulk_bare_integers {
        Spelling::BareIntegers
    } else {
        Spelling::AsJson
    }
}

fn host_error(status: u16, xml: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    (status, [(header::CONTENT_TYPE, "application/xml")], xml).into_response()
}

fn td_placeholder(key: &str) -> Response {
    let csv = format!("Key,Note\n{key},simulated bulk file\n");
    if key.ends_with(".gz") {
        let body = crate::gzip::compress(csv.as_bytes());
        ([(header::CONTENT_TYPE, "application/gzip")], body).into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/octet-stream")], csv).into_response()
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrectReq {
    key: String,
}

/// `POST /__sim/bulk/correct {"key": ...}`: replaces a file in place. Its `LastModified`
/// becomes now (at least a second after the previous one) and its `Size` changes; the
/// answer is its new list row. 404 for a key with no file.
pub(super) async fn correct(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let req: CorrectReq = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return message(StatusCode::BAD_REQUEST, &format!("invalid correction: {e}")),
    };
    let now = s.cfg.clock.now();
    let Ok(file) = files::find(&req.key, s.cfg.plan, now) else {
        return message(StatusCode::NOT_FOUND, &format!("no bulk file {}", req.key));
    };
    let mut all = s.corrections();
    let prev = all.get(&req.key).copied();
    let at = now.max(file.last_modified(prev.as_ref()) + chrono::Duration::seconds(1));
    let c = Correction {
        revision: prev.map_or(1, |p| p.revision + 1),
        at,
    };
    all.insert(req.key.clone(), c);
    Json(serde_json::json!({
        "Key": req.key,
        "LastModified": fmt_time(file.last_modified(Some(&c))),
        "Size": file.size(s.market.issues.len(), Some(&c)) as f64,
    }))
    .into_response()
}
