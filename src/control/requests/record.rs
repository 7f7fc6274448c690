//! The pipeline step that journals every platform request, names its contract warnings (in the
//! entry and in `X-Sim-Warnings`), answers for `--strict`, and writes the access log.
//!
//! It runs around everything but the body deadline (outside `api::guard`), so an entry holds
//! exactly what the client got, size refusals and injected faults included. A body is read
//! here only when the request has one (GET requests pay nothing for it) and handed on
//! unchanged; a body compressed with `Content-Encoding` is passed through unread, since the
//! handlers decode it.
//!
//! The access log is one line per request (platform and control) at `info` under the target
//! `bajie_sim::access`, which the binary keeps quiet unless `RUST_LOG` asks for it.

use super::journal::{prefix, Draft, Entry, Part, Requests, HEADERS_CAP};
use crate::api::contract::{self, Code, RequestShape, Warning};
use crate::api::guard::MAX_BODY;
use crate::api::layer::Answer;
use crate::api::params::{read_error, DecodedQuery};
use crate::api::PREFIX;
use crate::clock::wall_now;
use crate::error::code;
use crate::fixtures::is_device_id;
use crate::model::OrderStatus;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{web, FromRequest, HttpMessage, ResponseError};
use base64::Engine;
use compact_str::CompactString;
use std::borrow::Cow;
use std::time::Instant;

/// The log target of the access log.
pub const ACCESS_TARGET: &str = "bajie_sim::access";

/// The response header listing a request's warning codes.
pub const WARNINGS_HEADER: &str = "x-sim-warnings";

