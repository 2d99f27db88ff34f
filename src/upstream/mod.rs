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
