//! A small JSON Schema checker for the subset `openapi/openapi.json` uses (OpenAPI 3.0
//! flavour: `nullable`, `$ref` into `components`). A keyword outside the subset is reported
//! as an error rather than ignored, so the document cannot drift into something this checker
//! silently accepts. (The `jsonschema` crate would pull dozens of crates into every test
//! build for about 150 lines of logic.)

use serde_json::Value;

/// Keywords that only annotate (`format` names the integer width or float kind the types were
/// generated from: `int32`, `uint16`, `double`; ranges are in `minimum`/`maximum`).
const ANNOTATIONS: &[&str] = &["description", "example", "default", "title", "nullable", "format"];
/// Keywords this checker enforces.
const CHECKED: &[&str] = &[
    "$ref",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
    "anyOf",
    "allOf",
    "not",
];

/// Resolve a local `$ref` (`#/components/...`) against the document.
pub fn resolve<'a>(doc: &'a Value, r: &str) -> Result<&'a Value, String> {
    let pointer = r.strip_prefix('#').ok_or_else(|| format!("only local $ref are supported: {r}"))?;
    doc.pointer(pointer).ok_or_else(|| format!("$ref {r} does not resolve"))
}

/// Errors of `schema` itself: unknown keywords and unresolvable references, recursively.
pub fn lint(doc: &Value, schema: &Value, at: &str, errors: &mut Vec<String>) {
    let Value::Object(m) = schema else {
        errors.push(format!("{at}: a schema must be an object"));
        return;
    };
    for (k, v) in m {
        if !ANNOTATIONS.contains(&k.as_str()) && !CHECKED.contains(&k.as_str()) {
            errors.push(format!("{at}: keyword '{k}' is outside the checked subset"));
        }
        match k.as_str() {
            "$ref" => {
                if let Err(e) = resolve(doc, v.as_str().unwrap_or("")) {
                    errors.push(format!("{at}: {e}"));
                }
            }
            "properties" => {
                for (name, s) in v.as_object().into_iter().flatten() {
                    lint(doc, s, &format!("{at}.properties.{name}"), errors);
                }
            }
            "items" | "not" => lint(doc, v, &format!("{at}.{k}"), errors),
            "additionalProperties" if v.is_object() => lint(doc, v, &format!("{at}.{k}"), errors),
            "anyOf" | "allOf" => {
                for (i, s) in v.as_array().into_iter().flatten().enumerate() {
                    lint(doc, s, &format!("{at}.{k}[{i}]"), errors);
                }
            }
            "pattern" if digits_pattern(v.as_str().unwrap_or("")).is_none() => {
                errors.push(format!("{at}: pattern {v} is outside the subset (^[0-9]{{N}}$)"));
            }
            _ => {}
        }
    }
}

/// `^[0-9]{N}$` -> N.
fn digits_pattern(p: &str) -> Option<usize> {
    p.strip_prefix("^[0-9]{")?.strip_suffix("}$")?.parse().ok()
}

