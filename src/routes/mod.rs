//! HTTP routes: the mirror (`/v2/*`), derived data (`/derived/*`), admin, operations, and
//! the OpenAPI document with Swagger UI. Every route is registered through utoipa-axum's
//! `OpenApiRouter`, so the served routes and the documented ones are the same list.

pub mod admin;
pub mod charts;
pub mod cross_sections;
pub mod derived;
pub mod docs;
pub mod margin_market;
pub mod mirror;
pub mod ops;
pub mod page;

use std::sync::Arc;

use axum::Router;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::Auth;
use crate::cache::Cache;
use crate::catalog::Plan;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub cache: Arc<Cache>,
    pub auth: Arc<Auth>,
    /// Demo mode: proxying the in-process simulator.
    pub demo: bool,
    pub plan: Plan,
    /// Answers larger than this are paged by the proxy.
    pub max_page_bytes: usize,
}

impl AppState {
    /// Validates a request as the upstream would for this subscription, so that nothing the
    /// upstream would refuse costs an upstream call: the plan's endpoints (403), parameter rules
    /// (400), and dates clearly outside the plan's history window (400; boundary days are left
    /// to the upstream).
    pub fn admit(
        &self,
        ep: &'static crate::catalog::Endpoint,
        query: Option<&str>,
    ) -> crate::error::ApiResult<crate::request::Parsed> {
        crate::request::check_plan(ep, self.plan)?;
        let parsed = crate::request::parse(ep, query)?;
        let today = crate::jst::today(self.cache.clock().now());
        crate::request::check_history(
            &parsed.request,
            self.plan,
            today,
            chrono::Duration::days(7),
        )?;
        Ok(parsed)
    }
}

/// The upstream's error shape, used by every error this service returns.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Human-readable reason. A stable machine-readable code is in the `x-error-code` header.
    pub message: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "jquants-proxy",
        description = "Caching mirror of the J-Quants API V2, with derived data. Mirror routes take the upstream's parameters and return its bodies byte for byte; clients authenticate with their own `x-api-key`.\n\nOpenAPI cannot express which parameters may be combined, so each mirror operation lists its valid combinations in its description. A request whose parameters each match their schema is still refused with a 400 (costing no upstream call) when: its combination is not one listed; a date does not exist (2026-02-30); a date lies outside the subscription plan's history window; `from` is after `to`; or a `pagination_key` is not one this proxy issued for the same query. `/v2/equities/trades` is CSV-only upstream and always a 403.",
        license(name = "MIT")
    ),
    components(schemas(ErrorBody)),
    modifiers(&Security),
    tags(
        (name = "mirror", description = "Every upstream V2 endpoint at the same path, cached"),
        (name = "derived", description = "Data computed from upstream data: market cap, margin ratios, dividends, margin account"),
        (name = "charts", description = "SVG charts and the server-rendered margin page (the market-wide margin page)"),
        (name = "admin", description = "Cache administration (admin key)"),
        (name = "ops", description = "Health, readiness, metrics")
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "A client key issued by the proxy's operator (not the J-Quants subscription key)",
            ))),
        );
        components.add_security_scheme(
            "admin_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "The proxy's admin key",
            ))),
        );
    }
}

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(mirror::router())
        .merge(derived::router())
        .merge(margin_market::router())
        .merge(charts::router())
        .merge(page::router())
        .merge(admin::router())
        .merge(ops::router())
}

/// The OpenAPI document of everything `router` serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api_router().into_openapi();
    docs::complete(&mut doc);
    doc
}

/// The document as checked in at `openapi/openapi.json`.
pub fn openapi_json() -> String {
    openapi().to_pretty_json().expect("OpenAPI serialises")
}

pub fn router(state: AppState) -> Router {
    let (router, mut doc) = api_router().split_for_parts();
    docs::complete(&mut doc);
    router
        .merge(SwaggerUi::new("/docs").url("/openapi.json", doc))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    /// The checked-in document must be what the code serves; regenerate with
    /// `cargo run -- openapi > openapi/openapi.json`.
    #[test]
    fn checked_in_openapi_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        let current = super::openapi_json();
        assert!(
            on_disk.trim_end() == current.trim_end(),
            "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
        );
    }

    #[test]
    fn every_catalog_endpoint_is_documented_with_its_parameters() {
        let doc = super::openapi();
        for ep in crate::catalog::ENDPOINTS {
            let item = doc
                .paths
                .paths
                .get(&format!("/v2{}", ep.path))
                .unwrap_or_else(|| panic!("{} undocumented", ep.path));
            let op = item.get.as_ref().expect("GET");
            let names: Vec<_> = op
                .parameters
                .iter()
                .flatten()
                .map(|p| p.name.clone())
                .collect();
            for p in ep.params {
                assert!(
                    names.contains(&p.name.to_string()),
                    "{}: {} undocumented",
                    ep.path,
                    p.name
                );
            }
        }
    }
}
