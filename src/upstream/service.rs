//! The layers of the upstream tower stack, outermost first: [`retry`] (429 cool-down and
//! backoff for 5xx/connection errors; every attempt first waits for a limiter slot), a
//! per-attempt timeout, and [`HttpService`] (one reqwest call, body read in full
//! and classified).
//!
//! Invariants: a 2xx answer is passed on only once its body is complete JSON (a body cut
//! short is retried like a 5xx); 429 pauses every caller, 4xx other than 429 is final and
//! keeps the upstream's `message` (docs/upstream.md, "Status codes"); nothing an upstream
//! body contains can make this code panic.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};
use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use futures::future::BoxFuture;
use tower::{BoxError, Service, ServiceExt};

use super::limiter::Limiter;
use super::{UpstreamError, UpstreamRequest, UpstreamResponse};

/// How one attempt ended, before the retry policy decides what it means.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AttemptError {
    /// 429: the whole proxy must cool down.
    #[error("upstream answered 429")]
    TooMany,
    /// 5xx, connection error, timeout, truncated or non-JSON 2xx body: worth retrying.
    #[error("{0}")]
    Transient(String),
    /// The per-attempt timeout fired (the HTTP layer never saw an answer to count).
    #[error("upstream request timed out")]
    TimedOut,
    /// Anything a retry cannot fix (400, 403, 404, queue timeout).
    #[error("{0}")]
    Final(UpstreamError),
}

/// Turns the timeout layer's boxed error back into an [`AttemptError`].
pub(crate) fn from_box(e: BoxError) -> AttemptError {
    match e.downcast::<AttemptError>() {
        Ok(a) => *a,
        Err(e) if e.is::<tower::timeout::error::Elapsed>() => AttemptError::TimedOut,
        Err(e) => AttemptError::Transient(e.to_string()),
    }
}

/// One HTTP GET against the upstream.
#[derive(Clone)]
pub(crate) struct HttpService {
    pub(crate) client: reqwest::Client,
    pub(crate) base_url: Arc<str>,
    /// Marked sensitive, so hyper and our `Debug` never print it.
    pub(crate) api_key: HeaderValue,
}

impl Service<UpstreamRequest> for HttpService {
    type Response = UpstreamResponse;
    type Error = AttemptError;
    type Future = BoxFuture<'static, Result<UpstreamResponse, AttemptError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: UpstreamRequest) -> Self::Future {
        let url = if req.query.is_empty() {
            format!("{}{}", self.base_url, req.path)
        } else {
            format!("{}{}?{}", self.base_url, req.path, req.query)
        };
        // reqwest's gzip feature adds `Accept-Encoding: gzip` and decompresses the body.
        let send = self
            .client
            .get(url)
            .header("x-api-key", self.api_key.clone())
            .send();
        let path = req.path;
        Box::pin(async move {
            let resp = match send.await {
                Ok(r) => r,
                Err(e) => {
                    count_call(path, "error");
                    return Err(AttemptError::Transient(format!(
                        "request to {path} failed: {}",
                        error_chain(&e)
                    )));
                }
            };
            let status = resp.status();
            count_call(path, status.as_str());
            // The connection dropping mid-body surfaces here (or as invalid JSON below).
            let body = resp.bytes().await.map_err(|e| {
                AttemptError::Transient(format!(
                    "reading {path} body ({status}) failed: {}",
                    error_chain(&e)
                ))
            })?;
            classify(path, status, body)
        })
    }
}

fn count_call(path: &'static str, status: &str) {
    metrics::counter!("jqp_upstream_calls_total", "path" => path, "status" => status.to_owned())
        .increment(1);
}

/// reqwest's top-level message ("error sending request") hides the cause worth logging.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

fn classify(
    path: &'static str,
    status: StatusCode,
    body: Bytes,
) -> Result<UpstreamResponse, AttemptError> {
    if status.is_success() {
        if body.is_empty() {
            // 200 always carries JSON; an empty one means the connection closed early.
            // Other 2xx (210 "No Content (Partial)") may legitimately be empty.
            if status == StatusCode::OK {
                return Err(AttemptError::Transient(format!("{path}: empty 200 body")));
            }
        } else {
            // One pass both checks the body is complete JSON (a close-delimited body cut short
            // is not an HTTP error, only bad JSON) and reads the next page's key.
            match page_head(&body) {
                Ok(pagination_key) => {
                    return Ok(UpstreamResponse {
                        status,
                        body,
                        pagination_key,
                    });
                }
                Err(e) => {
                    return Err(AttemptError::Transient(format!(
                        "{path}: {status} body is not complete JSON ({} bytes): {e}",
                        body.len()
                    )));
                }
            }
        }
        return Ok(UpstreamResponse {
            status,
            body,
            pagination_key: None,
        });
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(AttemptError::TooMany);
    }
    let message = upstream_message(&body);
    if status.is_server_error() {
        return Err(AttemptError::Transient(format!(
            "{path}: {status}: {}",
            message.as_deref().unwrap_or("(no message)")
        )));
    }
    Err(AttemptError::Final(UpstreamError::Status {
        status,
        message: message.unwrap_or_else(|| format!("The upstream J-Quants API answered {status}.")),
    }))
}

