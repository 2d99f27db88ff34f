//! What every handler can reach: the application state, built once by `startup` and cloned
//! (cheaply: shared pointers) into each request.
//!
//! Invariant: all state of a running application lives here (and in what it points to), never
//! in statics, so two applications in one process (tests) never share anything.

use std::sync::Arc;

use axum::http::{HeaderValue, header};
use axum::response::Response;

use crate::auth::Auth;
use crate::cache::Cache;
use crate::catalog::{Endpoint, Plan};
use crate::derived::margin_market::MarketMarginRow;
use crate::error::ApiResult;
use crate::market::jobs::Prepared;
use crate::market::{MarketData, MarketRange};
use crate::request::{self, Parsed};

/// How much of the request timeout a waiting request leaves for rendering its answer.
const WAIT_MARGIN: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Clone)]
pub struct AppState {
    pub cache: Arc<Cache>,
    /// Whole-market and per-issue inputs of the derived routes.
    pub market: Arc<MarketData>,
    /// Bulk files served from the proxy's own copies.
    pub bulk: Arc<crate::bulk::BulkFiles>,
    /// Bulk files as whole-market history (ingested rows, trust per dataset).
    pub history: Arc<crate::bulk::BulkHistory>,
    pub auth: Arc<Auth>,
    /// The server's own settings (the request timeout bounds how long a request may wait).
    pub http: super::HttpConfig,
    /// Demo mode: proxying the in-process simulator.
    pub demo: bool,
    pub plan: Plan,
}

impl AppState {
    /// A 200 of the proxy's own making (derived JSON, charts, the page): its content type, and
    /// the demo marker every answer carries in demo mode.
    pub fn own_response(
        &self,
        content_type: &'static str,
        body: impl Into<axum::body::Body>,
    ) -> Response {
        let mut resp = Response::new(body.into());
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if self.demo {
            h.insert("x-jquants-proxy-mode", HeaderValue::from_static("demo"));
        }
        resp
    }

    /// Admits a client's mirror request for this subscription ([`request::admit`]): the mirror
    /// route and the hit path both call this, so they accept and refuse the same requests.
    pub fn admit(&self, ep: &'static Endpoint, query: Option<&str>) -> ApiResult<Parsed> {
        let today = crate::jst::today(self.cache.clock().now());
        request::admit(ep, query, self.plan, today)
    }

    /// The market-wide margin rows of `m`, waiting for them as long as the client prefers
    /// (`Prefer`, see [`super::params::wait`]) but never into the request timeout: past the
    /// wait, the job's progress.
    pub async fn market_margin(
        &self,
        m: &MarketRange,
        headers: &axum::http::HeaderMap,
    ) -> ApiResult<(Prepared<Arc<Vec<MarketMarginRow>>>, super::params::Wait)> {
        // Room to render the answer before the server's own timeout would cut the request.
        let ceiling = self.http.request_timeout.saturating_sub(WAIT_MARGIN);
        let wait = super::params::wait(headers, self.market.default_wait(), ceiling);
        let prepared = self.market.market_margin_within(m, wait.limit).await?;
        Ok((prepared, wait))
    }

    /// Today in JST by the application's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        crate::jst::today(self.cache.clock().now())
    }
}
