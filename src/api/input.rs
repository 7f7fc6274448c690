//! Typed inputs: every platform operation's parameters are one `#[derive(Deserialize,
//! JsonSchema)]` struct in its handler's file. The same struct is what the handler reads and
//! what the OpenAPI document says (`api::operations`), so the two cannot drift.
//!
//! Parameters come as strings (query string or form body, see [`Params`]) and are bound the
//! way the platform's Spring backend binds them:
//! - the first occurrence of a name wins; unknown names are ignored;
//! - a blank value counts as absent (`slotNum=` is no slot number);
//! - numbers and booleans are read from their text; a value that does not read is refused
//!   with a message naming the parameter (`Parameter 'slotNum' is invalid: 'x' is not an
//!   integer.`), a missing required one likewise (`Required parameter 'deviceId' is missing.`).
//!
//! The value types below ([`Text`], [`Int`], [`Time`], [`Latitude`], [`Longitude`]) carry
//! their own rule and their own schema, so a range is written once.

use super::body::{kind, MAX_AMOUNT};
use super::params::{clip, Binding, Pair, Params};
use crate::clock::{parse_datetime, Millis};
use crate::error::Error;
use crate::model::Money;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use compact_str::CompactString;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::fmt;

/// The typed parameters of one request (query string or form body).
#[derive(Debug)]
pub struct Input<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Input<T> {
    type Error = Error;
    type Future = Binding<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        match Params::from_request(req, payload) {
            Binding::Ready(params) => {
                Binding::Ready(Some(params.expect("a fresh binding").and_then(|p| bind(&p)).map(Input)))
            }
            Binding::Waiting(params) => Binding::Waiting(Box::pin(async move { bind(&params.await?).map(Input) })),
        }
    }
}

/// Bind `p` to `T` with the platform's rules (see the module header).
pub fn bind<T: DeserializeOwned>(p: &Params) -> Result<T, Error> {
    T::deserialize(ParamsDe { pairs: p.pairs() }).map_err(BindError::into_error)
}

// ----- the deserializer over name/value pairs ---------------------------------------------------

/// Why binding failed; becomes the platform's `1001` message.
#[derive(Debug)]
pub enum BindError {
    /// A required parameter is absent or blank.
    Missing(String),
    /// A parameter is present but unusable.
    Bad { name: String, why: String },
    /// A body member (empty name: the body) that must be a JSON object is not one; `got`
    /// names what it is. A body of the wrong shape: 1002.
    NotAnObject { name: String, got: &'static str },
    /// A failure not tied to one parameter (a struct that is not a map).
    Other(String),
}

impl BindError {
    fn into_error(self) -> Error {
        match self {
            BindError::Missing(name) => Error::missing_param(&name),
            BindError::Bad { name, why } => Error::bad_param(&name, why),
            BindError::NotAnObject { name, got } if name.is_empty() => {
                Error::bad_body(format!("expected a JSON object, got {got}"))
            }
            BindError::NotAnObject { name, got } => Error::bad_body(format!("{name} must be a JSON object, got {got}")),
            BindError::Other(why) => Error::bad_param("request", why),
        }
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindError::Missing(n) => write!(f, "missing {n}"),
            BindError::Bad { name, why } => write!(f, "{name}: {why}"),
            BindError::NotAnObject { name, got } => write!(f, "{name}: not a JSON object but {got}"),
            BindError::Other(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for BindError {}

impl de::Error for BindError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        BindError::Other(msg.to_string())
    }
    fn missing_field(field: &'static str) -> Self {
        BindError::Missing(field.to_string())
    }
}

struct ParamsDe<'a> {
    pairs: &'a [Pair],
}

impl<'de, 'a> Deserializer<'de> for ParamsDe<'a> {
    type Error = BindError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        visitor.visit_map(PairsAccess { pairs: self.pairs, at: 0, value: None })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// Walks the pairs: the first non-blank occurrence of each name, in order.
struct PairsAccess<'a> {
    pairs: &'a [Pair],
    at: usize,
    value: Option<(&'a str, &'a str)>,
}

impl<'de, 'a> MapAccess<'de> for PairsAccess<'a> {
    type Error = BindError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, BindError> {
        while let Some((k, v)) = self.pairs.get(self.at) {
            let i = self.at;
            self.at += 1;
            // Blank is absent; a later occurrence of a name already seen is ignored.
            if v.trim().is_empty() || self.pairs[..i].iter().any(|(seen, sv)| seen == k && !sv.trim().is_empty()) {
                continue;
            }
            self.value = Some((k.as_str(), v.as_str()));
            let key: de::value::StrDeserializer<'_, BindError> = k.as_str().into_deserializer();
            return seed.deserialize(key).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, BindError> {
        let (name, value) = self.value.take().ok_or_else(|| BindError::Other("a value without a name".into()))?;
        seed.deserialize(ValueDe(value)).map_err(|e| match e {
            BindError::Other(why) => BindError::Bad { name: name.to_string(), why },
            BindError::Missing(inner) if inner.is_empty() => BindError::Missing(name.to_string()),
            e => e,
        })
    }
}

/// One parameter's text, read as whatever the field asks for.
struct ValueDe<'a>(&'a str);

impl ValueDe<'_> {
    fn int(&self) -> Result<i64, BindError> {
        let v = self.0.trim();
        v.parse().map_err(|_| BindError::Other(format!("'{}' is not an integer", clip(v))))
    }
}

/// The integer methods of a deserializer whose `int()` reads the value as an `i64`: each
/// width refuses what does not fit, naming its range.
macro_rules! bind_int {
    ($($method:ident $visit:ident $t:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
            let v = self.int()?;
            let n = <$t>::try_from(v)
                .map_err(|_| BindError::Other(format!("{v} is outside {}..{}", <$t>::MIN, <$t>::MAX)))?;
            visitor.$visit(n)
        }
    )*};
}

