//! The platform's documented contract, operation by operation, and the contract warnings: the
//! named places where the simulator accepts a request the documented contract does not promise
//! (a tolerated spelling, a body where the query string is read, a method the docs do not
//! list, ...). The request journal (`control::requests`) attaches them to its entries and to
//! the answer's `X-Sim-Warnings` header; with `--strict` the ones that have a stricter answer
//! get it instead of the tolerant one.
//!
//! Only what a request carries is judged here (method, path, parameters, body shape). The two
//! warnings that need the world (a second eject, another account's record) are decided by the
//! journal's middleware with a read of the world.

use super::params::Pair;
use crate::error::Error;
use std::sync::OnceLock;

/// Where an operation reads its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Query-string parameters (a POST with no body, as documented).
    Query,
    /// A JSON body.
    Json,
}

/// One documented operation.
#[derive(Debug)]
pub struct Operation {
    /// Id of the documented list (`O1`, `C3`, ...).
    pub id: &'static str,
    /// The documented method.
    pub method: &'static str,
    /// Other methods the docs list.
    pub alt: &'static [&'static str],
    /// Path template relative to the platform prefix.
    pub path: &'static str,
    /// Documented query parameters.
    pub params: &'static [&'static str],
    /// Where the input is read.
    pub input: Input,
}

/// The stray parameters Springfox lists on several cabinet pages (documented, ignored).
const STRAY: [&str; 5] = ["id", "dailiId", "username", "password", "status"];

macro_rules! op {
    ($id:literal, $m:literal, $path:literal, [$($p:expr),*], $input:ident) => {
        op!($id, $m, [], $path, [$($p),*], $input)
    };
    ($id:literal, $m:literal, [$($alt:literal),*], $path:literal, [$($p:expr),*], $input:ident) => {
        Operation { id: $id, method: $m, alt: &[$($alt),*], path: $path, params: &[$($p),*], input: Input::$input }
    };
}

/// Every documented operation the simulator serves (E3 is outbound).
pub const OPERATIONS: &[Operation] = &[
    op!("A1", "POST", "/oauth2/login", ["username", "password"], Query),
    op!("O1", "GET", "/rent/cabinet/query", ["deviceId"], Query),
    op!("O2", "POST", "/rent/order/create", ["deviceId", "callbackURL"], Query),
    op!("O3", "POST", "/rent/order/query", ["tradeNo"], Query),
    op!("O4", "POST", "/rent/order/close", ["tradeNo"], Query),
    op!("O5", "GET", "/rent/order/detail", ["tradeNo"], Query),
    op!("O6", "POST", "/rent/cabinet/list", ["coordType", "zoomLevel", "lat", "lng", "showPrice"], Query),
    op!("O7", "POST", "/cdb-open-api/v1/rent/cabinet/query", ["deviceId"], Query),
    op!(
        "C1",
        "POST",
        "/cabinet/operation",
        ["cabinetid", "slotNum", "operationType", "reason", "batcabFault", "batteryFault", "type", "gpsTime"],
        Query
    ),
    op!(
        "C2",
        "POST",
        "/cabinet/ejectByRepair",
        [STRAY[0], STRAY[1], STRAY[2], STRAY[3], STRAY[4], "cabinetid", "slotNum"],
        Query
    ),
    op!("C3", "POST", "/cabinet/ejectByRent", ["cabinetid", "rentOrderId", "slotNum"], Query),
    op!("C4", "GET", "/cabinet/getAllDevice", [], Query),
    op!("C5", "GET", "/cabinet/detail/{cabinetId}", [STRAY[0], STRAY[1], STRAY[2], STRAY[3], STRAY[4]], Query),
    op!("C6", "GET", "/cabinet/getDeviceByShopId", [STRAY[0], STRAY[1], STRAY[2], STRAY[3], STRAY[4], "shopid"], Query),
    op!(
        "C7",
        "GET",
        "/cabinet/getAllDevicePage",
        [STRAY[0], STRAY[1], STRAY[2], STRAY[3], STRAY[4], "page", "limit"],
        Query
    ),
    op!(
        "C8",
        "GET",
        "/cabinet/batteryListByCabinetId/{cabinetId}",
        [STRAY[0], STRAY[1], STRAY[2], STRAY[3], STRAY[4]],
        Query
    ),
    op!("C9", "GET", "/cabinet/slotByCabinetId/{cabinetId}", [STRAY[0], STRAY[1], STRAY[2], STRAY[3], STRAY[4]], Query),
    op!("C10", "POST", "/cabinet/bind2shop/{qrcode}/{newshopid}", [], Query),
    op!("C11", "POST", "/cabinet/bindAd", [STRAY[0], STRAY[1], STRAY[2], STRAY[3], STRAY[4]], Json),
    op!("C12", "GET", ["POST"], "/cabinet/unbindShop", [], Json),
    op!("C13", "POST", "/cabinet/publishAd", [], Json),
    op!("S1", "GET", "/shop/getShopList", [], Query),
    op!("S2", "GET", "/shop/detail/{shopid}", [], Query),
    op!("S3", "POST", "/shop/create", [], Json),
    op!("S4", "PUT", "/shop/update", [], Json),
    op!("S5", "DELETE", "/shop/delete/{shopid}", [], Query),
    op!("P1", "POST", "/shop/priceStrategy/page", [], Json),
    op!("P2", "GET", "/shop/priceStrategy/detail/{priceId}", [], Query),
    op!("P3", "POST", "/shop/priceStrategy/saveOrUpdate", [], Json),
    op!("P4", "POST", "/shop/priceStrategy/delete", [], Json),
    op!("P5", "POST", "/shop/priceStrategy/bindShop", [], Json),
    op!("P6", "POST", "/shop/priceStrategy/unbindShop", [], Json),
    op!("R1", "GET", "/order/list", ["page", "limit", "dataLevel", "sTime", "eTime", "pCabinetid"], Query),
    op!("E1", "POST", "/cabinet/eventPush/config", [], Json),
    op!("E2", "GET", "/cabinet/eventPush/config/get", [], Query),
];

