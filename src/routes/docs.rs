//! OpenAPI pieces the mirror builds from data: row schemas from JPX's `endpoints.json` field
//! descriptions (types and units as JPX documents them), the envelope, error responses and
//! the security scheme.

use std::sync::OnceLock;

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, ResponsesBuilder};

use crate::catalog::{Endpoint, Envelope};

fn jpx_fields() -> &'static serde_json::Value {
    static SPEC: OnceLock<serde_json::Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        serde_json::from_str(include_str!("../catalog/jpx/endpoints.json"))
            .expect("vendored spec parses")
    })
}

/// (type, description) of a field as JPX documents it.
fn jpx_field(path: &str, name: &str) -> Option<(String, String)> {
    let eps = jpx_fields()["endpoints"].as_array()?;
    let ep = eps.iter().find(|e| e["path"] == path)?;
    let f = ep["response"]["fields"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == name)?;
    Some((
        f["type"].as_str().unwrap_or("").to_string(),
        f["description"].as_str().unwrap_or("").to_string(),
    ))
}

fn schema_base(ep: &Endpoint) -> String {
    ep.id
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

pub fn envelope_name(ep: &Endpoint) -> String {
    format!("{}Response", schema_base(ep))
}

/// Row and envelope schemas of one endpoint.
pub fn row_schemas(ep: &'static Endpoint) -> Vec<(String, RefOr<Schema>)> {
    let row_name = format!("{}Row", schema_base(ep));
    let mut row = ObjectBuilder::new().description(Some(format!(
        "One row of {}, keys in the upstream's order. Values are passed through exactly as the upstream sends them \
         (numbers, numeric strings, \"\", \"-\" or null).",
        ep.path
    )));
    for f in ep.fields() {
        let (ty, desc) = jpx_field(ep.path, f)
            .unwrap_or_else(|| (String::new(), "See the upstream's documentation.".into()));
        let mut prop = ObjectBuilder::new().description(Some(desc));
        prop = match ty.as_str() {
            "String" => prop.schema_type(Type::String),
            "Number" => prop.schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                Type::Number,
                Type::String,
                Type::Null,
            ])),
            _ => prop,
        };
        row = row.property(*f, prop);
    }
    let row: Schema = row.into();
    let envelope: Schema = match ep.envelope {
        Envelope::Object => row.clone(),
        Envelope::Data => ObjectBuilder::new()
            .property(
                "data",
                ArrayBuilder::new().items(RefOr::Ref(Ref::from_schema_name(&row_name))),
            )
            .required("data")
            .property(
                "pagination_key",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("Present when more pages follow")),
            )
            .into(),
    };
    let mut out = vec![(envelope_name(ep), RefOr::T(envelope))];
    if ep.envelope == Envelope::Data {
        out.push((row_name, RefOr::T(row)));
    }
    out
}

pub fn mirror_description(ep: &Endpoint) -> String {
    let combos: Vec<String> = ep
        .patterns
        .iter()
        .map(|p| {
            if p.is_empty() {
                "(no parameters)".to_string()
            } else {
                p.join(" + ")
            }
        })
        .collect();
    let mut d = format!(
        "Mirror of the upstream's `GET /v2{}`. Valid parameter combinations: {}. Minimum plan: {}. \
         Any other combination is a 400 that costs no upstream call.",
        ep.path,
        combos.join("; "),
        ep.min_plan.as_str()
    );
    if ep.paginated {
        d.push_str(" The proxy follows the upstream's pages itself; answers larger than the configured page size are paged with the proxy's own `pagination_key`.");
    }
    if let Some(src) = ep.newer {
        d.push_str(&format!(
            " (Newer than JPX's January 2026 spec; source: {src}.)"
        ));
    }
    d
}

/// The error responses every data route shares, all in the upstream's `{"message"}` shape.
pub fn error_responses(b: ResponsesBuilder) -> ResponsesBuilder {
    let err = |desc: &str| {
        ResponseBuilder::new()
            .description(desc)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
                    .build(),
            )
            .build()
    };
    b.response(
        "400",
        err("Invalid parameters or combination (no upstream call is made)"),
    )
    .response("403", err("Missing or invalid x-api-key, or not allowed"))
    .response(
        "429",
        err("This client's request quota is used up, or the upstream rate limit persisted"),
    )
    .response(
        "502",
        err("The upstream is unavailable and no cached answer exists"),
    )
    .response(
        "503",
        err("No upstream slot in time and no cached answer exists"),
    )
}