impl<'de> Deserializer<'de> for ValueDe<'_> {
    type Error = BindError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        visitor.visit_str(self.0)
    }

    bind_int!(deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16, deserialize_i32 visit_i32 i32,
        deserialize_i64 visit_i64 i64, deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
        deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64);

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        let v = self.0.trim();
        match v.parse::<f64>() {
            Ok(f) if f.is_finite() => visitor.visit_f64(f),
            _ => Err(BindError::Other(format!("'{}' is not a number", clip(v)))),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        match self.0.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => visitor.visit_bool(true),
            "false" | "0" | "no" => visitor.visit_bool(false),
            other => Err(BindError::Other(format!("'{}' is not true or false", clip(other)))),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        // Blank values never reach here (they count as absent).
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, BindError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, BindError> {
        let e: de::value::StrDeserializer<'_, BindError> = self.0.trim().into_deserializer();
        e.deserialize_enum("", &[], visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier
    }
}

// ----- the deserializer over a JSON body -------------------------------------------------------

/// Bind a JSON body to `T` the way the platform's JSON binder reads it: `null` is absent; a
/// number may come as a string holding one (`"12"`), a blank string is then absent; a string
/// field takes only a JSON string; a boolean may be `1`/`0` or those as strings. A refusal
/// names the member by its path in the body (`adConfigList[0].code`).
pub fn bind_json<T: DeserializeOwned>(body: &serde_json::Value) -> Result<T, BindError> {
    T::deserialize(JsonDe(body))
}

/// Bind with the platform's messages: `1001` naming the member, `1002` when the body as a
/// whole is not what the operation takes. An empty body is an empty object (every required
/// member is then reported missing by name).
pub fn bind_body<T: DeserializeOwned>(body: &serde_json::Value) -> Result<T, Error> {
    let empty;
    let body = if body.is_null() {
        empty = serde_json::Value::Object(serde_json::Map::new());
        &empty
    } else {
        body
    };
    bind_json(body).map_err(|e| match e {
        BindError::Other(why) => Error::bad_body(why),
        e => e.into_error(),
    })
}

/// Bind a body that is a bare JSON array (C12's cabinet ids, P4's price ids) to its items,
/// named `body[i]` in messages; an empty body or an empty array is refused (`what` names the
/// items).
pub fn bind_list<T: DeserializeOwned>(body: &super::body::JsonBody, what: &str) -> Result<Vec<T>, Error> {
    body.array(what)?;
    bind_json(&body.0).map_err(|e| match e {
        BindError::Other(why) => Error::bad_body(why),
        e => at("body", e).into_error(),
    })
}

/// Prefix a failure inside a member or item with where it is.
fn at(place: &str, e: BindError) -> BindError {
    let join =
        |inner: &str| if inner.starts_with('[') { format!("{place}{inner}") } else { format!("{place}.{inner}") };
    // An empty name is the value itself: a blank required text (missing) or a value that is
    // not an object.
    let name = |inner: &str| if inner.is_empty() { place.to_string() } else { join(inner) };
    match e {
        BindError::Other(why) => BindError::Bad { name: place.to_string(), why },
        BindError::Bad { name: inner, why } => BindError::Bad { name: join(&inner), why },
        BindError::Missing(inner) => BindError::Missing(name(&inner)),
        BindError::NotAnObject { name: inner, got } => BindError::NotAnObject { name: name(&inner), got },
    }
}

struct JsonDe<'a>(&'a serde_json::Value);