/// Whether `path` is a platform path.
fn is_platform(path: &str) -> bool {
    path.strip_prefix(PREFIX).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// A step of the request pipeline (`api::layer`), around everything but the body deadline.
pub async fn record(
    state: &AppState,
    journal: &Requests,
    req: ServiceRequest,
    next: impl AsyncFnOnce(ServiceRequest) -> Answer,
) -> Answer {
    let access = log::log_enabled!(target: ACCESS_TARGET, log::Level::Info);
    if !is_platform(req.path()) {
        if !access {
            return next(req).await;
        }
        let started = Instant::now();
        let (method, path) = (req.method().to_string(), req.path().to_string());
        let res = next(req).await?;
        let (res, bytes) = take_body(res);
        let code = bytes.as_deref().and_then(|b| envelope_head(b).0);
        access_line(&method, &path, res.status().as_u16(), code, started, None);
        return Ok(put_body(res, bytes));
    }
    let started = Instant::now();
    let at_ms = state.clock.now();
    // The method and the URI outlive the request, which moves on to the handler: clones of
    // both cost no allocation (a standard method is a constant, the URI's bytes are shared),
    // where copies of the path and query as text cost one each per request.
    let method_kept = req.method().clone();
    let method = upper(method_kept.as_str());
    let uri = req.uri().clone();
    let path = uri.path();
    let rel = &path[PREFIX.len()..];
    let query = uri.query().unwrap_or("");
    let header = |name: HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let content_type = header(header::CONTENT_TYPE).unwrap_or("").to_ascii_lowercase();
    let declared: Option<u64> = header(header::CONTENT_LENGTH).and_then(|v| v.parse().ok());
    let has_body = crate::api::params::announces_body(req.headers());
    let encoded = header(header::CONTENT_ENCODING).is_some_and(|v| !v.eq_ignore_ascii_case("identity"));
    let (auth, account) = credentials(state, header(header::AUTHORIZATION));
    // The entry is written where the request's pieces are; only the headers are needed
    // before the request moves on to the handler.
    let mut draft = journal.enabled().then(Draft::new);
    let mut entry = draft.as_mut().map(Draft::begin);
    if let Some(e) = entry.as_deref_mut() {
        write_headers(e, &req, auth, account.as_deref());
    }

    // The body: read (within the size limit every handler has) and handed on unchanged.
    let mut req = req;
    let mut body: Option<web::Bytes> = None;
    let mut refused: Option<crate::error::Error> = None;
    if has_body && !encoded && declared.is_none_or(|n| n <= MAX_BODY as u64) {
        let (http, mut payload) = req.into_parts();
        match web::Bytes::from_request(&http, &mut payload).await {
            Ok(b) => {
                req = ServiceRequest::from_parts(http, Payload::from(b.clone()));
                body = Some(b);
            }
            Err(e) => {
                req = ServiceRequest::from_parts(http, Payload::None);
                refused = Some(read_error(&e));
            }
        }
    }

    let shape = RequestShape {
        method: &method,
        path: rel,
        query,
        content_type: &content_type,
        body: body.as_deref(),
        has_body,
    };
    let mut verdict = contract::check(&shape, state.config.strict);
    let op = verdict.op.map(|o| o.id);
    let pairs = std::mem::take(&mut verdict.params);
    let find = |names: &[&str]| pairs.iter().find(|(k, v)| names.contains(&k.as_str()) && !v.trim().is_empty());
    // What the entry names, copied out of the pairs (inline: ids are short), which may go on
    // to the handler.
    let cabinet: Option<CompactString> = find(&["deviceId", "cabinetid", "cabinetId", "qrcode", "pCabinetid"])
        .map(|(_, v)| v.trim())
        .or_else(|| rel.split('/').find(|s| is_device_id(s)))
        .map(CompactString::from);
    let cabinet = cabinet.as_deref();
    let mut order = find(&["tradeNo", "orderId", "rentOrderId"]).map(|(_, v)| v.trim().to_string());
    let shop = find(&["shopid", "shopId", "newID", "pNewid"]).map(|(_, v)| CompactString::from(v.trim()));
    if let (Some("C3"), Some(acct), Some(o)) = (op, account.as_deref(), order.as_deref()) {
        let again = state
            .store
            .read(|w| w.orders().get(o).is_some_and(|x| x.agent == acct && x.status != OrderStatus::Pending));
        if again {
            verdict.warnings.push(Warning {
                code: Code::SecondEject,
                message: format!("Order {o} was already ejected (or its eject failed); this is a second eject."),
            });
        }
    }

    let strict = refused.is_none() && verdict.refusal.is_some();
    let res = match refused.or(verdict.refusal.take()) {
        Some(e) => req.into_response(e.error_response()),
        None => {
            if verdict.drop_body {
                req.set_payload(Payload::None);
            }
            if !has_body {
                // Without a body the pairs are exactly what the handler's parameters read.
                req.extensions_mut().insert(DecodedQuery(pairs));
            }
            next(req).await?
        }
    };
    let (mut res, bytes) = take_body(res);
    let status = res.status().as_u16();
    let (code, msg) = bytes.as_deref().map(envelope_head).unwrap_or_default();
    if op == Some("O2") && code == Some(0) {
        order = bytes.as_deref().and_then(trade_no_of);
    }
    if let (Some(id), Some(acct), Some(c)) = (op, account.as_deref(), code) {
        let not_found = [code::UNBOUND_DEVICE, code::ORDER_NOT_FOUND, code::SHOP_NOT_FOUND, code::PRICE_NOT_FOUND];
        if contract::WRITES.contains(&id) && not_found.contains(&c) {
            let shop = shop.as_deref().or_else(|| shop_in_path(id, rel));
            let foreign = state.store.read(|w| {
                cabinet.and_then(|d| w.cabinets().get(d)).is_some_and(|x| x.agent != acct)
                    || order.as_deref().and_then(|o| w.orders().get(o)).is_some_and(|x| x.agent != acct)
                    || shop.and_then(|s| w.shops().get(s)).is_some_and(|x| x.agent != acct)
            });
            if foreign {
                verdict.warnings.push(Warning {
                    code: Code::ForeignRecord,
                    message: format!(
                        "{id} named a record of another account; it was answered like one that does not exist."
                    ),
                });
            }
        }
    }
    if !verdict.warnings.is_empty() {
        let codes: Vec<&str> = verdict.warnings.iter().map(|w| w.code.name()).collect();
        if let Ok(v) = HeaderValue::from_str(&codes.join(",")) {
            res.headers_mut().insert(HeaderName::from_static(WARNINGS_HEADER), v);
        }
    }
    if access {
        access_line(&method, path, status, code, started, account.as_deref());
    }
    if let Some(e) = entry {
        fill(
            e,
            Filled {
                at_ms,
                method: &method,
                path,
                op,
                query,
                body: body.as_deref(),
                declared: declared.unwrap_or(0) as usize,
                account: account.as_deref(),
                cabinet,
                order: order.as_deref(),
                http_status: status,
                code,
                msg: msg.as_deref(),
                response: bytes.as_ref(),
                started,
                strict,
            },
        );
        e.warnings = verdict.warnings;
    }
    if let Some(d) = draft {
        journal.push(d);
    }
    Ok(put_body(res, bytes))
}

/// One access-log line.
fn access_line(method: &str, path: &str, status: u16, code: Option<i64>, started: Instant, account: Option<&str>) {
    let code = code.map_or_else(|| "-".to_string(), |c| c.to_string());
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    log::info!(target: ACCESS_TARGET, "{method} {path} {status} code={code} {ms:.2}ms account={}", account.unwrap_or("-"));
}

/// The response's body as bytes when it is held in memory (every envelope answer is); a
/// streamed body is left in place (`None`).
fn take_body(res: ServiceResponse<BoxBody>) -> (ServiceResponse<BoxBody>, Option<web::Bytes>) {
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    match body.try_into_bytes() {
        Ok(bytes) => (ServiceResponse::new(req, head.set_body(BoxBody::new(()))), Some(bytes)),
        Err(body) => (ServiceResponse::new(req, head.set_body(body)), None),
    }
}

/// Put back what [`take_body`] took.
fn put_body(res: ServiceResponse<BoxBody>, bytes: Option<web::Bytes>) -> ServiceResponse<BoxBody> {
    match bytes {
        Some(b) => res.map_body(|_, _| BoxBody::new(b)),
        None => res,
    }
}

/// `code` and `msg` of an envelope. The simulator's envelopes start `{"msg":..,"code":..`, so
/// a body is read only that far; any other small JSON body is parsed whole (any key order).
fn envelope_head(body: &[u8]) -> (Option<i64>, Option<Cow<'_, str>>) {
    #[derive(serde::Deserialize)]
    struct Head {
        msg: Option<String>,
        code: Option<serde_json::Value>,
    }
    let Some(rest) = body.strip_prefix(br#"{"msg":"#) else {
        // Not the envelope's own order (A1's `{key}`, an injected answer): parsed whole when small.
        if body.len() > 64 * 1024 {
            return (None, None);
        }
        return match serde_json::from_slice::<Head>(body) {
            Ok(h) => (h.code.and_then(code_of), h.msg.map(Cow::Owned)),
            Err(_) => (None, None),
        };
    };
    // A message without escapes (every one the simulator writes) is borrowed from the body.
    let plain = rest.strip_prefix(b"\"").and_then(|r| {
        let end = r.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        (r[end] == b'"').then(|| (std::str::from_utf8(&r[..end]).ok(), &r[end + 1..]))
    });
    let (msg, rest) = match plain {
        Some((Some(text), rest)) => (Cow::Borrowed(text), rest),
        _ => {
            let mut msgs = serde_json::Deserializer::from_slice(rest).into_iter::<String>();
            let Some(Ok(msg)) = msgs.next() else { return (None, None) };
            (Cow::Owned(msg), &rest[msgs.byte_offset()..])
        }
    };
    let Some(rest) = rest.strip_prefix(br#","code":"#) else { return (None, Some(msg)) };
    (plain_code(rest).or_else(|| json_code(rest)), Some(msg))
}

/// The code at the start of `rest`, read by the JSON parser.
fn json_code(rest: &[u8]) -> Option<i64> {
    code_of(serde_json::Deserializer::from_slice(rest).into_iter::<serde_json::Value>().next()?.ok()?)
}

/// A code as a JSON value: a number, or a number in a string (C4 and S1 answer `"0"`).
fn code_of(v: serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The code at the start of `rest` when it is written the way the simulator writes codes: a
/// plain integer (`0`, `2004`) or one in quotes (`"0"`), followed by `,` or `}`. Anything else
/// (`-1`, spaces, a float) is left to the JSON parser.
fn plain_code(rest: &[u8]) -> Option<i64> {
    let (quoted, digits) = match rest.strip_prefix(b"\"") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let n = digits.iter().take(12).take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 10 || (n > 1 && digits.first() == Some(&b'0')) {
        return None;
    }
    let mut after = digits.get(n..)?;
    if quoted {
        after = after.strip_prefix(b"\"")?;
    }
    if !matches!(after.first(), Some(b',' | b'}')) {
        return None;
    }
    digits.get(..n)?.iter().try_fold(0i64, |v, &d| v.checked_mul(10)?.checked_add(i64::from(d - b'0')))
}

/// `data.tradeNo` of an O2 answer.
fn trade_no_of(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v["data"]["tradeNo"].as_str().map(str::to_string)
}

/// The shop an operation's path names (C10's new shop, S5's shop).
fn shop_in_path<'a>(op: &str, rel: &'a str) -> Option<&'a str> {
    match op {
        "C10" | "S5" => rel.rsplit('/').next().filter(|s| !s.is_empty() && *s != "delete"),
        _ => None,
    }
}

/// What an `Authorization` header was, as the journal shows it: its scheme and the account
/// it names, never the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth<'a> {
    /// No header, or one that is not text.
    Absent,
    /// Basic credentials naming an account (right password or not).
    Basic,
    /// Basic credentials that do not decode to `user:password`.
    BasicMalformed,
    /// A bearer token the world knows.
    Bearer,
    /// A bearer token the world does not know.
    BearerUnknown,
    /// Another scheme, as sent.
    Unsupported(&'a str),
}

/// Bytes of decoded Basic credentials read without an allocation.
const BASIC_CAP: usize = 256;

thread_local! {
    /// The Basic credentials this thread decoded last and the account they name (`None`:
    /// malformed). A client sends the same header with every request, and its base64 decode
    /// was more than 1 % of an O1. A pure function of the header: never stale. Not
    /// `answer_cache::account`'s memo: that one keeps only headers that authenticate, in a
    /// given world, and the journal names the account of a wrong password too.
    static LAST_BASIC: std::cell::RefCell<(Option<String>, Option<CompactString>)> =
        const { std::cell::RefCell::new((None, None)) };
}

/// `Authorization` as the journal shows it and the account it names. Basic names its account
/// itself (right password or not); a bearer token is looked up.
fn credentials<'h>(state: &AppState, header: Option<&'h str>) -> (Auth<'h>, Option<CompactString>) {
    let Some(h) = header else { return (Auth::Absent, None) };
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        let rest = rest.trim();
        let user = LAST_BASIC.with_borrow_mut(|(last, user)| {
            if last.as_deref() != Some(rest) {
                *user = basic_user(rest);
                // Remembered in the same buffer; a header longer than the decoding buffer is
                // not (it is decoded every time).
                let mut kept = last.take().unwrap_or_default();
                kept.clear();
                if rest.len() <= BASIC_CAP {
                    kept.push_str(rest);
                    *last = Some(kept);
                }
            }
            user.clone()
        });
        match user {
            Some(u) => (Auth::Basic, Some(u)),
            None => (Auth::BasicMalformed, None),
        }
    } else if scheme.eq_ignore_ascii_case("bearer") {
        let (now, policy) = (state.clock.now(), state.config.token_policy());
        let acct = state.store.read(|w| w.token_account(rest.trim(), now, policy).map(CompactString::from));
        match acct {
            Some(a) => (Auth::Bearer, Some(a)),
            None => (Auth::BearerUnknown, None),
        }
    } else {
        (Auth::Unsupported(scheme), None)
    }
}

