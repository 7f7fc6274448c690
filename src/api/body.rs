//! JSON request bodies of the Advance API (shop, price-strategy and ad writes, the bare arrays
//! of `unbindShop` and price-strategy delete), read leniently about types the way a Spring
//! backend binds them (`"12"` for an integer, `12` for a string coordinate) and strictly about
//! everything else, with a message naming the field.

use super::params::{clip, MAX_PARAM_BODY};
use crate::error::Error;
use crate::model::Money;
use actix_web::dev::Payload;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;

/// Largest amount a body may carry, in major units; anything above is a typo, not a price.
pub const MAX_AMOUNT: f64 = 1_000_000.0;

/// A request body parsed as JSON; `Null` when the body is empty.
#[derive(Debug, Clone)]
pub struct JsonBody(pub Value);

impl JsonBody {
    /// Parse raw body bytes (whatever the Content-Type says: clients forget it).
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        let text = std::str::from_utf8(body).map_err(|_| Error::bad_body("it is not UTF-8"))?;
        let text = text.trim();
        if text.is_empty() {
            return Ok(JsonBody(Value::Null));
        }
        serde_json::from_str(text).map(JsonBody).map_err(|e| Error::bad_body(format!("malformed JSON ({e})")))
    }

    /// The body as an object; an empty body is an empty object.
    pub fn object(&self) -> Result<Fields<'_>, Error> {
        match &self.0 {
            Value::Object(m) => Ok(Fields { map: Some(m), prefix: String::new() }),
            Value::Null => Ok(Fields { map: None, prefix: String::new() }),
            other => Err(Error::bad_body(format!("expected a JSON object, got {}", kind(other)))),
        }
    }

    /// The body as a non-empty array (`what` names its items in the message).
    pub fn array(&self, what: &str) -> Result<&[Value], Error> {
        match &self.0 {
            Value::Array(a) if !a.is_empty() => Ok(a),
            Value::Array(_) => Err(Error::bad_body(format!("expected a non-empty JSON array of {what}"))),
            Value::Null => Err(Error::bad_body(format!("expected a JSON array of {what}, got an empty body"))),
            other => Err(Error::bad_body(format!("expected a JSON array of {what}, got {}", kind(other)))),
        }
    }
}

/// The JSON type name of a value, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl FromRequest for JsonBody {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = body.await.map_err(|e| Error::bad_body(format!("it could not be read ({e})")))?;
            if body.len() > MAX_PARAM_BODY {
                return Err(Error::bad_body("it is larger than 256 KiB"));
            }
            JsonBody::parse(&body)
        })
    }
}

/// Typed access to the members of a JSON object; `null` counts as absent. Messages name a
/// member by its path in the body (`adConfigList[0].code`).
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    map: Option<&'a Map<String, Value>>,
    prefix: String,
}

impl<'a> Fields<'a> {
    /// Wrap an object found inside a body at path `at` (an array item).
    pub fn of(v: &'a Value, at: &str) -> Result<Self, Error> {
        match v {
            Value::Object(m) => Ok(Fields { map: Some(m), prefix: format!("{at}.") }),
            other => Err(Error::bad_body(format!("{at} must be a JSON object, got {}", kind(other)))),
        }
    }

    /// The path of member `name` in the body, for messages.
    pub fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn bad(&self, name: &str, why: impl std::fmt::Display) -> Error {
        Error::bad_param(&self.path(name), why)
    }

    fn missing(&self, name: &str) -> Error {
        Error::missing_param(&self.path(name))
    }