impl JsonDe<'_> {
    fn int(&self) -> Result<i64, BindError> {
        use serde_json::Value;
        match self.0 {
            Value::Number(n) => match n.as_i64() {
                Some(i) => Ok(i),
                None => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
                    _ => Err(BindError::Other(format!("{n} is not an integer"))),
                },
            },
            // Blank is absent: a required member is reported missing.
            Value::String(s) if s.trim().is_empty() => Err(BindError::Missing(String::new())),
            Value::String(s) => {
                s.trim().parse().map_err(|_| BindError::Other(format!("'{}' is not an integer", clip(s))))
            }
            other => Err(BindError::Other(format!("expected an integer, got {}", kind(other)))),
        }
    }
}

impl<'de> Deserializer<'de> for JsonDe<'_> {
    type Error = BindError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        use serde_json::Value;
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (_, Some(i), _) => visitor.visit_i64(i),
                (_, _, f) => visitor.visit_f64(f.unwrap_or(f64::NAN)),
            },
            Value::String(s) => visitor.visit_str(s),
            Value::Array(_) => self.deserialize_seq(visitor),
            Value::Object(_) => self.deserialize_map(visitor),
        }
    }

    bind_int!(deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16, deserialize_i32 visit_i32 i32,
        deserialize_i64 visit_i64 i64, deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
        deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64);

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        use serde_json::Value;
        let v = match self.0 {
            Value::Number(n) => n.as_f64(),
            Value::String(s) if s.trim().is_empty() => return Err(BindError::Missing(String::new())),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            other => return Err(BindError::Other(format!("expected a number, got {}", kind(other)))),
        };
        match v {
            Some(f) if f.is_finite() => visitor.visit_f64(f),
            _ => Err(BindError::Other("not a number".into())),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        use serde_json::Value;
        match self.0 {
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) if n.as_i64() == Some(1) => visitor.visit_bool(true),
            Value::Number(n) if n.as_i64() == Some(0) => visitor.visit_bool(false),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => visitor.visit_bool(true),
                "false" | "0" => visitor.visit_bool(false),
                _ => Err(BindError::Other(format!("'{}' is not true or false", clip(s)))),
            },
            other => Err(BindError::Other(format!("expected a boolean, got {}", kind(other)))),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        match self.0 {
            serde_json::Value::String(s) => visitor.visit_str(s),
            other => Err(BindError::Other(format!("expected a string, got {}", kind(other)))),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        self.deserialize_str(visitor)
    }

    /// `null` and (for the numbers and booleans beside strings) a blank string are absent; a
    /// string field that must tell blank from absent reads it with [`blank_is_text`].
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        match self.0 {
            serde_json::Value::Null => visitor.visit_none(),
            serde_json::Value::String(s) if s.trim().is_empty() => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, BindError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        match self.0 {
            serde_json::Value::Array(items) => visitor.visit_seq(ItemsAccess { items, at: 0 }),
            other => Err(BindError::Other(format!("expected an array, got {}", kind(other)))),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        match self.0 {
            serde_json::Value::Object(m) => visitor.visit_map(MembersAccess { iter: m.iter(), value: None }),
            other => Err(BindError::NotAnObject { name: String::new(), got: kind(other) }),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, BindError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BindError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct tuple tuple_struct enum identifier
    }
}

/// The members of an object; `null` ones are absent.
struct MembersAccess<'a> {
    iter: serde_json::map::Iter<'a>,
    value: Option<(&'a str, &'a serde_json::Value)>,
}