/// `/shop/delete?newID=`: a path the simulator serves for S5 that the docs do not list.
const S5_BY_QUERY: &str = "/shop/delete";

/// Operations that change the world (for [`Code::ForeignRecord`]).
pub const WRITES: &[&str] =
    &["O2", "O3", "O4", "C1", "C2", "C3", "C10", "C11", "C12", "C13", "S4", "S5", "P3", "P4", "P5", "P6"];

/// The operation a path (relative to the platform prefix) belongs to, whatever the method.
pub fn operation(path: &str) -> Option<&'static Operation> {
    // The one path table below the wire layer finds the operation's place
    // (`operations::position`; it lists S5's query-string alias too); its contract is looked
    // up by that place.
    static BY_PLACE: OnceLock<Vec<Option<&'static Operation>>> = OnceLock::new();
    let by_place = BY_PLACE.get_or_init(|| crate::operations::OPERATIONS.iter().map(|(id, _)| by_id(id)).collect());
    crate::operations::position(path).and_then(|i| by_place.get(i).copied().flatten())
}

/// The first operation whose path template `path` matches (what [`operation`] answers, by a
/// walk over this list; tests compare the two).
#[cfg(test)]
fn walk(path: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| crate::operations::template_matches(o.path, path))
}

/// The operation with id `id` (case-insensitive).
pub fn by_id(id: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.id.eq_ignore_ascii_case(id.trim()))
}

/// A contract warning's stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// `cabinetId` on C1-C3, `shopId` on C6, `orderId` on O3-O5.
    ParamSpelling,
    /// Parameters in a form or JSON body where the operation reads the query string.
    BodyParams,
    /// `Content-Type: application/json` with no body on a query-string operation.
    JsonWithoutBody,
    /// Parameters the operation does not document, or members of its JSON body that its
    /// input does not read (ignored).
    UnknownParam,
    /// A path that is no platform endpoint.
    UnknownEndpoint,
    /// A path the simulator serves for an operation that the docs do not list.
    UndocumentedPath,
    /// A method the docs do not list for the operation.
    UndocumentedMethod,
    /// O2's `callbackURL` sent raw instead of percent-encoded.
    CallbackUrlNotEncoded,
    /// O2 without `callbackURL`.
    NoCallbackUrl,
    /// C3 for an order whose battery was already ejected (or whose eject already failed).
    SecondEject,
    /// A write naming another account's cabinet, order or shop.
    ForeignRecord,
}

