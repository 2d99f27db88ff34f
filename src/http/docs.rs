//! OpenAPI pieces the mirror builds from data: row schemas from the catalog's field table
//! (`catalog::docs_of`: every key typed, with meaning and unit), the envelope, error responses
//! and the security scheme.

use utoipa::openapi::schema::{
    AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, ResponsesBuilder};

use crate::catalog::field::DECIMAL_PATTERN;
use crate::catalog::{Endpoint, Envelope, Field, ParamKind, Ty, docs_of};

/// The schema of one response key: its type as the upstream writes it, null where the upstream
/// sends null, and its meaning and unit.
fn field_schema(f: &Field) -> Schema {
    let ty = match f.ty {
        Ty::Str | Ty::Decimal | Ty::Flag => Type::String,
        Ty::NumberOrDash => return number_or_dash(f),
        Ty::Number => Type::Number,
        Ty::Object => Type::Object,
        Ty::Array => Type::Array,
    };
    let types = if f.nullable {
        SchemaType::from_iter([ty, Type::Null])
    } else {
        SchemaType::new(ty)
    };
    if f.ty == Ty::Array {
        // Items are described in words; any JSON value is accepted.
        let any = ObjectBuilder::new().schema_type(SchemaType::AnyValue);
        return ArrayBuilder::new()
            .schema_type(types)
            .items(any)
            .description(Some(f.doc))
            .into();
    }
    let b = ObjectBuilder::new()
        .schema_type(types)
        .description(Some(f.doc));
    match f.ty {
        Ty::Decimal => b.pattern(Some(DECIMAL_PATTERN)),
        Ty::Flag => b.enum_values(Some(["true", "false", ""])),
        _ => b,
    }
    .into()
}

/// Derived schemas whose keys pass the upstream's values through unchanged
/// (`serde_json::Value`), with the endpoint whose field table types them.
const PASS_THROUGH: &[(&str, &str)] = &[("DividendNotice", "/fins/dividend")];

/// Completes what utoipa's derive leaves out of the document:
/// - a nullable `$ref` (an `Option` of a schema type) carries its field's doc comment on the
///   `$ref` inside `oneOf`; it is moved to the property itself;
/// - the keys of [`PASS_THROUGH`] schemas are typed as the catalog's field table types them
///   for the mirror, keeping their own descriptions.
pub fn complete(doc: &mut utoipa::openapi::OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for (name, schema) in components.schemas.iter_mut() {
        let RefOr::T(schema) = schema else { continue };
        let fields = PASS_THROUGH
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, path)| docs_of(path));
        for_each_property(schema, &mut |key, prop| {
            hoist_ref_description(prop);
            if let Some(f) = fields.and_then(|fs| fs.iter().find(|f| f.name == key)) {
                let mut typed = field_schema(f);
                if let Some(own) = description_of(prop) {
                    set_description(&mut typed, own);
                }
                *prop = RefOr::T(typed);
            }
        });
    }
}

/// Calls `f` on every property of an object schema, or of the objects of an `allOf`.
fn for_each_property(schema: &mut Schema, f: &mut impl FnMut(&str, &mut RefOr<Schema>)) {
    match schema {
        Schema::Object(o) => o.properties.iter_mut().for_each(|(k, p)| f(k, p)),
        Schema::AllOf(all) => all.items.iter_mut().for_each(|item| match item {
            RefOr::T(s) => for_each_property(s, f),
            RefOr::Ref(_) => {}
        }),
        _ => {}
    }
}

/// `oneOf: [null, {$ref, description}]` becomes `{oneOf: [null, {$ref}], description}`.
fn hoist_ref_description(prop: &mut RefOr<Schema>) {
    let RefOr::T(Schema::OneOf(one)) = prop else {
        return;
    };
    if one.description.is_some() {
        return;
    }
    let described = one.items.iter_mut().find_map(|item| match item {
        RefOr::Ref(r) if !r.description.is_empty() => Some(r),
        _ => None,
    });
    if let Some(r) = described {
        one.description = Some(std::mem::take(&mut r.description));
    }
}

