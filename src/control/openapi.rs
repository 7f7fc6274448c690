//! `GET /_sim/openapi.json`: the OpenAPI 3.0 document of the platform and control APIs, and
//! `bajie-sim openapi`, which prints it.
//!
//! Every platform operation is generated from the operation lists of `api/` (each group's
//! `OPERATIONS`): its query parameters and JSON body from the input structs its handler binds,
//! its success from the view its handler serialises, its envelope shape from the list. The
//! rest (the control API, push and callback payloads) is the hand-kept part,
//! `openapi/hand-kept.json`. `openapi/openapi.json` is the generated document
//! as committed, for readers and tools without a running simulator; a test proves it equal to
//! what this module generates.

use crate::api::operation::{self, Answer, Body, Operation};
use crate::api::PREFIX;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};
use schemars::generate::{Contract, SchemaSettings};
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

/// The hand-kept part, compiled in.
const HAND_KEPT: &str = include_str!("../../openapi/hand-kept.json");

/// Register the route (inside the `/_sim` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(serve));
}

/// `GET /_sim/openapi.json`: built once, then served as bytes.
async fn serve() -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/json"))).body(text())
}

/// The document as text (pretty-printed, newline-terminated), built on first use.
pub fn text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let mut s = serde_json::to_string_pretty(&document()).expect("a JSON value serialises");
        s.push('\n');
        s
    })
}

/// The whole document.
pub fn document() -> Value {
    let mut doc: Value =
        serde_json::from_str(HAND_KEPT).expect("openapi/hand-kept.json is JSON (a unit test reads it)");
    let Value::Object(root) = &mut doc else { unreachable!("the hand-kept part is an object") };
    root.remove("x-note");
    let callbacks = root.remove("x-callbacks").unwrap_or(Value::Null);

    // Answers and request bodies in generators of their own contract; both land in the
    // components.
    let mut g = settings(Contract::Serialize).into_generator();
    let mut inputs = settings(Contract::Deserialize).into_generator();
    let mut paths = Map::new();
    for op in crate::api::all_operations() {
        let key = format!("{PREFIX}{}", op.path);
        let item = paths.entry(key).or_insert_with(|| json!({}));
        for (i, m) in op.methods.iter().enumerate() {
            let id =
                if i == 0 { format!("{}_{}", op.id, op.name) } else { format!("{}_{}_{}", op.id, op.name, m.as_str()) };
            let mut o = operation_object(op, &id, &mut g, &mut inputs);
            if let Some(cb) = callbacks.get(op.id) {
                o["callbacks"] = cb.clone();
            }
            item[m.as_str()] = o;
        }
    }
    // Platform operations first, in the documentation's order; then the control API.
    if let Some(Value::Object(kept)) = root.remove("paths") {
        paths.extend(kept);
    }
    root.insert("paths".into(), Value::Object(paths));

    let schemas = root
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(Value::as_object_mut)
        .expect("the hand-kept part has components.schemas");
    let hand_kept: std::collections::BTreeSet<String> = schemas.keys().cloned().collect();
    for (name, schema) in g.take_definitions(true).into_iter().chain(inputs.take_definitions(true)) {
        assert!(!hand_kept.contains(&name), "schema {name} is both generated and hand-kept");
        // A type both read and written (an enum such as EventName) comes from both generators.
        if let Some(before) = schemas.get(&name) {
            assert_eq!(before, &schema, "schema {name} differs between what is read and what is written");
            continue;
        }
        schemas.insert(name, schema);
    }
    schemas.sort_keys();
    doc
}

/// OpenAPI 3.0 schemas of what the simulator writes (answers: `Contract::Serialize`, an
/// `Option` field without `skip_serializing_if` is always there, maybe null) or reads
/// (inputs: `Contract::Deserialize`, an `Option` field may be left out).
fn settings(contract: Contract) -> SchemaSettings {
    SchemaSettings::openapi3().with(|s| {
        s.contract = contract;
        s.meta_schema = None;
    })
}

