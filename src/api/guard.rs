//! A step of every request (`api::layer`, inside the body deadline and the journal): size
//! limits, the control API's token, and one envelope for every error answer, whoever
//! produced it.
//!
//! Handlers already answer in the envelope. What this step adds:
//! - a URL longer than [`MAX_URL`] gets HTTP 414 and a body declared larger than
//!   [`MAX_BODY`] (a snapshot upload: `--state-max-mb`) HTTP 413, both in the envelope and
//!   before any handler reads anything;
//! - with `--control-token`, every `/_sim` request without the token gets HTTP 401;
//! - any 4xx/5xx answer that is not JSON (actix's own answers: a method a resource does not
//!   take, a payload error raised by a plain `web::Bytes` extractor) is rewritten into the
//!   envelope with the same status, so no client ever parses a text page; a plain 400 (the
//!   request's content could not be read) becomes the business error 1002, HTTP 200.
//!
//! What the application cannot reach: a request head over actix-http's 128 KiB buffer is
//! answered 431 by the connection dispatcher, and a request that is not HTTP at all 400, both
//! with an empty body, before any middleware runs (docs/fidelity.md, Limits).
//!
//! One step of the request pipeline (`api::layer`) rather than `ErrorHandlers` plus separate
//! layers: the limits and the rewriting share the request and the envelope builder, and their
//! order is explicit.

use super::envelope;
use super::layer::Answer;
use super::params::MAX_PARAM_BODY;
use crate::error::Error;
use crate::metrics::AnswerCode;
use crate::operations;
use crate::state::AppState;
use actix_web::body::{self, BoxBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use std::time::Instant;

/// Longest URL (path and query string, as sent) the simulator reads. Production clients send
/// a device id and a callback URL; 16 KiB leaves room for long callback query strings while a
/// runaway client gets a clear answer instead of a slow one.
pub const MAX_URL: usize = 16 * 1024;

/// Largest request body any endpoint reads (the same limit as the parameter and JSON readers).
pub const MAX_BODY: usize = MAX_PARAM_BODY;

/// Bytes of a non-JSON error body quoted in the envelope's `msg`.
const QUOTE: usize = 200;

/// The step, composed in `app::pipeline`. Every answer from inside it, whoever produced it,
/// ends in [`answered`] (latency profiles, counting).
pub async fn guard(req: ServiceRequest, next: impl AsyncFnOnce(ServiceRequest) -> Answer) -> Answer {
    let arrival = (operations::index(req.path()), Instant::now());
    let res = checked(req, next).await?;
    Ok(answered(arrival, res).await)
}

/// The end of every request, with its final answer: holds a platform answer back by the
/// latency profile of its operation, then counts the request. The wait is an async sleep after
/// the handler ran: the world has changed as the request asked (a rent is made) and only the
/// answer is late, as when production is slow; no lock and no worker thread is held. Part of
/// this step rather than a layer of its own: a layer costs a boxed future and reference
/// counts per request, which measured as much as the recording itself.
async fn answered<B>((op, at): (usize, Instant), res: ServiceResponse<B>) -> ServiceResponse<B> {
    let Some(state) = res.request().app_data::<web::Data<AppState>>() else {
        return res;
    };
    let wait = match operations::name(op) {
        operations::CONTROL | operations::UNKNOWN => None,
        name => state.latency.draw(name),
    };
    if let Some(d) = wait {
        tokio::time::sleep(d).await;
    }
    if state.metrics.enabled() {
        let code = match res.response().extensions().get::<AnswerCode>() {
            Some(c) => c.0,
            None if res.status().is_success() => 0,
            None => i64::from(res.status().as_u16()),
        };
        state.metrics.request(op, code, at.elapsed(), wait);
    }
    res
}

/// The limits, the control token and the envelope rewriting.
async fn checked(req: ServiceRequest, next: impl AsyncFnOnce(ServiceRequest) -> Answer) -> Answer {
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URL {
        return Ok(req.into_response(Error::uri_too_long(target, MAX_URL).error_response()));
    }
    if let Some(n) = declared_length(&req) {
        if let Some(refusal) = over_limit(&req, n) {
            return Ok(req.into_response(refusal.error_response()));
        }
    }
    if is_control(req.path()) || is_control(req.match_info().as_str()) {
        if let Some(refusal) = check_control_token(&req) {
            return Ok(req.into_response(refusal));
        }
    }
    // Do not clone the request here: routing needs to be its only owner (actix panics
    // otherwise). Handler errors arrive as responses; an `Err` could only come from an inner
    // step, and actix renders it with its own `error_response` (ours: the envelope).
    let res = next(req).await?;
    Ok(into_envelope(res).await)
}

/// The refusal of a body of `declared` bytes, if it is over the route's limit: [`MAX_BODY`],
/// except for a snapshot upload (`PUT /_sim/state`), which has its own (`--state-max-mb`).
fn over_limit(req: &ServiceRequest, declared: u64) -> Option<Error> {
    let snapshot = req.method() == actix_web::http::Method::PUT
        && (req.path() == "/_sim/state" || req.match_info().as_str() == "/_sim/state");
    match req.app_data::<web::Data<AppState>>() {
        Some(state) if snapshot => {
            let mb = state.config.state_max_mb;
            (declared > mb.saturating_mul(1024 * 1024)).then(|| Error::state_too_large(mb))
        }
        _ => (declared > MAX_BODY as u64).then(|| Error::payload_too_large(MAX_BODY)),
    }
}

/// Whether `path` is under `/_sim`. Checked on the path as sent and as the router reads it
/// (percent-decoded: `/%5Fsim/reset` is routed to `/_sim/reset`), so no spelling of a
/// control route slips past the token.
fn is_control(path: &str) -> bool {
    path == "/_sim" || path.starts_with("/_sim/")
}

/// Whether `path` is the dashboard's, which may also take the token from the query string.
fn is_dashboard(path: &str) -> bool {
    path == "/_sim/ui" || path.starts_with("/_sim/ui/")
}

/// The `Content-Length` the client declared, if any and readable.
fn declared_length(req: &ServiceRequest) -> Option<u64> {
    req.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// `None` when the request may pass: no token configured, or the right one presented.
fn check_control_token(req: &ServiceRequest) -> Option<HttpResponse> {
    let state = req.app_data::<web::Data<AppState>>()?;
    let token = state.config.control_token.as_ref()?;
    let header = |name: header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok());
    let bearer = header(header::AUTHORIZATION)
        .and_then(|h| h.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    // The dashboard is opened from a browser's address bar, where no header can be set.
    let query = if is_dashboard(req.path()) && is_dashboard(req.match_info().as_str()) {
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "token").map(|(_, v)| v))
    } else {
        None
    };
    let presented = [header(header::HeaderName::from_static("x-sim-token")), bearer, query.as_deref()];
    // Every candidate is compared (no short-circuit), each in constant time.
    let ok = presented.iter().flatten().fold(false, |acc, t| acc | token.matches(t));
    if ok {
        return None;
    }
    let mut res = Error::control_token().error_response();
    res.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"bajie-sim control API\""));
    Some(res)
}