impl Code {
    /// Every code, in the documentation's order.
    pub const ALL: [Code; 11] = [
        Code::ParamSpelling,
        Code::BodyParams,
        Code::JsonWithoutBody,
        Code::UnknownParam,
        Code::UnknownEndpoint,
        Code::UndocumentedPath,
        Code::UndocumentedMethod,
        Code::CallbackUrlNotEncoded,
        Code::NoCallbackUrl,
        Code::SecondEject,
        Code::ForeignRecord,
    ];

    /// The stable name, as in `X-Sim-Warnings`.
    pub fn name(self) -> &'static str {
        match self {
            Code::ParamSpelling => "PARAM_SPELLING",
            Code::BodyParams => "BODY_PARAMS",
            Code::JsonWithoutBody => "JSON_WITHOUT_BODY",
            Code::UnknownParam => "UNKNOWN_PARAM",
            Code::UnknownEndpoint => "UNKNOWN_ENDPOINT",
            Code::UndocumentedPath => "UNDOCUMENTED_PATH",
            Code::UndocumentedMethod => "UNDOCUMENTED_METHOD",
            Code::CallbackUrlNotEncoded => "CALLBACK_URL_NOT_ENCODED",
            Code::NoCallbackUrl => "NO_CALLBACK_URL",
            Code::SecondEject => "SECOND_EJECT",
            Code::ForeignRecord => "FOREIGN_RECORD",
        }
    }

    /// The code named `name` (case-insensitive).
    pub fn parse(name: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.name().eq_ignore_ascii_case(name.trim()))
    }

    /// What to do instead (the documented way).
    pub fn alternative(self) -> &'static str {
        match self {
            Code::ParamSpelling => "Use the documented spelling: cabinetid on C1-C3, shopid on C6, tradeNo on O3-O5.",
            Code::BodyParams => "Send the parameters in the query string of a request without a body.",
            Code::JsonWithoutBody => "Send no Content-Type on a request without a body.",
            Code::UnknownParam => {
                "Send only the documented parameters and JSON body members (GET /_sim/openapi.json lists them); \
                 check the spelling (callbackURL, cabinetid, eventSubscriptions)."
            }
            Code::UnknownEndpoint => "Call one of the documented endpoints (GET /_sim/openapi.json lists them).",
            Code::UndocumentedPath => "Use the documented path: DELETE /shop/delete/{shopid}.",
            Code::UndocumentedMethod => "Use the documented method (GET /_sim/openapi.json lists them).",
            Code::CallbackUrlNotEncoded => {
                "Percent-encode callbackURL (encodeURIComponent, urllib.parse.quote(url, safe=''))."
            }
            Code::NoCallbackUrl => "Pass callbackURL: it is how the platform tells you the eject result.",
            Code::SecondEject => "Call ejectByRent at most once per order; read the order with O5 to learn its state.",
            Code::ForeignRecord => "Use the credentials of the account that owns the record.",
        }
    }

    /// What `--strict` answers instead.
    pub fn strict(self) -> &'static str {
        match self {
            Code::ParamSpelling => "1001: the documented parameter is missing",
            Code::BodyParams => {
                "the body is ignored: the query string alone is read (usually 1001: a parameter is missing)"
            }
            Code::JsonWithoutBody => "1002: the body is invalid",
            Code::UnknownParam => "unchanged: unknown parameters are ignored",
            Code::UnknownEndpoint => "unchanged: HTTP 404",
            Code::UndocumentedPath => "HTTP 404",
            Code::UndocumentedMethod => "HTTP 405",
            Code::CallbackUrlNotEncoded => "unchanged: the query string is decoded once, as sent",
            Code::NoCallbackUrl => "1001: callbackURL is missing",
            Code::SecondEject => "unchanged: refused (2007)",
            Code::ForeignRecord => "unchanged: answered like a record that does not exist",
        }
    }
}