impl<'de> MapAccess<'de> for MembersAccess<'_> {
    type Error = BindError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, BindError> {
        for (k, v) in self.iter.by_ref() {
            if v.is_null() {
                continue;
            }
            self.value = Some((k.as_str(), v));
            let key: de::value::StrDeserializer<'_, BindError> = k.as_str().into_deserializer();
            return seed.deserialize(key).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, BindError> {
        let (name, value) = self.value.take().ok_or_else(|| BindError::Other("a value without a name".into()))?;
        seed.deserialize(JsonDe(value)).map_err(|e| at(name, e))
    }
}

/// The items of an array; a failure names the item's index.
struct ItemsAccess<'a> {
    items: &'a [serde_json::Value],
    at: usize,
}

impl<'de> de::SeqAccess<'de> for ItemsAccess<'_> {
    type Error = BindError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, BindError> {
        let Some(v) = self.items.get(self.at) else { return Ok(None) };
        let i = self.at;
        self.at += 1;
        seed.deserialize(JsonDe(v)).map(Some).map_err(|e| at(&format!("[{i}]"), e))
    }
}

/// For an optional string member whose blank value means "clear it" (S4's texts): blank stays
/// `Some("")` instead of absent. Use with `#[serde(default, deserialize_with = ...)]`.
pub fn blank_is_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

// ----- value types -----------------------------------------------------------------------------

/// A text parameter, trimmed (never blank: blank is absent). Inline up to 24 bytes, so an id
/// costs no allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub CompactString);

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                match v.trim() {
                    "" => Err(E::missing_field("")),
                    t => Ok(Text(CompactString::from(t))),
                }
            }
        }
        d.deserialize_str(V)
    }
}

impl JsonSchema for Text {
    fn schema_name() -> Cow<'static, str> {
        "String".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string" })
    }
}

/// An integer parameter within `LO..=HI` (`Parameter 'x' is invalid: 5 is outside 1..3.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int<const LO: i64, const HI: i64>(pub i64);

impl<const LO: i64, const HI: i64> Int<LO, HI> {
    /// The value.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl<'de, const LO: i64, const HI: i64> Deserialize<'de> for Int<LO, HI> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        if !(LO..=HI).contains(&v) {
            return Err(de::Error::custom(format!("{v} is outside {LO}..{HI}")));
        }
        Ok(Int(v))
    }
}

impl<const LO: i64, const HI: i64> JsonSchema for Int<LO, HI> {
    fn schema_name() -> Cow<'static, str> {
        format!("Int_{LO}_{HI}").into()
    }
    fn inline_schema() -> bool {
        true
    }
    /// A range of at most 16 values is listed as an enum too, as the platform's docs list
    /// small code sets (`type`: 0 or 1, `dataLevel`: 1, 2 or 3).
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        if HI - LO < 16 {
            let values: Vec<i64> = (LO..=HI).collect();
            json_schema!({ "type": "integer", "minimum": LO, "maximum": HI, "enum": values })
        } else {
            json_schema!({ "type": "integer", "minimum": LO, "maximum": HI })
        }
    }
}

/// A text of at most `MAX` characters, trimmed; blank counts as missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Short<const MAX: usize>(pub String);

impl<const MAX: usize> std::ops::Deref for Short<MAX> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for Short<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.chars().count() > MAX {
            return Err(de::Error::custom(format!("longer than {MAX} characters")));
        }
        match s.trim() {
            "" => Err(de::Error::missing_field("")),
            t if t.len() == s.len() => Ok(Short(s)),
            t => Ok(Short(t.to_string())),
        }
    }
}