/// The account Basic credentials (`rest`: base64 of `account:password`) name; `None` when
/// they are not base64 of that form.
fn basic_user(rest: &str) -> Option<CompactString> {
    let mut decoded = [0u8; BASIC_CAP];
    let raw: Cow<'_, [u8]> = match base64::engine::general_purpose::STANDARD.decode_slice(rest, &mut decoded) {
        Ok(n) => Cow::Borrowed(&decoded[..n]),
        // Longer than the buffer (no account name is): decoded the allocating way.
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => {
            Cow::Owned(base64::engine::general_purpose::STANDARD.decode(rest).ok()?)
        }
        Err(_) => return None,
    };
    let at = raw.iter().position(|&b| b == b':')?;
    std::str::from_utf8(&raw[..at]).ok().map(CompactString::from)
}

/// The request's headers into `e`: at most [`HEADERS_CAP`], names and values capped,
/// credentials replaced by their scheme and account.
fn write_headers(e: &mut Entry, req: &ServiceRequest, auth: Auth<'_>, account: Option<&str>) {
    for (name, value) in req.headers().iter().take(HEADERS_CAP) {
        if name == header::AUTHORIZATION {
            let account = account.unwrap_or("");
            let pieces: [&str; 2] = match auth {
                Auth::Absent => ["", ""],
                Auth::Basic => ["Basic ", account],
                Auth::BasicMalformed => ["Basic (malformed)", ""],
                Auth::Bearer => ["Bearer ", account],
                Auth::BearerUnknown => ["Bearer (unknown token)", ""],
                Auth::Unsupported(scheme) => [prefix(scheme, 32), " (unsupported scheme)"],
            };
            e.add_header(name.as_str(), &pieces);
        } else if name == header::COOKIE || name.as_str() == "x-sim-token" {
            e.add_header(name.as_str(), &["(hidden)"]);
        } else {
            // Header values are nearly always ASCII: checked as UTF-8 in one pass, replaced
            // piece by piece only when they are not.
            match std::str::from_utf8(value.as_bytes()) {
                Ok(text) => e.add_header(name.as_str(), &[text]),
                Err(_) => e.add_header(name.as_str(), &[&String::from_utf8_lossy(value.as_bytes())]),
            }
        }
    }
}