fn description_of(prop: &RefOr<Schema>) -> Option<String> {
    match prop {
        RefOr::T(Schema::Object(o)) => o.description.clone(),
        RefOr::T(Schema::Array(a)) => a.description.clone(),
        RefOr::T(Schema::AnyOf(a)) => a.description.clone(),
        RefOr::T(Schema::OneOf(o)) => o.description.clone(),
        RefOr::Ref(r) if !r.description.is_empty() => Some(r.description.clone()),
        _ => None,
    }
}

fn set_description(schema: &mut Schema, description: String) {
    match schema {
        Schema::Object(o) => o.description = Some(description),
        Schema::Array(a) => a.description = Some(description),
        Schema::AnyOf(a) => a.description = Some(description),
        Schema::OneOf(o) => o.description = Some(description),
        _ => {}
    }
}

/// `YYYY-MM-DD` or `YYYYMMDD` with a possible month and day; that the day exists (no 30
/// February) and lies in the plan's history window is checked by the proxy, with a 400.
const DATE_PATTERN: &str = "^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])|[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01]))$";
/// A day as [`DATE_PATTERN`], or a month `YYYYMM` / `YYYY-MM`.
const DAY_OR_MONTH_PATTERN: &str = "^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])|[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])|[0-9]{4}-?(0[1-9]|1[0-2]))$";
/// What `request::canonical_code` accepts.
const CODE_PATTERN: &str = "^[0-9A-Za-z]{4,5}$";

/// Parameters whose values JPX lists in its reference data (vendored `reference_data.json`):
/// (path, parameter, table, key column). Listed in the description, not enforced as an enum:
/// the upstream may add values (new indices, products) before the vendored list knows them.
const KNOWN_VALUES: &[(&str, &str, &str, &str)] = &[
    (
        "/equities/investor-types",
        "section",
        "market_names",
        "MarketName",
    ),
    (
        "/markets/short-ratio",
        "s33",
        "sector33_codes",
        "Sector33Code",
    ),
    ("/indices/bars/daily", "code", "index_codes", "Code"),
    (
        "/derivatives/bars/daily/futures",
        "category",
        "futures_product_codes",
        "ProductCode",
    ),
    (
        "/derivatives/bars/daily/options",
        "category",
        "option_product_codes",
        "ProductCode",
    ),
    ("/bulk/list", "endpoint", "bulk_endpoints", "Endpoint"),
    ("/bulk/get", "endpoint", "bulk_endpoints", "Endpoint"),
];

fn reference_data() -> &'static serde_json::Value {
    static DATA: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DATA.get_or_init(|| {
        serde_json::from_str(include_str!("../../jpx/reference_data.json"))
            .expect("vendored reference data parses")
    })
}

/// The values JPX lists for `param` of `path`, comma separated.
fn known_values(path: &str, param: &str) -> Option<String> {
    let (_, _, table, column) = KNOWN_VALUES
        .iter()
        .find(|(p, n, _, _)| *p == path && *n == param)?;
    let tables = reference_data()["reference_data"].as_array()?;
    let rows = tables.iter().find(|t| t["name"] == *table)?["reference_data"].as_array()?;
    let values: Vec<&str> = rows.iter().filter_map(|r| r[*column].as_str()).collect();
    Some(values.join(", "))
}

/// A parameter's meaning, its format, and the values JPX lists for it where it lists them.
pub fn param_description(ep: &Endpoint, p: &crate::catalog::Param, format: &str) -> String {
    match known_values(ep.path, p.name) {
        Some(v) => format!("{} ({format}). Values JPX lists: {v}.", p.doc),
        None => format!("{} ({format})", p.doc),
    }
}

/// The schema of a query parameter: what the proxy enforces before any upstream call.
pub fn param_schema(kind: ParamKind) -> ObjectBuilder {
    let s = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1));
    match kind {
        ParamKind::Code => s.pattern(Some(CODE_PATTERN)).max_length(Some(5)),
        ParamKind::Date => s.pattern(Some(DATE_PATTERN)),
        ParamKind::DayOrMonth => s.pattern(Some(DAY_OR_MONTH_PATTERN)),
        ParamKind::Choice(values) => s.enum_values(Some(values.iter().copied())),
        // Blank values are refused; the pattern asks for one non-space character.
        ParamKind::Text => s.pattern(Some("\\S")),
    }
}

