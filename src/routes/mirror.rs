//! The mirror: every catalog endpoint at its upstream path under `/v2`, one generic handler
//! driven by the catalog. Route registration and the OpenAPI paths come from the same loop,
//! so they cannot drift.

use axum::Extension;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder, ResponsesBuilder};
use utoipa_axum::router::OpenApiRouter;

use super::AppState;
use super::docs;
use crate::auth::Client;
use crate::cache::Served;
use crate::catalog::{ENDPOINTS, Endpoint, ParamKind};
use crate::error::ApiResult;

pub fn router() -> OpenApiRouter<AppState> {
    let mut r = OpenApiRouter::new();
    for ep in ENDPOINTS {
        let path = format!("/v2{}", ep.path);
        let paths = PathsBuilder::new()
            .path(path, PathItem::new(HttpMethod::Get, operation(ep)))
            .build();
        let method = get(mirror).layer(Extension(ep));
        r = r.routes((docs::row_schemas(ep), paths, method));
    }
    r
}

fn operation(ep: &'static Endpoint) -> utoipa::openapi::path::Operation {
    let mut op = OperationBuilder::new()
        .tag("mirror")
        .operation_id(Some(format!("mirror_{}", ep.id.replace('-', "_"))))
        .summary(Some(ep.title))
        .description(Some(docs::mirror_description(ep)));
    for p in ep.params {
        // Examples are what Swagger UI's "Try it out" pre-fills: they must make a request that
        // returns data (a range, not one holiday; no filter that empties the answer).
        let (format, example) = match (p.kind, p.name) {
            (ParamKind::Code, _) => ("code", serde_json::json!("72030")),
            (ParamKind::Date, "from" | "disc_date_from") => {
                ("date", serde_json::json!("2026-11-02"))
            }
            (ParamKind::Date, "to" | "disc_date_to") => ("date", serde_json::json!("2026-11-20")),
            (ParamKind::Date, _) => ("date", serde_json::json!("2026-11-19")),
            (ParamKind::DayOrMonth, _) => ("date or month", serde_json::json!("2026-11")),
            (ParamKind::Choice(_), _) | (ParamKind::Text, _) => (
                if matches!(p.kind, ParamKind::Choice(_)) {
                    "choice"
                } else {
                    "text"
                },
                serde_json::Value::Null,
            ),
        };
        let mut b = ParameterBuilder::new()
            .name(p.name)
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(docs::param_description(ep, p, format)))
            .schema(Some(docs::param_schema(p.kind)));
        if !example.is_null() {
            b = b.example(Some(example));
        }
        op = op.parameter(b);
    }
    if ep.paginated {
        op = op.parameter(
            ParameterBuilder::new()
                .name("pagination_key")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(
                    "Opaque key of the next page, from the previous page of the same query; \
                     any other value is a 400",
                ))
                .schema(Some(docs::param_schema(ParamKind::Text))),
        );
    }
    let ok = ResponseBuilder::new()
        .description("The upstream's answer, byte for byte (pages merged). Headers: X-Cache, Age, ETag, Cache-Control.")
        .content("application/json", ContentBuilder::new().schema(Some(RefOr::Ref(Ref::from_schema_name(docs::envelope_name(ep))))).build())
        .build();
    let responses = docs::error_responses(ResponsesBuilder::new().response("200", ok)).response(
        "304",
        ResponseBuilder::new()
            .description("Not modified (If-None-Match matched the ETag)")
            .build(),
    );
    op.responses(responses.build())
        .security(utoipa::openapi::security::SecurityRequirement::new::<
            _,
            _,
            String,
        >("api_key", []))
        .request_body(None::<RequestBody>)
        .build()
}

async fn mirror(
    State(st): State<AppState>,
    Extension(ep): Extension<&'static Endpoint>,
    client: Option<Extension<Client>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let parsed = st.admit(ep, query.as_deref())?;
    let client = client.map_or_else(|| Client::Named("anonymous".into()), |c| c.0);
    let key = parsed.pagination_key.as_deref();
    let (served, page) = st.cache.page(&parsed.request, key, &client).await?;
    Ok(respond(&st, &served, page, &headers))
}

// Header names built once: `HeaderMap::insert("x-cache", ..)` parses the name on every call.
const X_CACHE: HeaderName = HeaderName::from_static("x-cache");
const X_CACHE_TIER: HeaderName = HeaderName::from_static("x-cache-tier");
const DEMO_MODE: HeaderName = HeaderName::from_static("x-jquants-proxy-mode");

/// The response for a served answer: the stored body (`Bytes`, shared, not copied), in the
/// stored gzip form when the client accepts it.
pub(crate) fn respond(
    st: &AppState,
    served: &Served,
    page: usize,
    headers: &HeaderMap,
) -> Response {
    let e = &served.entry;
    let (body, gz, etag) = match &e.pages {
        Some(pages) => {
            let p = &pages[page];
            let etag = format!("\"{}-p{page}\"", e.etag.trim_matches('"'));
            (&p.body, &p.gzip, HeaderValue::try_from(etag).ok())
        }
        None => (&e.merged.body, &e.gzip, e.etag_header.clone()),
    };
    let now = st.cache.clock().now();
    let max_age = (e.fresh_until - now).num_seconds().max(0);
    let age = (now - e.fetched_at).num_seconds().max(0);
    let mut h = HeaderMap::with_capacity(12);
    h.insert(X_CACHE, HeaderValue::from_static(served.status.as_str()));
    h.insert(X_CACHE_TIER, HeaderValue::from_static(served.tier.as_str()));
    h.insert(header::AGE, HeaderValue::from(age));
    h.insert(header::CACHE_CONTROL, cache_control(max_age));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(v) = &etag {
        h.insert(header::ETAG, v.clone());
    }
    if st.demo {
        h.insert(DEMO_MODE, HeaderValue::from_static("demo"));
    }
    crate::telemetry::record_cache_result(e.endpoint.path, served.status.as_str());
    let not_modified = etag.as_ref().is_some_and(|etag| {
        headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .any(|t| t.trim().as_bytes() == etag.as_bytes() || t.trim() == "*")
            })
    });
    let (status, body) = if not_modified {
        (StatusCode::NOT_MODIFIED, Body::empty())
    } else {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if !gz.is_empty() && crate::gzip::accepted(headers) {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (StatusCode::OK, Body::from(gz.clone()))
        } else {
            (StatusCode::OK, Body::from(body.clone()))
        }
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    *resp.headers_mut() = h;
    resp
}

/// `private, max-age=N`, formatted on the stack: one of the headers of every hit.
fn cache_control(max_age: i64) -> HeaderValue {
    const PREFIX: &[u8] = b"private, max-age=";
    let mut buf = [0u8; PREFIX.len() + 20];
    buf[..PREFIX.len()].copy_from_slice(PREFIX);
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(max_age).as_bytes();
    let len = PREFIX.len() + digits.len();
    buf[PREFIX.len()..len].copy_from_slice(digits);
    HeaderValue::from_bytes(&buf[..len]).expect("ascii digits")
}