/// Everything an entry records but its headers and warnings, once the answer is known.
struct Filled<'a> {
    at_ms: crate::clock::Millis,
    method: &'a str,
    path: &'a str,
    op: Option<&'static str>,
    query: &'a str,
    body: Option<&'a [u8]>,
    declared: usize,
    account: Option<&'a str>,
    cabinet: Option<&'a str>,
    order: Option<&'a str>,
    http_status: u16,
    code: Option<i64>,
    msg: Option<&'a str>,
    response: Option<&'a web::Bytes>,
    started: Instant,
    strict: bool,
}

/// Write `f` into `e`; each text is cut to its part's cap there (the request's buffer may be
/// larger than its body, so the body is copied, never shared).
fn fill(e: &mut Entry, f: Filled<'_>) {
    e.at_ms = f.at_ms;
    e.real_ms = wall_now();
    e.set(Part::Method, f.method);
    e.set(Part::Path, f.path);
    e.op = f.op;
    e.set(Part::Query, f.query);
    if let Some(b) = f.body {
        e.set_bytes(Part::Body, b);
    }
    e.body_bytes = f.body.map_or(f.declared, <[u8]>::len);
    for (part, text) in
        [(Part::Account, f.account), (Part::Cabinet, f.cabinet), (Part::Order, f.order), (Part::Msg, f.msg)]
    {
        if let Some(t) = text {
            e.set(part, t);
        }
    }
    e.http_status = f.http_status;
    e.code = f.code;
    if let Some(b) = f.response {
        e.set_bytes(Part::Answer, b);
        e.response_bytes = b.len();
    }
    e.duration_us = f.started.elapsed().as_micros() as u64;
    e.strict = f.strict;
}