/// `anyOf` a number (or null) and the placeholder string `"-"`.
fn number_or_dash(f: &Field) -> Schema {
    let number =
        ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::Number, Type::Null]));
    let dash = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["-"]));
    AnyOfBuilder::new()
        .item(number)
        .item(dash)
        .description(Some(f.doc))
        .into()
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
        "One row of {}, keys in the upstream's order, values typed as the upstream sends them.",
        ep.path
    )));
    for f in docs_of(ep.path) {
        row = row.property(f.name, field_schema(f));
    }
    let row: Schema = row.into();
    let envelope: Schema = match ep.envelope {
        Envelope::Object => row.clone(),
        Envelope::Data => ObjectBuilder::new()
            .property(
                "data",
                ArrayBuilder::new()
                    .items(RefOr::Ref(Ref::from_schema_name(&row_name)))
                    .description(Some("The rows; empty when nothing matches")),
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
    let combos = ep.combinations("(no parameters)", " + ");
    let mut d = format!(
        "Mirror of the upstream's `GET /v2{}`. Valid parameter combinations: {}. Minimum plan: {}. \
         Any other combination is a 400 that costs no upstream call, as are dates that do not \
         exist or lie outside the plan's history window, and `from` after `to`.",
        ep.path,
        combos.join("; "),
        ep.min_plan.as_str()
    );
    if !ep.api_available {
        d.push_str(" The upstream serves this dataset only as CSV bulk files: every request here is a 403; use `/v2/bulk/list` and `/v2/bulk/get`.");
    }
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

/// An error response in the upstream's `{"message"}` shape.
pub fn error_response(desc: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(desc).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))))
            .build(),
    )
}

