//! The one error type of the HTTP surface. Every variant has a stable machine-readable code
//! (sent as the `x-error-code` header and in logs) and renders as the upstream's
//! `{"message": ...}` body, so J-Quants clients parse our errors as they parse J-Quants'.
//!
//! Invariant: internal details (upstream connection errors, database errors, panics turned
//! into [`ApiError::Internal`]) are logged here and never sent to clients; only the upstream's
//! own `message` for its 4xx answers is passed through (docs/upstream.md, "Status codes").

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The upstream's exact wording for a bad or missing key.
pub const INVALID_KEY: &str = "The incoming api key is invalid or expired.";

/// What a 401 asks a browser for: the client key, as the password of HTTP Basic auth.
pub const BASIC_CHALLENGE: HeaderValue = HeaderValue::from_static(r#"Basic realm="jquants-proxy""#);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A request the upstream would reject with 400; it never reaches the upstream.
    #[error("{0}")]
    BadRequest(String),
    /// Missing or wrong client key (the upstream's 403 wording).
    #[error("{INVALID_KEY}")]
    InvalidKey,
    /// Missing or wrong client key on a page a browser opens: a 401 with a Basic challenge, so
    /// the browser asks for the key (as the password).
    #[error("This page needs a client key: enter it as the password (any user name).")]
    LoginRequired,
    /// Authenticated but not allowed here (admin route without admin key, non-loopback peer).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// This client used up its own request quota; it may retry after `retry_after` seconds.
    #[error("{message}")]
    ClientQuota { message: String, retry_after: u64 },
    /// The upstream answered with an error status; its message is passed through.
    #[error("{message}")]
    Upstream { status: StatusCode, message: String },
    /// The upstream could not be reached (after retries) and nothing stale could be served.
    #[error("upstream unavailable")]
    UpstreamUnavailable(String),
    /// The limiter could not give an upstream slot in time and nothing stale could be served.
    #[error("upstream rate limit queue full")]
    RateLimitQueue,
    /// The answer did not come within the bounded wait; its upstream call keeps its place
    /// and lands in the cache, so a retry after `retry_after` seconds is a hit.
    #[error("still waiting for an upstream slot")]
    QueueWait { retry_after: u64 },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }

    /// Stable code per variant, for clients and dashboards.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::InvalidKey => "invalid_key",
            Self::LoginRequired => "login_required",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::ClientQuota { .. } => "client_quota_exceeded",
            Self::Upstream { .. } => "upstream_error",
            Self::UpstreamUnavailable(_) => "upstream_unavailable",
            Self::RateLimitQueue => "rate_limit_queue_timeout",
            Self::QueueWait { .. } => "upstream_queue_wait",
            Self::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::InvalidKey | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::LoginRequired => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::ClientQuota { .. } | Self::QueueWait { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Upstream { status, .. } => *status,
            Self::UpstreamUnavailable(_) => StatusCode::BAD_GATEWAY,
            Self::RateLimitQueue => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client reads. Never contains internal detail.
    pub fn public_message(&self) -> String {
        match self {
            Self::UpstreamUnavailable(_) => {
                "The upstream J-Quants API is unavailable and no cached answer exists. Please try again later.".into()
            }
            Self::RateLimitQueue => {
                "The proxy's upstream rate limit queue is full; no cached answer exists. Please try again later.".into()
            }
            Self::QueueWait { retry_after } => format!(
                "Your request is queued for the shared upstream rate limit; its answer will be cached. Retry in {retry_after} s."
            ),
            Self::Internal(_) => "Unexpected error. Please try again later.".into(),
            other => other.to_string(),
        }
    }

    /// Seconds a client should wait before retrying, sent as `Retry-After`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::ClientQuota { retry_after, .. } | Self::QueueWait { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal(e) => tracing::error!(error = ?e, code = self.code(), "internal error"),
            Self::UpstreamUnavailable(detail) => {
                tracing::warn!(detail = %detail, code = self.code(), "upstream unavailable")
            }
            _ => tracing::debug!(
                code = self.code(),
                status = status.as_u16(),
                "request refused"
            ),
        }
        let body = serde_json::json!({ "message": self.public_message() });
        let mut resp = (status, axum::Json(body)).into_response();
        resp.headers_mut()
            .insert("x-error-code", HeaderValue::from_static(self.code()));
        if let Some(secs) = self.retry_after() {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Self::LoginRequired = self {
            resp.headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, BASIC_CHALLENGE);
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_detail_never_reaches_the_body() {
        let e = ApiError::Internal(anyhow::anyhow!("password=hunter2 at db:5432"));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.public_message().contains("hunter2"));
        let e = ApiError::UpstreamUnavailable("connect to 10.0.0.1 refused".into());
        assert!(!e.public_message().contains("10.0.0.1"));
    }

    #[test]
    fn invalid_key_uses_upstream_wording() {
        assert_eq!(ApiError::InvalidKey.public_message(), INVALID_KEY);
        assert_eq!(ApiError::InvalidKey.status(), StatusCode::FORBIDDEN);
    }
}