impl<const MAX: usize> JsonSchema for Short<MAX> {
    fn schema_name() -> Cow<'static, str> {
        format!("Short_{MAX}").into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "maxLength": MAX })
    }
}

/// An amount of money in major units, 0..1,000,000: a JSON number or a string holding one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price(pub Money);

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if !(0.0..=MAX_AMOUNT).contains(&v) {
            return Err(de::Error::custom(format!("{v} is outside 0..{MAX_AMOUNT}")));
        }
        Money::from_major(v).map(Price).ok_or_else(|| de::Error::custom("not an amount"))
    }
}

impl JsonSchema for Price {
    fn schema_name() -> Cow<'static, str> {
        "Price".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number", "minimum": 0, "maximum": MAX_AMOUNT,
            "description": "Major units (30 or 1.5); a string holding a number is accepted." })
    }
}

/// A time parameter in the platform's `YYYY-MM-DD HH:mm:ss`, as virtual milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub Millis);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Text::deserialize(d)?;
        parse_datetime(&s)
            .map(Time)
            .ok_or_else(|| de::Error::custom(format!("'{}' is not a time like 2026-03-02 09:00:00", clip(&s))))
    }
}

impl JsonSchema for Time {
    fn schema_name() -> Cow<'static, str> {
        "Time".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "example": "2026-03-02 09:00:00", "description": "YYYY-MM-DD HH:mm:ss" })
    }
}

macro_rules! degrees {
    ($name:ident, $limit:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct $name(pub f64);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = f64::deserialize(d)?;
                if !(-$limit..=$limit).contains(&v) {
                    return Err(de::Error::custom(format!("{v} is outside -{}..{}", $limit, $limit)));
                }
                Ok($name(v))
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn inline_schema() -> bool {
                true
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "number", "minimum": -$limit, "maximum": $limit })
            }
        }
    };
}

