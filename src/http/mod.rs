//! HTTP routes: the mirror (`/v2/*`), derived data (`/derived/*`), admin, operations, and
//! the OpenAPI document with Swagger UI. Every route is registered through utoipa-axum's
//! `OpenApiRouter`, so the served routes and the documented ones are the same list.

pub mod access;
pub mod docs;
pub mod hit;
pub mod params;
pub mod render;
pub mod routes;
pub mod state;

use axum::Router;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use std::time::Duration;

use crate::auth::Access;
pub use render::ErrorBody;
pub use state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "jquants-proxy",
        description = "Caching mirror of the J-Quants API V2, with derived data. Mirror routes take the upstream's parameters and return its bodies byte for byte; clients authenticate with their own `x-api-key` (or, from a browser, the same key as the password of HTTP Basic auth).\n\nOpenAPI cannot express which parameters may be combined, so each mirror operation lists its valid combinations in its description. A request whose parameters each match their schema is still refused with a 400 (costing no upstream call) when: its combination is not one listed; a date does not exist (2026-02-30); a date lies outside the subscription plan's history window; `from` is after `to`; or a `pagination_key` is not one this proxy issued for the same query. `/v2/equities/trades` is CSV-only upstream and always a 403.",
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
            "client_basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "The same client key as the password of HTTP Basic auth, any user name: what a browser sends for `/margin` and `/charts/*` after asking for it",
                    ))
                    .build(),
            ),
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

/// Every route, in its access group; `guard` puts a guarded group's check in front of it.
fn api_router(
    guard: impl Fn(Access, OpenApiRouter<AppState>) -> OpenApiRouter<AppState>,
) -> OpenApiRouter<AppState> {
    access::guarded().into_iter().fold(
        OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(access::open()),
        |all, (who, routes)| all.merge(guard(who, access::document(who, routes))),
    )
}

/// The HTTP server's own settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Whole-request timeout: longer than the upstream's queue and retries take for a client
    /// that waits (`sharing.max_wait`), so only a stuck request hits it.
    pub request_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(300),
        }
    }
}

/// The OpenAPI document of everything `router` serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api_router(|_, routes| routes).into_openapi();
    docs::complete(&mut doc);
    doc
}

/// The document as checked in at `openapi/openapi.json`.
pub fn openapi_json() -> String {
    openapi().to_pretty_json().expect("OpenAPI serialises")
}

/// Every route with its access check, the API's documentation and the fallback.
pub fn router(state: AppState) -> Router {
    let (router, mut doc) =
        api_router(|who, routes| access::guard(&state, who, routes)).split_for_parts();
    docs::complete(&mut doc);
    let router = router.merge(SwaggerUi::new("/docs").url("/openapi.json", doc));
    access::fallback(&state, router).with_state(state)
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