/// One operation for one method.
fn operation_object(op: &Operation, id: &str, g: &mut SchemaGenerator, inputs: &mut SchemaGenerator) -> Value {
    let mut o = json!({
        "operationId": id,
        "summary": op.summary,
        "tags": [op.tag],
    });
    if !op.description.is_empty() {
        o["description"] = op.description.into();
    }
    if !op.auth {
        o["security"] = json!([]);
    }
    let mut params: Vec<Value> = op
        .path_params
        .iter()
        .map(|p| {
            json!({"name": p.name, "in": "path", "required": true, "schema": {"type": "string"},
                   "description": p.description, "example": p.example})
        })
        .collect();
    for query in [op.query, op.stray].into_iter().flatten() {
        params.extend(query_parameters(query));
    }
    if !params.is_empty() {
        o["parameters"] = params.into();
    }
    if let Some(Body::Typed(f)) = op.body {
        // C12 is documented as GET with a JSON body: it is said so, although OpenAPI 3.0
        // frowns on it.
        let schema = f(inputs).to_value();
        o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema}}});
    }
    let success = answer_schema(op.answer, g);
    let mut responses = json!({
        "200": {
            "description": "Success, or a business error (HTTP 200, non-zero code, no data key).",
            "content": {"application/json": {"schema": {"anyOf": [success, {"$ref": "#/components/schemas/BusinessError"}]}}},
            "headers": {"X-Sim-Warnings": {"$ref": "#/components/headers/X-Sim-Warnings"}}
        }
    });
    if op.auth {
        responses["401"] = json!({"$ref": "#/components/responses/Unauthorized"});
    }
    responses["404"] = json!({"$ref": "#/components/responses/NotFound"});
    responses["default"] = json!({"$ref": "#/components/responses/Refused"});
    o["responses"] = responses;
    o
}

/// The query parameters of an input struct: one per property, its doc comment as the
/// description, its example beside it. The struct itself is no component: a generator of its
/// own resolves it, with the OpenAPI 3.0 transforms applied.
fn query_parameters(query: operation::SchemaFn) -> Vec<Value> {
    let (schema, defs) = operation::own_schema(query, settings(Contract::Deserialize));
    assert!(defs.is_empty(), "an input struct's fields are inline types");
    let required: Vec<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else { return Vec::new() };
    props
        .iter()
        .map(|(name, prop)| {
            let mut prop = prop.clone();
            let mut p = json!({"name": name, "in": "query", "required": required.contains(&name.as_str())});
            let fields = prop.as_object_mut().expect("a property schema is an object");
            if let Some(d) = fields.remove("description") {
                p["description"] = d;
            }
            if let Some(e) = fields.remove("example") {
                p["example"] = e;
            }
            // Absent is how a parameter says "none"; there is no null in a query string.
            fields.remove("nullable");
            if let Some(Value::Array(values)) = fields.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
            p["schema"] = prop;
            p
        })
        .collect()
}

/// The success shape of an operation.
fn answer_schema(answer: Answer, g: &mut SchemaGenerator) -> Value {
    let ok_code = json!({"type": "integer", "enum": [0]});
    let envelope = |keys: &[(&str, Value)]| {
        let props: Map<String, Value> = keys.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        let required: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
        json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
    };
    let msg = json!({"type": "string"});
    match answer {
        Answer::Empty => json!({"$ref": "#/components/schemas/OkEmpty"}),
        Answer::Data(f) => envelope(&[("msg", msg), ("code", ok_code), ("data", f(g).to_value())]),
        Answer::StringCode(f) => envelope(&[
            ("msg", msg),
            (
                "code",
                json!({"type": "string", "enum": ["0"], "description": "String code (documented quirk of this endpoint)."}),
            ),
            ("data", f(g).to_value()),
        ]),
        Answer::List(f) => envelope(&[("msg", msg), ("code", ok_code), ("list", f(g).to_value())]),
        Answer::Page(f) => envelope(&[("msg", msg), ("code", ok_code), ("page", f(g).to_value())]),
        Answer::CodeFirst(f) => envelope(&[("code", ok_code), ("msg", msg), ("data", f(g).to_value())]),
        Answer::Bare(f) => f(g).to_value(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_with_every_platform_operation() {
        let v = document();
        assert!(v["openapi"].as_str().unwrap().starts_with("3.0"));
        assert!(v["paths"]["/_sim/openapi.json"]["get"].is_object());
        for op in crate::api::all_operations() {
            for m in op.methods {
                assert!(v["paths"][format!("{PREFIX}{}", op.path)][m.as_str()].is_object(), "{} {}", op.id, op.path);
            }
        }
        assert!(v.get("x-callbacks").is_none() && v.get("x-note").is_none());
    }

    #[test]
    fn the_committed_document_is_the_generated_one() {
        let committed = include_str!("../../openapi/openapi.json");
        assert!(
            committed == text(),
            "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
        );
    }
}
