//! Which routes need which key. Every route belongs to one group: open (probes, metrics, the
//! API's documentation), client (data), browser (the margin page and its charts) or admin.
//! Each guarded group gets `auth::guard` as its `route_layer`, and the OpenAPI document states
//! each group's security from the same list, so the served and the documented rules agree.
//!
//! Invariant: a route is closed unless it is deliberately added to the open group; an unknown
//! path is answered only after the client check, so it tells a caller without a key nothing.

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{OpenApi, PathItem};
use utoipa_axum::router::OpenApiRouter;

use super::docs;
use super::routes::{admin, bulk, charts, derived, margin_market, mirror, ops, page};
use super::state::AppState;
use crate::auth::{self, Access, Guard};
use crate::error::{ApiError, BASIC_CHALLENGE};

/// Routes anyone may call. `routes::router` adds the Swagger UI (`/docs`, `/openapi.json`).
pub fn open() -> OpenApiRouter<AppState> {
    // A bulk file's link carries its own permission (a signature), as presigned URLs do.
    ops::router().merge(bulk::router())
}

/// The guarded groups, each with who it admits.
pub fn guarded() -> [(Access, OpenApiRouter<AppState>); 3] {
    [
        (
            Access::Client,
            mirror::router()
                .merge(derived::router())
                .merge(margin_market::router()),
        ),
        (Access::Browser, charts::router().merge(page::router())),
        (Access::Admin, admin::router()),
    ]
}

/// `routes` with `access`'s check in front of each of them.
pub fn guard(
    state: &AppState,
    access: Access,
    routes: OpenApiRouter<AppState>,
) -> OpenApiRouter<AppState> {
    let guard = Guard::new(state.auth.clone(), access);
    routes.route_layer(middleware::from_fn_with_state(guard, auth::guard))
}

/// The fallback: `unknown_path` behind the client check.
pub fn fallback(state: &AppState, router: Router<AppState>) -> Router<AppState> {
    let guard = Guard::new(state.auth.clone(), Access::Client);
    router.fallback(unknown_path.layer(middleware::from_fn_with_state(guard, auth::guard)))
}

/// Paths no route serves: under `/v2` the upstream answers 403, so the mirror does too.
async fn unknown_path(req: Request) -> Response {
    if req.uri().path().starts_with("/v2") {
        ApiError::Forbidden("Missing Authentication Token".into()).into_response()
    } else {
        ApiError::NotFound(format!("No route for {}", req.uri().path())).into_response()
    }
}

/// States `access` in the document of `routes`: the keys each operation takes and, for
/// browser pages, the 401 that makes a browser ask for the key.
pub fn document(access: Access, mut routes: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    let schemes: &[&str] = match access {
        Access::Client | Access::Browser => &["api_key", "client_basic"],
        Access::Admin => &["admin_key"],
    };
    let doc: &mut OpenApi = routes.get_openapi_mut();
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            let any_of = schemes
                .iter()
                .map(|s| SecurityRequirement::new::<_, _, String>(*s, []));
            op.security = Some(any_of.collect());
            if access == Access::Browser {
                let challenge = docs::error_response(
                    "No or wrong client key: a browser asks for it (the password of HTTP Basic auth)",
                )
                .header(
                    "WWW-Authenticate",
                    utoipa::openapi::header::HeaderBuilder::new()
                        .schema(utoipa::openapi::schema::ObjectBuilder::new().schema_type(
                            utoipa::openapi::schema::Type::String,
                        ))
                        .description(Some(BASIC_CHALLENGE.to_str().unwrap_or_default()))
                        .build(),
                );
                op.responses
                    .responses
                    .insert("401".into(), challenge.build().into());
            }
        }
    }
    routes
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}
