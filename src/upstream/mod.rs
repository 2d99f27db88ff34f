//! Placeholder with the agreed API; replaced by the upstream branch.
use bytes::Bytes;
use reqwest::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("{message}")]
    Status { status: StatusCode, message: String },
    #[error("rate limited")]
    RateLimited,
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("queue timeout")]
    QueueTimeout,
}

impl From<UpstreamError> for crate::error::ApiError {
    fn from(e: UpstreamError) -> Self {
        use crate::error::ApiError;
        match e {
            UpstreamError::Status { status, message } => ApiError::Upstream { status, message },
            UpstreamError::RateLimited => ApiError::Upstream {
                status: StatusCode::TOO_MANY_REQUESTS,
                message: "Too Many Requests".into(),
            },
            UpstreamError::Unavailable(d) => ApiError::UpstreamUnavailable(d),
            UpstreamError::QueueTimeout => ApiError::RateLimitQueue,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Upstream;

impl Upstream {
    pub async fn fetch_pages(
        &self,
        _req: &crate::request::CanonicalRequest,
    ) -> Result<Vec<Bytes>, UpstreamError> {
        Err(UpstreamError::Unavailable("stub".into()))
    }
}

pub struct UpstreamConfig {
    pub rate_window: std::time::Duration,
    pub cooldown_after_429: std::time::Duration,
    pub queue_timeout: std::time::Duration,
    pub request_timeout: std::time::Duration,
    pub max_retries: usize,
    pub retry_base_delay: std::time::Duration,
}
impl UpstreamConfig {
    pub fn new(_b: String, _k: secrecy::SecretString, _p: crate::catalog::Plan) -> Self {
        let d = std::time::Duration::from_secs(1);
        Self {
            rate_window: d,
            cooldown_after_429: d,
            queue_timeout: d,
            request_timeout: d,
            max_retries: 0,
            retry_base_delay: d,
        }
    }
}
#[derive(serde::Serialize, Default)]
pub struct LimiterStats {}
impl Upstream {
    pub fn new(_c: UpstreamConfig) -> anyhow::Result<Self> {
        Ok(Upstream)
    }
    pub fn limiter_stats(&self) -> LimiterStats {
        LimiterStats::default()
    }
}