/// Validates a whole 2xx body as JSON and returns its non-empty `pagination_key`, if any.
fn page_head(body: &[u8]) -> Result<Option<String>, serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(default)]
        pagination_key: Option<String>,
    }
    match serde_json::from_slice::<Head>(body) {
        Ok(h) => Ok(h.pagination_key.filter(|k| !k.is_empty())),
        // Valid JSON that is not an object (no envelope): nothing to follow.
        Err(e) if e.is_data() => {
            serde_json::from_slice::<serde::de::IgnoredAny>(body).map(|_| None)
        }
        Err(e) => Err(e),
    }
}

/// The upstream's `{"message": ...}`; not guaranteed to be there.
fn upstream_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let m = v.get("message").or_else(|| v.get("Message"))?.as_str()?;
    let m = m.trim();
    (!m.is_empty()).then(|| m.to_string())
}

/// One attempt through `inner` after waiting for a limiter slot, so that every retry queues
/// again like a new request.
async fn limited_attempt<S>(
    limiter: &Limiter,
    inner: S,
    req: UpstreamRequest,
) -> Result<UpstreamResponse, AttemptError>
where
    S: Service<UpstreamRequest, Response = UpstreamResponse, Error = AttemptError>,
{
    limiter
        .acquire(req.group, &req.client)
        .await
        .map_err(|_| AttemptError::Final(UpstreamError::QueueTimeout))?;
    let path = req.path;
    let res = inner.oneshot(req).await;
    if matches!(res, Err(AttemptError::TimedOut)) {
        count_call(path, "timeout");
    }
    res
}

#[derive(Debug, Clone)]
pub(crate) struct RetryPolicy {
    pub(crate) max_retries: usize,
    pub(crate) base_delay: Duration,
    pub(crate) cooldown: Duration,
    pub(crate) max_429_retries: usize,
}

/// Runs `req` through `inner`, one limited attempt at a time; decides what a failed attempt
/// means and when to try again.
pub(crate) async fn retry<S>(
    inner: S,
    limiter: Arc<Limiter>,
    policy: Arc<RetryPolicy>,
    req: UpstreamRequest,
) -> Result<UpstreamResponse, UpstreamError>
where
    S: Service<UpstreamRequest, Response = UpstreamResponse, Error = AttemptError> + Clone,
{
    let mut backoff = ExponentialBuilder::new()
        .with_min_delay(policy.base_delay)
        .with_max_delay(policy.base_delay.saturating_mul(16))
        .with_max_times(policy.max_retries)
        .with_jitter()
        .build();
    let mut retries_429 = 0;
    loop {
        match limited_attempt(&limiter, inner.clone(), req.clone()).await {
            Ok(resp) => return Ok(resp),
            Err(AttemptError::Final(e)) => return Err(e),
            Err(AttemptError::TooMany) => {
                metrics::counter!("jqp_upstream_429_total").increment(1);
                // No Retry-After comes with it and a key that keeps pushing gets
                // locked out, so everyone stops until the cool-down is over.
                let until = limiter.pause(policy.cooldown);
                tracing::warn!(
                    path = req.path,
                    cooldown_ms = policy.cooldown.as_millis() as u64,
                    "upstream 429; pausing all upstream calls"
                );
                if retries_429 >= policy.max_429_retries {
                    return Err(UpstreamError::RateLimited);
                }
                retries_429 += 1;
                note_retry(&limiter, "429");
                // Outside the limiter so the cool-down does not count against this
                // request's queue timeout.
                tokio::time::sleep_until(until).await;
            }
            Err(e @ (AttemptError::Transient(_) | AttemptError::TimedOut)) => {
                let detail = e.to_string();
                match backoff.next() {
                    Some(delay) => {
                        tracing::info!(
                            path = req.path,
                            detail = %detail,
                            delay_ms = delay.as_millis() as u64,
                            "upstream attempt failed; retrying"
                        );
                        note_retry(&limiter, "transient");
                        tokio::time::sleep(delay).await;
                    }
                    None => return Err(UpstreamError::Unavailable(detail)),
                }
            }
        }
    }
}

fn note_retry(limiter: &Limiter, reason: &'static str) {
    limiter.note_retry();
    metrics::counter!("jqp_upstream_retries_total", "reason" => reason).increment(1);
}