/// The error responses every data route shares, all in the upstream's `{"message"}` shape.
pub fn error_responses(b: ResponsesBuilder) -> ResponsesBuilder {
    let err = |desc: &str| error_response(desc).build();
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    /// Properties of the document's component schemas (objects, and the objects of an
    /// `allOf`) that lack a type or a description, or that still carry the old placeholder.
    /// A `$ref` is typed by the schema it names, which is checked in turn.
    fn untyped_fields(doc: &Value) -> Vec<String> {
        let mut bad = Vec::new();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for (name, schema) in schemas {
            let parts = schema["allOf"].as_array().into_iter().flatten();
            let objects = std::iter::once(schema).chain(parts);
            let props = objects.flat_map(|s| s["properties"].as_object().into_iter().flatten());
            for (key, prop) in props {
                let typed = ["type", "anyOf", "oneOf", "allOf", "$ref"]
                    .iter()
                    .any(|k| prop.get(*k).is_some());
                let desc = prop["description"].as_str().unwrap_or("").trim();
                if !typed || desc.is_empty() || desc.contains("See the upstream") {
                    bad.push(format!("{name}.{key}"));
                }
            }
        }
        bad
    }

    /// Every property of every component schema (mirror, derived, admin, ops) is typed and
    /// described, so a new undocumented field anywhere fails here.
    #[test]
    fn every_published_field_has_a_type_and_a_description() {
        let doc = serde_json::to_value(crate::http::openapi()).unwrap();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let mirror: Vec<String> = crate::catalog::ENDPOINTS
            .iter()
            .flat_map(|ep| super::row_schemas(ep).into_iter().map(|(name, _)| name))
            .collect();
        assert!(mirror.len() > 50, "{mirror:?}");
        for name in &mirror {
            assert!(schemas.contains_key(name), "{name} not published");
        }
        for name in [
            "AdminStats",
            "CacheStats",
            "Readiness",
            "DividendNotice",
            "MarginRow",
        ] {
            assert!(schemas.contains_key(name), "{name} not published");
        }
        let bad = untyped_fields(&doc);
        assert!(bad.is_empty(), "untyped or undescribed: {bad:?}");
        // Rows and object answers are all there: one property per catalog key.
        for ep in crate::catalog::ENDPOINTS {
            let names: Vec<&str> = crate::catalog::docs_of(ep.path)
                .iter()
                .map(|f| f.name)
                .collect();
            assert_eq!(
                names,
                ep.fields(),
                "{}: field table and keys differ",
                ep.path
            );
        }
    }

    /// The pass-through dividend keys carry the mirror's types and their own descriptions, and
    /// a nullable `$ref` is described on the property itself.
    #[test]
    fn derived_fields_are_completed_from_the_catalog() {
        let doc = serde_json::to_value(crate::http::openapi()).unwrap();
        let s = &doc["components"]["schemas"];
        let notice = &s["DividendNotice"]["properties"];
        let row = &s["FinDividendRow"]["properties"];
        for f in crate::catalog::docs_of("/fins/dividend") {
            let (n, r) = (&notice[f.name], &row[f.name]);
            assert_eq!(n["type"], r["type"], "{}", f.name);
            assert_eq!(n["anyOf"], r["anyOf"], "{}", f.name);
            assert_ne!(n["description"], r["description"], "{}", f.name);
        }
        assert!(
            notice["DivRate"]["description"]
                .as_str()
                .unwrap()
                .contains("yen")
        );
        let vs = &s["MarginRow"]["properties"]["ValSource"];
        assert!(vs["description"].as_str().unwrap().contains("estimated"));
        assert_eq!(vs["oneOf"][1]["$ref"], "#/components/schemas/ValSource");
    }

    #[test]
    fn the_check_catches_an_untyped_or_placeholder_field() {
        let doc = json!({"components": {"schemas": {
            "XRow": {"properties": {
                "Typed": {"type": "number", "description": "Close. Unit: yen"},
                "Untyped": {"description": "Something"},
                "Placeholder": {"type": "string", "description": "See the upstream's documentation."},
                "Blank": {"type": "string"}
            }},
            "Stats": {"allOf": [{"$ref": "#/components/schemas/XRow"}, {"properties": {
                "count": {"type": "integer"},
                "nested": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/XRow", "description": "Inside"}]}
            }}]}
        }}});
        let mut bad = untyped_fields(&doc);
        bad.sort();
        assert_eq!(
            bad,
            [
                "Stats.count",
                "Stats.nested",
                "XRow.Blank",
                "XRow.Placeholder",
                "XRow.Untyped"
            ]
        );
    }

    #[test]
    fn parameters_state_what_the_proxy_enforces() {
        let doc = serde_json::to_value(crate::http::openapi()).unwrap();
        let params = &doc["paths"]["/v2/equities/bars/daily"]["get"]["parameters"];
        let find = |n: &str| {
            params
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == n)
                .unwrap()["schema"]
                .clone()
        };
        let code = regex_lite(&find("code")["pattern"]);
        assert!(code("72030") && code("130A0") && code("7203") && !code("720") && !code("7203 0"));
        let date = regex_lite(&find("date")["pattern"]);
        assert!(
            date("2026-11-20") && date("20261120") && !date("2026-13-01") && !date("2026-1120")
        );
        assert_eq!(find("code")["minLength"], 1);
        let cal = &doc["paths"]["/v2/markets/calendar"]["get"]["parameters"];
        let hol = cal
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "hol_div")
            .unwrap();
        assert_eq!(hol["schema"]["enum"], json!(["0", "1", "2", "3"]));
        let desc = doc["paths"]["/v2/markets/margin-interest"]["get"]["description"]
            .as_str()
            .unwrap();
        assert!(desc.contains("code + published_date"), "{desc}");
    }

    /// Full-match test of a published pattern, with the `regex` crate the lockfile already has.
    fn regex_lite(pattern: &Value) -> impl Fn(&str) -> bool + use<> {
        let re = regex::Regex::new(pattern.as_str().expect("pattern")).unwrap();
        move |s| re.is_match(s)
    }
}