/// The JSON Schema type name of a value (`integer` for whole numbers).
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Check `value` against `schema`; the first violation, with its JSON path.
pub fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return check(doc, resolve(doc, r)?, value, at);
    }
    if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
        return Ok(());
    }
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let actual = type_name(value);
        let fits = actual == t || (t == "number" && actual == "integer");
        if !fits {
            return Err(format!("{at}: expected {t}, got {actual} ({})", clip(value)));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            return Err(format!("{at}: {} is not one of {}", clip(value), Value::Array(options.clone())));
        }
    }
    if let Some(not) = schema.get("not") {
        if check(doc, not, value, at).is_ok() {
            return Err(format!("{at}: {} matches a schema it must not ({not})", clip(value)));
        }
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
            if n < min {
                return Err(format!("{at}: {n} is below the minimum {min}"));
            }
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
            if n > max {
                return Err(format!("{at}: {n} is above the maximum {max}"));
            }
        }
    }
    if let Some(s) = value.as_str() {
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
            if (s.chars().count() as u64) < min {
                return Err(format!("{at}: '{s}' is shorter than {min}"));
            }
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
            if (s.chars().count() as u64) > max {
                return Err(format!("{at}: '{s}' is longer than {max}"));
            }
        }
        if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
            let n = digits_pattern(p).ok_or_else(|| format!("{at}: unsupported pattern {p}"))?;
            if s.len() != n || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("{at}: '{s}' does not match {p}"));
            }
        }
    }
    if let Some(items) = value.as_array() {
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
            if (items.len() as u64) < min {
                return Err(format!("{at}: {} items, at least {min} needed: {}", items.len(), clip(value)));
            }
        }
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
            if items.len() as u64 > max {
                return Err(format!("{at}: {} items, at most {max} allowed: {}", items.len(), clip(value)));
            }
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(doc, item_schema, item, &format!("{at}[{i}]"))?;
            }
        }
    }
    if let Some(obj) = value.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let name = name.as_str().unwrap_or("");
            if !obj.contains_key(name) {
                return Err(format!("{at}: required key '{name}' is missing ({})", clip(value)));
            }
        }
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(doc, s, v, &format!("{at}.{k}"))?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => return Err(format!("{at}: unexpected key '{k}' ({})", clip(value))),
                    Some(s @ Value::Object(_)) => check(doc, s, v, &format!("{at}.{k}"))?,
                    _ => {}
                },
            }
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(doc, s, value, at)?;
        }
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        let mut why = Vec::new();
        for s in any {
            match check(doc, s, value, at) {
                Ok(()) => return Ok(()),
                Err(e) => why.push(e),
            }
        }
        return Err(format!("{at}: matches none of the alternatives: {}", why.join(" | ")));
    }
    Ok(())
}

fn clip(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 300 {
        format!("{}…", &s[..s.char_indices().take_while(|(i, _)| *i < 300).last().map_or(0, |(i, c)| i + c.len_utf8())])
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_checker_enforces_types_required_keys_refs_and_alternatives() {
        let doc = json!({"components": {"schemas": {
            "E": {"type": "object", "properties": {"msg": {"type": "string"}, "code": {"type": "integer", "not": {"enum": [0]}}},
                  "required": ["msg", "code"], "additionalProperties": false},
            "Ok": {"type": "object", "properties": {"code": {"type": "integer", "enum": [0]}, "data": {"type": "number", "nullable": true}},
                   "required": ["code", "data"]}}}});
        let s = json!({"anyOf": [{"$ref": "#/components/schemas/Ok"}, {"$ref": "#/components/schemas/E"}]});
        assert!(check(&doc, &s, &json!({"code": 0, "data": 30}), "$").is_ok());
        assert!(check(&doc, &s, &json!({"code": 0, "data": null}), "$").is_ok());
        assert!(check(&doc, &s, &json!({"msg": "x", "code": 1001}), "$").is_ok());
        assert!(
            check(&doc, &s, &json!({"msg": "x", "code": 1001, "data": null}), "$").is_err(),
            "no data key on errors"
        );
        assert!(check(&doc, &s, &json!({"msg": "x", "code": "1001"}), "$").is_err(), "code type");
        assert!(check(&doc, &s, &json!({"msg": "x", "code": 0}), "$").is_err(), "code 0 without data");
        let int = json!({"type": "integer"});
        assert!(check(&doc, &int, &json!(30.0), "$").is_err(), "30.0 is not an integer on the wire");
        assert!(check(&doc, &json!({"type": "string", "pattern": "^[0-9]{3}$"}), &json!("12a"), "$").is_err());
        let mut errors = Vec::new();
        lint(&doc, &json!({"type": "string", "contentEncoding": "base64", "$ref": "#/nope"}), "$", &mut errors);
        assert_eq!(errors.len(), 2, "{errors:?}");
    }
}