    /// The raw member, `None` when absent or null.
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(name)).filter(|v| !v.is_null())
    }

    /// Whether the member is present and not null.
    pub fn has(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    /// An optional string (numbers and booleans are refused: they are a client bug).
    pub fn string(&self, name: &str) -> Result<Option<&'a str>, Error> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.bad(name, format!("expected a string, got {}", kind(other)))),
        }
    }

    /// An optional string of at most `max` characters.
    pub fn string_max(&self, name: &str, max: usize) -> Result<Option<&'a str>, Error> {
        let s = self.string(name)?;
        if let Some(v) = s {
            if v.chars().count() > max {
                return Err(self.bad(name, format!("longer than {max} characters")));
            }
        }
        Ok(s)
    }

    /// A required, non-blank string of at most `max` characters, trimmed.
    pub fn required_string(&self, name: &str, max: usize) -> Result<&'a str, Error> {
        match self.string_max(name, max)?.map(str::trim) {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(self.missing(name)),
        }
    }

    /// An optional integer: a JSON integer or a string holding one.
    pub fn int(&self, name: &str) -> Result<Option<i64>, Error> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => Ok(Some(i)),
                None => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                    _ => Err(self.bad(name, format!("{n} is not an integer"))),
                },
            },
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => {
                s.trim().parse().map(Some).map_err(|_| self.bad(name, format!("'{}' is not an integer", clip(s))))
            }
            Some(other) => Err(self.bad(name, format!("expected an integer, got {}", kind(other)))),
        }
    }

    /// An optional integer within `lo..=hi`.
    pub fn int_in(&self, name: &str, lo: i64, hi: i64) -> Result<Option<i64>, Error> {
        match self.int(name)? {
            Some(v) if v < lo || v > hi => Err(self.bad(name, format!("{v} is outside {lo}..{hi}"))),
            v => Ok(v),
        }
    }

    /// A required integer within `lo..=hi`.
    pub fn required_int_in(&self, name: &str, lo: i64, hi: i64) -> Result<i64, Error> {
        self.int_in(name, lo, hi)?.ok_or_else(|| self.missing(name))
    }

    /// An optional finite number: a JSON number or a string holding one.
    pub fn number(&self, name: &str) -> Result<Option<f64>, Error> {
        let v = match self.raw(name) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(other) => return Err(self.bad(name, format!("expected a number, got {}", kind(other)))),
        };
        match v {
            Some(f) if f.is_finite() => Ok(Some(f)),
            _ => Err(self.bad(name, "not a number")),
        }
    }

    /// An optional amount of money (major units, 0..=1,000,000).
    pub fn money(&self, name: &str) -> Result<Option<Money>, Error> {
        match self.number(name)? {
            None => Ok(None),
            Some(v) if !(0.0..=MAX_AMOUNT).contains(&v) => {
                Err(self.bad(name, format!("{v} is outside 0..{MAX_AMOUNT}")))
            }
            Some(v) => Money::from_major(v).map(Some).ok_or_else(|| self.bad(name, "not an amount")),
        }
    }

    /// A required amount of money.
    pub fn required_money(&self, name: &str) -> Result<Money, Error> {
        self.money(name)?.ok_or_else(|| self.missing(name))
    }

    /// An optional boolean: `true`/`false`, `1`/`0`, or those as strings.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, Error> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(Some(true)),
            Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(Some(false)),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(self.bad(name, format!("'{}' is not true or false", clip(s)))),
            },
            Some(other) => Err(self.bad(name, format!("expected a boolean, got {}", kind(other)))),
        }
    }

    /// An optional array.
    pub fn array(&self, name: &str) -> Result<Option<&'a [Value]>, Error> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(self.bad(name, format!("expected an array, got {}", kind(other)))),
        }
    }

    /// A required, non-empty array of non-blank strings (ids).
    pub fn id_list(&self, name: &str) -> Result<Vec<String>, Error> {
        let items = self.array(name)?.ok_or_else(|| self.missing(name))?;
        if items.is_empty() {
            return Err(self.bad(name, "the list is empty"));
        }
        id_strings(items, name)
    }
}

/// Every item of `items` as a non-blank string, trimmed; `name` is used in messages.
pub fn id_strings(items: &[Value], name: &str) -> Result<Vec<String>, Error> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Value::String(_) => Err(Error::bad_param(&format!("{name}[{i}]"), "blank id")),
            other => Err(Error::bad_param(&format!("{name}[{i}]"), format!("expected a string, got {}", kind(other)))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_about_number_types_strict_about_the_rest() {
        let b = JsonBody(json!({"a": "12", "b": 12, "c": 1.5, "d": "x", "e": true, "f": null, "g": "0.10"}));
        let f = b.object().unwrap();
        assert_eq!(f.int("a").unwrap(), Some(12));
        assert_eq!(f.int("b").unwrap(), Some(12));
        assert!(f.int("c").is_err());
        assert!(f.int("d").is_err());
        assert!(f.string("b").is_err());
        assert_eq!(f.bool("e").unwrap(), Some(true));
        assert_eq!(f.int("f").unwrap(), None);
        assert_eq!(f.money("g").unwrap(), Some(Money(10)));
        assert!(f.money("b").is_ok());
        assert!(JsonBody(json!({"m": -1})).object().unwrap().money("m").is_err());
        assert!(JsonBody(json!([1])).object().is_err());
        assert!(JsonBody(Value::Null).object().unwrap().raw("a").is_none());
        assert!(JsonBody(json!([])).array("ids").is_err());
        assert!(JsonBody::parse(b"{").is_err());
    }
}