/// One warning on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Stable code.
    pub code: Code,
    /// What this request did.
    pub message: String,
}

impl Warning {
    fn new(code: Code, message: impl Into<String>) -> Self {
        Warning { code, message: message.into() }
    }
}

/// What a request looks like to the contract check.
#[derive(Debug)]
pub struct RequestShape<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// Path relative to the platform prefix.
    pub path: &'a str,
    /// The raw query string.
    pub query: &'a str,
    /// `Content-Type`, lower case, empty when absent.
    pub content_type: &'a str,
    /// The body, when it was read (`None`: no body, or not read).
    pub body: Option<&'a [u8]>,
    /// Whether the request carries a body at all (`Content-Length` > 0 or chunked).
    pub has_body: bool,
}

/// The outcome of the contract check.
#[derive(Debug, Default)]
pub struct Verdict {
    /// The operation, when the path is one.
    pub op: Option<&'static Operation>,
    /// Warnings, in the order found.
    pub warnings: Vec<Warning>,
    /// Under `--strict`: the answer to give instead of calling the handler.
    pub refusal: Option<Error>,
    /// Under `--strict`: the body must not be read (parameters from the query string only).
    pub drop_body: bool,
    /// The request's parameters as the handler reads them: the query string's, then the body's
    /// (unless dropped).
    pub params: Vec<Pair>,
}

/// Pairs of a form body, or the keys of a JSON object body, as the parameter reader reads them.
fn body_params(ctype: &str, body: &[u8]) -> Vec<Pair> {
    let Ok(text) = std::str::from_utf8(body) else { return Vec::new() };
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    if ctype.starts_with("application/json") || (ctype.is_empty() && text.starts_with('{')) {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(m)) => m
                .into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => (k.into(), s.into()),
                    other => (k.into(), other.to_string().into()),
                })
                .collect(),
            _ => Vec::new(),
        }
    } else if ctype.is_empty()
        || ctype.starts_with("application/x-www-form-urlencoded")
        || ctype.starts_with("text/plain")
    {
        super::params::decode_pairs(text)
    } else {
        Vec::new()
    }
}

/// The raw (undecoded) value of `name` in a query string.
fn raw_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| kv.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
}

/// Tolerated spellings: (operations, documented name, tolerated name).
const SPELLINGS: &[(&[&str], &str, &str)] = &[
    (&["C1", "C2", "C3"], "cabinetid", "cabinetId"),
    (&["C6"], "shopid", "shopId"),
    (&["O3", "O4", "O5"], "tradeNo", "orderId"),
];

/// The top-level members of each JSON-body operation's body, as its input type names them: the
/// schema the OpenAPI document shows for it (`api::operation`), worked out once. `None` for an
/// operation whose body is no object (C12's and P4's bare arrays) or that has none.
fn body_members(op: &str) -> Option<&'static [String]> {
    use super::operation::{own_schema, Body};
    static MEMBERS: OnceLock<Vec<(&'static str, Vec<String>)>> = OnceLock::new();
    let all = MEMBERS.get_or_init(|| {
        super::all_operations()
            .into_iter()
            .filter_map(|o| {
                let Body::Typed(body) = o.body?;
                let (s, _) = own_schema(body, schemars::generate::SchemaSettings::openapi3());
                let members = s.get("properties")?.as_object()?.keys().cloned().collect();
                Some((o.id, members))
            })
            .collect()
    });
    all.iter().find(|(id, _)| *id == op).map(|(_, m)| m.as_slice())
}