/// `text` in upper case, borrowed when it already is (every standard method).
fn upper(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|b| b.is_ascii_lowercase()) {
        text.to_ascii_uppercase().into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_head_is_read_from_small_and_large_bodies() {
        assert_eq!(
            envelope_head(br#"{"msg":"Device not online.","code":2004}"#),
            (Some(2004), Some("Device not online.".into()))
        );
        assert_eq!(envelope_head(br#"{"code":"0","msg":"ok","data":[]}"#).0, Some(0));
        let big = format!(r#"{{"msg":"Successful operation","code":"0","data":["{}"]}}"#, "x".repeat(100_000));
        assert_eq!(envelope_head(big.as_bytes()), (Some(0), Some("Successful operation".into())));
        assert_eq!(envelope_head(b"not json"), (None, None));
        // Escapes and raw control characters take the parser's way, with its verdict.
        assert_eq!(
            envelope_head(br#"{"msg":"a \"quoted\" word","code":1}"#),
            (Some(1), Some("a \"quoted\" word".into()))
        );
        assert_eq!(envelope_head(b"{\"msg\":\"tab\there\",\"code\":1}"), (None, None));
        assert_eq!(envelope_head(br#"{"key":"t"}"#), (None, None));
    }

    /// The quick reading of a code agrees with the JSON parser's wherever it answers, and
    /// leaves everything else to it.
    #[test]
    fn a_plain_code_is_read_as_the_parser_reads_it() {
        for rest in [
            "0}",
            "0,",
            "2004}",
            "\"0\",\"data\":1}",
            "\"2004\"}",
            "9999999999}",
            "-1}",
            " 0}",
            "0 }",
            "1.5}",
            "1e3}",
            "\"0}",
            "0\"}",
            "}",
            "",
            "12345678901}",
            "007}",
            "\"\"}",
            "null}",
            "\"a\"}",
        ] {
            if let Some(c) = plain_code(rest.as_bytes()) {
                assert_eq!(Some(c), json_code(rest.as_bytes()), "{rest}");
            }
        }
        assert_eq!(plain_code(b"0}"), Some(0));
        assert_eq!(plain_code(b"\"2004\","), Some(2004));
        assert_eq!(plain_code(b"-1}"), None);
        assert_eq!(plain_code(b"12345678901}"), None);
        assert_eq!(plain_code(b"007}"), None);
        assert_eq!(envelope_head(br#"{"msg":"m","code":-1}"#).0, Some(-1));
    }

    #[test]
    fn only_platform_paths_are_journaled() {
        assert!(is_platform("/cdb-open-api/v1/rent/cabinet/query"));
        assert!(is_platform("/cdb-open-api/v1"));
        assert!(!is_platform("/cdb-open-api/v10/x"));
        assert!(!is_platform("/_sim/requests"));
    }
}
