//! The mirror: every catalog endpoint at its upstream path under `/v2`, one generic handler
//! driven by the catalog. Route registration and the OpenAPI paths come from the same loop,
//! so they cannot drift.

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder, ResponsesBuilder};
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Client;
use crate::catalog::{ENDPOINTS, Endpoint, ParamKind};
use crate::error::ApiResult;
use crate::http::docs;
use crate::http::render::respond;
use crate::http::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    let mut r = OpenApiRouter::new();
    for ep in ENDPOINTS {
        let path = format!("/v2{}", ep.path);
        let paths = PathsBuilder::new()
            .path(path, PathItem::new(HttpMethod::Get, operation(ep)))
            .build();
        let method = if ep.path == crate::bulk::LINKED {
            get(bulk_link).layer(Extension(ep))
        } else {
            get(mirror).layer(Extension(ep))
        };
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
        op = op.parameter(parameter(ep, p));
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
    op.responses(responses(ep))
        .security(utoipa::openapi::security::SecurityRequirement::new::<
            _,
            _,
            String,
        >("api_key", []))
        .request_body(None::<RequestBody>)
        .build()
}

/// One of the endpoint's parameters, with an example that makes "Try it out" return data.
fn parameter(ep: &Endpoint, p: &crate::catalog::Param) -> ParameterBuilder {
    // Examples are what Swagger UI's "Try it out" pre-fills: they must make a request that
    // returns data (a range, not one holiday; no filter that empties the answer).
    let (format, example) = match (p.kind, p.name) {
        (ParamKind::Code, _) => ("code", serde_json::json!("72030")),
        (ParamKind::Date, "from" | "disc_date_from") => ("date", serde_json::json!("2026-11-02")),
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
    b
}

/// The 200 (the upstream's envelope), the 304 and the errors.
fn responses(ep: &Endpoint) -> utoipa::openapi::Responses {
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
    responses.build()
}

/// `/v2/bulk/get`: a link to the proxy's own copy of the file (the upstream's answer shape),
/// so an app with no route to the upstream's file host downloads it from the proxy; a file the
/// proxy cannot place in a listing gets the upstream's own answer, kept nowhere.
async fn bulk_link(
    State(st): State<AppState>,
    Extension(ep): Extension<&'static Endpoint>,
    client: Option<Extension<Client>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let parsed = st.admit(ep, query.as_deref())?;
    let base = crate::http::params::public_base(&headers);
    if let Some(body) = st.bulk.link(&parsed.request, &base).await? {
        return Ok(st.own_response("application/json", body));
    }
    let client = client.map_or_else(|| Client::Named("anonymous".into()), |c| c.0);
    let merged = st.cache.pass_through(&parsed.request, &client).await?;
    Ok(st.own_response("application/json", merged.body))
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