/// Judge a platform request against the contract; `strict` fills [`Verdict::refusal`].
pub fn check(r: &RequestShape<'_>, strict: bool) -> Verdict {
    let mut v = Verdict::default();
    let query = super::params::decode_pairs(r.query);
    let body = r.body.map(|b| body_params(r.content_type, b)).unwrap_or_default();
    let Some(op) = operation(r.path) else {
        v.params = query;
        v.params.extend(body);
        v.warnings.push(Warning::new(
            Code::UnknownEndpoint,
            format!("{} {} is not an endpoint of the platform.", r.method, super::params::clip(r.path)),
        ));
        return v;
    };
    v.op = Some(op);
    let refuse = |v: &mut Verdict, e: Error| {
        if strict && v.refusal.is_none() {
            v.refusal = Some(e);
        }
    };
    if r.path == S5_BY_QUERY {
        v.warnings.push(Warning::new(Code::UndocumentedPath, format!("{} is not a documented path of S5.", r.path)));
        refuse(&mut v, Error::NotFound(format!("No endpoint {} {}.", r.method, r.path)));
        // Its method and parameters (`newID`) are the alias's own: nothing more to say.
        v.params = query;
        v.params.extend(body);
        return v;
    }
    if r.method != op.method && !op.alt.contains(&r.method) {
        v.warnings.push(Warning::new(
            Code::UndocumentedMethod,
            format!("{} documents {} {}, not {}.", op.id, op.method, op.path, r.method),
        ));
        refuse(&mut v, Error::Http { status: 405, msg: "This endpoint does not take this HTTP method.".into() });
    }
    if op.input == Input::Query {
        if !body.is_empty() {
            let kind = if r.content_type.starts_with("application/json")
                || r.content_type.is_empty() && r.body.is_some_and(|b| b.trim_ascii_start().starts_with(b"{"))
            {
                "a JSON body"
            } else {
                "a form body"
            };
            v.warnings.push(Warning::new(
                Code::BodyParams,
                format!("{} reads its parameters from the query string; this request sent them in {kind}.", op.id),
            ));
            v.drop_body = strict;
        } else if r.content_type.starts_with("application/json") && !r.has_body {
            v.warnings.push(Warning::new(
                Code::JsonWithoutBody,
                format!("Content-Type: application/json on a {} request without a body.", op.id),
            ));
            refuse(&mut v, Error::bad_body("Content-Type is application/json but the body is empty"));
        }
    }
    // Under --strict the body's parameters are not read, so only the query string counts.
    let read_body: &[Pair] = if v.drop_body { &[] } else { &body };
    let all = || query.iter().chain(read_body);
    let has = |name: &str| all().any(|(k, _)| k == name);
    for (ops, documented, tolerated) in SPELLINGS {
        if ops.contains(&op.id) && has(tolerated) && !has(documented) {
            v.warnings.push(Warning::new(
                Code::ParamSpelling,
                format!("{} documents '{documented}'; this request sent '{tolerated}'.", op.id),
            ));
            refuse(&mut v, Error::missing_param(documented));
        }
    }
    let tolerated = |name: &str| SPELLINGS.iter().any(|(ops, _, t)| ops.contains(&op.id) && *t == name);
    let mut unknown: Vec<&str> = Vec::new();
    for (k, _) in all() {
        let known = op.params.contains(&k.as_str()) || tolerated(k);
        if !known && !unknown.contains(&k.as_str()) {
            unknown.push(k);
        }
    }
    // JSON-body operations: the query string is judged by the list above; the body's members
    // by the members its input type reads (a misspelt member is otherwise ignored without a
    // word: an E1 with `subscriptions` saved no subscription at all).
    let mut stray_members: Vec<&str> = Vec::new();
    let mut members: &[String] = &[];
    if op.input == Input::Json {
        unknown.retain(|k| query.iter().any(|(q, _)| q == k));
        let json_object = r.content_type.starts_with("application/json")
            || r.content_type.is_empty() && r.body.is_some_and(|b| b.trim_ascii_start().starts_with(b"{"));
        if let (true, Some(m)) = (json_object, body_members(op.id)) {
            members = m;
            for (k, _) in &body {
                if !members.iter().any(|m| m == k) && !stray_members.contains(&k.as_str()) {
                    stray_members.push(k);
                }
            }
        }
    }
    let shown = |names: &[&str]| {
        let listed: Vec<String> = names.iter().take(5).map(|k| format!("'{}'", super::params::clip(k))).collect();
        let more = if names.len() > 5 { format!(" and {} more", names.len() - 5) } else { String::new() };
        format!("{}{more}", listed.join(", "))
    };
    let mut ignored: Vec<String> = Vec::new();
    if !unknown.is_empty() {
        let documented = if op.params.is_empty() { "none".to_string() } else { op.params.join(", ") };
        ignored.push(format!("{} (documented: {documented})", shown(&unknown)));
    }
    if !stray_members.is_empty() {
        ignored.push(format!("{} in its JSON body (its members: {})", shown(&stray_members), members.join(", ")));
    }
    if !ignored.is_empty() {
        v.warnings.push(Warning::new(Code::UnknownParam, format!("{} ignores {}.", op.id, ignored.join("; and "))));
    }
    if op.id == "O2" {
        let url = all().find(|(k, _)| k == "callbackURL").map(|(_, u)| u.trim());
        match url {
            None | Some("") => {
                v.warnings.push(Warning::new(
                    Code::NoCallbackUrl,
                    "O2 without callbackURL: nobody is told whether the battery came out.",
                ));
                refuse(&mut v, Error::missing_param("callbackURL"));
            }
            Some(_) => {
                if raw_value(r.query, "callbackURL").is_some_and(|raw| raw.contains([':', '/', '?'])) {
                    v.warnings.push(Warning::new(
                        Code::CallbackUrlNotEncoded,
                        "callbackURL is not percent-encoded: a '&' in it would cut its own query string off.",
                    ));
                }
            }
        }
    }
    v.params = query;
    if !v.drop_body {
        v.params.extend(body);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exact_paths_find_what_the_walk_over_templates_finds() {
        let mut paths: Vec<String> = OPERATIONS.iter().map(|o| o.path.to_string()).collect();
        paths.extend(
            OPERATIONS.iter().map(|o| o.path.replace("{cabinetId}", "BJD60151").replace('{', "x").replace('}', "")),
        );
        paths.extend(["/", "", "/rent/cabinet/query/", "/nothing", "/shop/detail/"].map(String::from));
        for p in &paths {
            assert_eq!(operation(p).map(|o| o.id), walk(p).map(|o| o.id), "{p}");
        }
        assert_eq!(operation("/rent/cabinet/query").map(|o| o.id), Some("O1"));
        assert_eq!(operation(S5_BY_QUERY).map(|o| o.id), Some("S5"));
    }

    fn shape<'a>(method: &'a str, path: &'a str, query: &'a str) -> RequestShape<'a> {
        RequestShape { method, path, query, content_type: "", body: None, has_body: false }
    }

    fn codes(v: &Verdict) -> Vec<&'static str> {
        v.warnings.iter().map(|w| w.code.name()).collect()
    }

    #[test]
    fn a_documented_request_has_no_warning() {
        let v = check(&shape("POST", "/rent/order/create", "deviceId=BJD60151&callbackURL=http%3A%2F%2Fx%2Fcb"), true);
        assert_eq!(v.op.unwrap().id, "O2");
        assert!(v.warnings.is_empty(), "{:?}", v.warnings);
        assert!(v.refusal.is_none());
        assert!(check(&shape("GET", "/cabinet/detail/BJD60151", "dailiId=1"), true).warnings.is_empty());
        assert!(check(&shape("POST", "/cabinet/unbindShop", ""), true).warnings.is_empty());
    }

    /// A JSON body's members are judged against its input type: a misspelt one is named, the
    /// documented ones and a bare array are not, and nothing is refused for it.
    #[test]
    fn a_json_body_member_the_operation_does_not_read_is_named() {
        let e1 = |body: &'static str, ctype: &'static str| RequestShape {
            content_type: ctype,
            body: Some(body.as_bytes()),
            has_body: true,
            ..shape("POST", "/cabinet/eventPush/config", "")
        };
        let good = r#"{"pushUrl":"http://127.0.0.1:9/h","eventSubscriptions":[{"event":"BATTERY_IN","enable":true}]}"#;
        assert!(check(&e1(good, "application/json"), true).warnings.is_empty());
        let bad = r#"{"pushUrl":"http://127.0.0.1:9/h","subscriptions":[],"pushurl":"x"}"#;
        for ctype in ["application/json", "application/json; charset=utf-8", ""] {
            let v = check(&e1(bad, ctype), true);
            assert_eq!(codes(&v), ["UNKNOWN_PARAM"], "{ctype}");
            let msg = &v.warnings[0].message;
            assert!(msg.starts_with("E1 ignores 'subscriptions', 'pushurl' in its JSON body (its members: "), "{msg}");
            assert!(msg.contains("eventSubscriptions") && msg.contains("pushUrl"), "{msg}");
            assert!(v.refusal.is_none());
        }
        // A stray query parameter and a stray member: one warning naming both.
        let v = check(&RequestShape { query: "x=1", ..e1(bad, "application/json") }, false);
        assert_eq!(codes(&v), ["UNKNOWN_PARAM"]);
        assert!(v.warnings[0].message.contains("'x' (documented: none); and 'subscriptions'"), "{:?}", v.warnings);
        // C12 and P4 take bare arrays: nothing to judge.
        let c12 = RequestShape {
            content_type: "application/json",
            body: Some(br#"["BJD60151"]"#),
            has_body: true,
            ..shape("POST", "/cabinet/unbindShop", "")
        };
        assert!(check(&c12, true).warnings.is_empty());
        // Every JSON operation whose body is an object has its members.
        for id in ["C11", "C13", "S3", "S4", "P1", "P3", "P5", "P6", "E1"] {
            assert!(body_members(id).is_some_and(|m| !m.is_empty()), "{id}");
        }
        assert!(body_members("C12").is_none() && body_members("O1").is_none());
    }

    #[test]
    fn each_tolerance_is_named_and_strict_refuses_where_production_would() {
        let v = check(&shape("POST", "/cabinet/ejectByRent", "cabinetId=B&rentOrderId=1&slotNum=0"), false);
        assert_eq!(codes(&v), ["PARAM_SPELLING"]);
        assert!(v.refusal.is_none());
        let v = check(&shape("POST", "/cabinet/ejectByRent", "cabinetId=B&rentOrderId=1&slotNum=0"), true);
        assert_eq!(v.refusal.unwrap().message(), "Required parameter 'cabinetid' is missing.");
        let v = check(&shape("GET", "/rent/order/query", "tradeNo=1&foo=2"), true);
        assert_eq!(codes(&v), ["UNDOCUMENTED_METHOD", "UNKNOWN_PARAM"]);
        assert_eq!(v.refusal.unwrap().code(), 405);
        let v = check(&shape("POST", "/rent/order/create", "deviceId=B&callbackURL=http://x/cb"), true);
        assert_eq!(codes(&v), ["CALLBACK_URL_NOT_ENCODED"]);
        assert!(v.refusal.is_none());
        let v = check(&shape("POST", "/rent/order/create", "deviceId=B"), true);
        assert_eq!(codes(&v), ["NO_CALLBACK_URL"]);
        assert_eq!(check(&shape("GET", "/cabinet/info", ""), true).warnings[0].code, Code::UnknownEndpoint);
        let v = check(&shape("POST", "/shop/delete", "newID=x"), true);
        assert_eq!(codes(&v), ["UNDOCUMENTED_PATH"]);
        let form = RequestShape {
            content_type: "application/x-www-form-urlencoded",
            body: Some(b"deviceId=B"),
            has_body: true,
            ..shape("GET", "/rent/cabinet/query", "")
        };
        let v = check(&form, true);
        assert_eq!(codes(&v), ["BODY_PARAMS"]);
        assert!(v.drop_body);
        let empty_json =
            RequestShape { content_type: "application/json", ..shape("GET", "/rent/cabinet/query", "deviceId=B") };
        assert_eq!(check(&empty_json, true).refusal.unwrap().code(), 1002);
    }

    #[test]
    fn every_code_has_a_name_an_alternative_and_a_strict_answer() {
        for c in Code::ALL {
            assert_eq!(Code::parse(c.name()), Some(c));
            assert!(!c.alternative().is_empty() && !c.strict().is_empty());
        }
        assert!(by_id("o7").is_some() && by_id("E3").is_none());
        assert_eq!(operation("/cdb-open-api/v1/rent/cabinet/query").unwrap().id, "O7");
        assert_eq!(operation("/rent/cabinet/query").unwrap().id, "O1");
    }
}
