//! `GET /bulk/files/{key}`: a bulk file from the proxy's own copy, for the signed link
//! `/v2/bulk/get` answered (no key needed: the signature is the permission, as on the
//! upstream's file host). The file is fetched from the upstream once per version.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
use crate::http::render::ErrorBody;
use crate::http::state::AppState;

/// Keys hold slashes, so the route takes the rest of the path (`{*key}`); the document keeps
/// OpenAPI's one-parameter template for it.
pub fn router() -> OpenApiRouter<AppState> {
    let (_, paths, _) = routes!(bulk_file);
    let doc = utoipa::openapi::OpenApiBuilder::new().paths(paths).build();
    OpenApiRouter::with_openapi(doc).route("/bulk/files/{*key}", get(bulk_file))
}

/// A bulk file (gzip CSV) through a link from `/v2/bulk/get`, valid five minutes.
#[utoipa::path(
    get, path = "/bulk/files/{key}", tag = "mirror",
    params(
        ("key" = String, Path, description = "The file's key, as in /v2/bulk/list"),
        ("v" = String, Query, description = "The file version (its LastModified)"),
        ("exp" = i64, Query, description = "Expiry, Unix seconds"),
        ("sig" = String, Query, description = "The proxy's signature of key, version and expiry")
    ),
    responses(
        (status = 200, description = "The file, gzip CSV as the upstream's file host serves it", content_type = "application/gzip", body = Vec<u8>),
        (status = 403, description = "Expired or forged link", body = ErrorBody),
        (status = 502, body = ErrorBody)
    )
)]
async fn bulk_file(
    State(st): State<AppState>,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let stream = st.bulk.open(&key, q.as_deref().unwrap_or("")).await?;
    let mut resp = st.own_response("application/gzip", Body::from_stream(stream));
    if let Some(name) = key.rsplit('/').next()
        && let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
    {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
