//! JSON request bodies of the Advance API: read once (a size limit, UTF-8, JSON), then bound
//! to the operation's input type by `api::input::bind_body` (an object) or `bind_list` (the
//! bare arrays of `unbindShop` and price-strategy delete).

use super::params::MAX_PARAM_BODY;
use crate::error::Error;
use actix_web::dev::Payload;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use serde_json::Value;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bare_arrays_and_malformed_bodies_are_refused_by_name() {
        assert!(JsonBody(json!([])).array("ids").is_err());
        assert!(JsonBody(json!({"a": 1})).array("ids").is_err());
        assert!(JsonBody(Value::Null).array("ids").is_err());
        assert_eq!(JsonBody(json!(["a"])).array("ids").unwrap().len(), 1);
        assert!(JsonBody::parse(b"{").is_err());
        assert_eq!(JsonBody::parse(b"  ").unwrap().0, Value::Null);
    }
}