/// Rewrite a non-JSON error answer into the envelope, keeping its status.
async fn into_envelope(res: ServiceResponse) -> ServiceResponse {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if is_json {
        return res;
    }
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    // Error pages are short; anything longer is not quoted anyway.
    let text = body::to_bytes_limited(body, 4096).await.ok().and_then(Result::ok).unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().chars().take(QUOTE).collect::<String>();
    // A plain 400 from inside the application is an extractor refusing the request's content
    // (a body that does not decode, a broken compressed stream): the platform answers bad
    // input with a business error, so it becomes HTTP 200 with code 1002 like every other
    // malformed body.
    let (status, error) = if status == StatusCode::BAD_REQUEST {
        let detail =
            if text.is_empty() { "it could not be read".to_string() } else { format!("it could not be read ({text})") };
        (StatusCode::OK, Error::bad_body(detail))
    } else {
        (status, Error::Http { status: status.as_u16(), msg: describe(status, &text) })
    };
    let mut out = HttpResponse::build(status);
    out.extensions_mut().insert(crate::metrics::AnswerCode(error.code()));
    for (name, value) in head.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.append_header((name.clone(), value.clone()));
        }
    }
    out.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/json")));
    let bytes = envelope::error_body(&error);
    ServiceResponse::new(req, out.body(BoxBody::new(bytes)))
}

/// A message for an error actix answered on its own, naming what went wrong.
fn describe(status: StatusCode, detail: &str) -> String {
    let what = match status {
        StatusCode::NOT_FOUND => "No such endpoint or path parameter".to_string(),
        StatusCode::METHOD_NOT_ALLOWED => "This endpoint does not take this HTTP method".to_string(),
        StatusCode::PAYLOAD_TOO_LARGE => format!("Request body is larger than {} KiB", MAX_BODY / 1024),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported Content-Type".to_string(),
        s if s.is_server_error() => "Internal error of the simulator".to_string(),
        s => format!("Request refused ({})", s.canonical_reason().unwrap_or("bad request")),
    };
    if detail.is_empty() || status.is_server_error() {
        format!("{what}.")
    } else {
        format!("{what}: {detail}.")
    }
}

/// Path parameters that cannot be deserialized: a business error naming the path. (String
/// parameters never fail: the router keeps invalid escapes such as `%FF` literally.)
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|err, _| Error::bad_param("path", format!("it does not decode ({err})")).into())
}

/// Typed query strings that do not parse (for handlers using `web::Query`).
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| Error::bad_param("query string", err).into())
}

/// Raw bodies read as `web::Bytes` / `String`: over the limit is 413, like everywhere.
pub fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(MAX_BODY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_failure_and_quote_actix_briefly() {
        assert_eq!(describe(StatusCode::METHOD_NOT_ALLOWED, ""), "This endpoint does not take this HTTP method.");
        assert_eq!(describe(StatusCode::NOT_FOUND, "x"), "No such endpoint or path parameter: x.");
        assert_eq!(describe(StatusCode::INTERNAL_SERVER_ERROR, "secret detail"), "Internal error of the simulator.");
    }
}