degrees!(Latitude, 90.0, "A latitude in degrees, -90..90.");
degrees!(Longitude, 180.0, "A longitude in degrees, -180..180.");

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        device_id: Text,
        slot_num: Option<Int<0, 10>>,
        lat: Option<Latitude>,
        show: Option<bool>,
        since: Option<Time>,
        count: Option<u16>,
    }

    fn bind_query(q: &str) -> Result<Sample, Error> {
        let req = TestRequest::with_uri(&format!("/x?{q}")).to_http_request();
        bind(&Params::parse(&req, b"").unwrap())
    }

    fn msg(r: Result<Sample, Error>) -> String {
        r.unwrap_err().message().to_string()
    }

    #[test]
    fn binds_like_the_platform() {
        let s = bind_query("deviceId=%20BJD1%20&slotNum=3&lat=48.5&show=1&since=2026-03-02%2009:00:00&x=y").unwrap();
        assert_eq!(s.device_id.as_str(), "BJD1");
        assert_eq!(s.slot_num, Some(Int(3)));
        assert_eq!(s.lat, Some(Latitude(48.5)));
        assert_eq!(s.show, Some(true));
        assert!(s.since.is_some());
        assert_eq!(bind_query("deviceId=A&count=%2065535").unwrap().count, Some(65535));
        // First occurrence wins; blank is absent.
        let s = bind_query("deviceId=A&deviceId=B&slotNum=&show=").unwrap();
        assert_eq!((s.device_id.as_str(), s.slot_num, s.show), ("A", None, None));
        let s = bind_query("deviceId=&deviceId=B").unwrap();
        assert_eq!(s.device_id.as_str(), "B");
    }

    #[test]
    fn every_refusal_names_the_parameter() {
        assert_eq!(msg(bind_query("slotNum=1")), "Required parameter 'deviceId' is missing.");
        assert_eq!(msg(bind_query("deviceId=%20")), "Required parameter 'deviceId' is missing.");
        assert_eq!(msg(bind_query("deviceId=A&slotNum=x")), "Parameter 'slotNum' is invalid: 'x' is not an integer.");
        assert_eq!(msg(bind_query("deviceId=A&slotNum=11")), "Parameter 'slotNum' is invalid: 11 is outside 0..10.");
        assert_eq!(msg(bind_query("deviceId=A&lat=91")), "Parameter 'lat' is invalid: 91 is outside -90..90.");
        assert_eq!(msg(bind_query("deviceId=A&lat=NaN")), "Parameter 'lat' is invalid: 'NaN' is not a number.");
        assert_eq!(
            msg(bind_query("deviceId=A&show=maybe")),
            "Parameter 'show' is invalid: 'maybe' is not true or false."
        );
        assert_eq!(
            msg(bind_query("deviceId=A&since=yesterday")),
            "Parameter 'since' is invalid: 'yesterday' is not a time like 2026-03-02 09:00:00."
        );
        assert_eq!(
            msg(bind_query("deviceId=A&count=70000")),
            "Parameter 'count' is invalid: 70000 is outside 0..65535."
        );
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        name: Short<5>,
        size: Option<Int<1, 10>>,
        price: Option<Price>,
        on: Option<bool>,
        note: Option<Text>,
        #[serde(default, deserialize_with = "blank_is_text")]
        clears: Option<String>,
        rows: Option<Vec<Row>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Row {
        code: Text,
        at: Option<Int<0, 5>>,
    }

    fn body(v: serde_json::Value) -> Result<Body, Error> {
        bind_body(&v)
    }

    fn body_msg(v: serde_json::Value) -> String {
        body(v).unwrap_err().message().to_string()
    }

    #[test]
    fn json_bodies_bind_leniently_about_numbers_and_strictly_about_the_rest() {
        use serde_json::json;
        let b = body(json!({"name": " ab ", "size": "3", "price": "0.10", "on": 1, "note": null, "clears": "",
            "rows": [{"code": "x", "at": 2.0}], "unknown": [1]}))
        .unwrap();
        assert_eq!((&*b.name, b.size, b.price, b.on), ("ab", Some(Int(3)), Some(Price(Money(10))), Some(true)));
        assert_eq!((b.note, b.clears.as_deref()), (None, Some("")));
        let rows = b.rows.unwrap();
        assert_eq!((rows[0].code.as_str(), rows[0].at), ("x", Some(Int(2))));
        // Blank numbers are absent; a blank required text is missing.
        assert_eq!(body(json!({"name": "a", "size": " "})).unwrap().size, None);
        assert_eq!(body_msg(json!({"name": " "})), "Required parameter 'name' is missing.");
        assert_eq!(body_msg(json!({})), "Required parameter 'name' is missing.");
        assert_eq!(body_msg(serde_json::Value::Null), "Required parameter 'name' is missing.");
        assert_eq!(body_msg(json!({"name": 5})), "Parameter 'name' is invalid: expected a string, got a number.");
        assert_eq!(body_msg(json!({"name": "abcdef"})), "Parameter 'name' is invalid: longer than 5 characters.");
        assert_eq!(body_msg(json!({"name": "a", "size": 1.5})), "Parameter 'size' is invalid: 1.5 is not an integer.");
        assert_eq!(
            body_msg(json!({"name": "a", "price": -1})),
            "Parameter 'price' is invalid: -1 is outside 0..1000000."
        );
        assert_eq!(
            body_msg(json!({"name": "a", "on": "maybe"})),
            "Parameter 'on' is invalid: 'maybe' is not true or false."
        );
        assert_eq!(
            body_msg(json!({"name": "a", "rows": [{"code": "x"}, {"code": "y", "at": 9}]})),
            "Parameter 'rows[1].at' is invalid: 9 is outside 0..5."
        );
        assert_eq!(body_msg(json!({"name": "a", "rows": [{}]})), "Required parameter 'rows[0].code' is missing.");
        assert_eq!(
            body_msg(json!({"name": "a", "rows": {}})),
            "Parameter 'rows' is invalid: expected an array, got an object."
        );
        assert_eq!(body_msg(json!([1])), "Request body is invalid: expected a JSON object, got an array.");
    }
}
