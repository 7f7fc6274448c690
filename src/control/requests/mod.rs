//! The request journal (`/_sim/requests`) and the integration report (`/_sim/report`): what
//! the client sent the platform API, what it was answered, and where it leaned on the
//! simulator's tolerance (contract warnings, `api::contract`).
//!
//! - `GET /_sim/requests?op=&method=&path=&agent=&code=&device=&order=&warned=&warning=&since=&limit=`:
//!   entries newest first;
//! - `GET /_sim/requests/{id}`: one entry;
//! - `GET /_sim/requests/count?<filters>`: how many match;
//! - `GET /_sim/requests/wait?count=N&timeoutMs=T&<filters>`: block until N match (`code`
//!   9001 at the deadline, like `/_sim/pushes/wait`);
//! - `DELETE /_sim/requests`: forget them (a reset does too);
//! - `GET /_sim/report`: per operation calls, codes and warnings, deliveries by event, and the
//!   production behaviours the client has not met yet.
//!
//! The journal itself lives in [`journal`], the pipeline step filling it in [`record`].

pub mod journal;
pub mod record;
pub mod report;

use crate::api::contract::{self, Code};
use crate::api::envelope;
use crate::api::params::{clip, Params};
use crate::clock::parse_datetime;
use crate::error::{code, Error};
use actix_web::{web, HttpResponse};
pub use journal::Requests;
use journal::{Entry, Filter};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub use record::record;

/// Default and largest number of entries in one list.
const LIMIT_DEFAULT: i64 = 100;
const LIMIT_MAX: i64 = 10_000;

/// Register these routes (inside the `/_sim` scope). `count` and `wait` come before `{id}`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/requests", web::get().to(list))
        .route("/requests", web::delete().to(clear))
        .route("/requests/count", web::get().to(count))
        .route("/requests/wait", web::get().to(wait))
        .route("/requests/{id}", web::get().to(one))
        .route("/report", web::get().to(report::report));
}

/// The filters of a list, count or wait; a value that does not parse is refused naming it.
fn filter(p: &Params, j: &Requests) -> Result<Filter, Error> {
    let s = |n: &str| p.get(n).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let op = s("op");
    if let Some(o) = op.as_deref() {
        if contract::by_id(o).is_none() {
            return Err(Error::bad_param("op", format!("'{}' is not an operation id like O1, C3 or A1", clip(o))));
        }
    }
    let method = s("method");
    if let Some(m) = method.as_deref() {
        if !m.chars().all(|c| c.is_ascii_alphabetic()) || m.len() > 10 {
            return Err(Error::bad_param("method", format!("'{}' is not an HTTP method", clip(m))));
        }
    }
    let warning = match s("warning") {
        None => None,
        Some(w) => Some(
            Code::parse(&w)
                .ok_or_else(|| Error::bad_param("warning", format!("'{}' is not a warning code", clip(&w))))?
                .name(),
        ),
    };
    let (mut since_ms, mut after_seq) = (None, None);
    if let Some(v) = s("since") {
        if let Some(ms) = parse_datetime(&v) {
            since_ms = Some(ms);
        } else if uuid::Uuid::parse_str(&v).is_ok() {
            after_seq = Some(j.seq_of(&v).ok_or_else(|| {
                Error::bad_param("since", format!("no entry {} in the journal (emptied or evicted?)", clip(&v)))
            })?);
        } else {
            return Err(Error::bad_param(
                "since",
                format!("'{}' is neither a time like 2026-03-02 09:00:00 nor an entry id", clip(&v)),
            ));
        }
    }
    Ok(Filter {
        op,
        method,
        path: s("path"),
        agent: s("agent"),
        code: p.int("code")?,
        device: s("device"),
        order: s("order"),
        warned: p.bool("warned")?,
        warning,
        since_ms,
        after_seq,
    })
}

fn records(entries: &[Arc<Entry>], seed: u64) -> serde_json::Value {
    json!(entries.iter().map(|e| e.view(seed)).collect::<Vec<_>>())
}

/// `GET /_sim/requests?<filters>&limit=`: matching entries, newest first.
async fn list(j: web::Data<Requests>, p: Params) -> Result<HttpResponse, Error> {
    let f = filter(&p, &j)?;
    let limit = p.int_in("limit", 1, LIMIT_MAX)?.unwrap_or(LIMIT_DEFAULT) as usize;
    let entries = j.list(&f, limit);
    let total = j.count(&f);
    Ok(envelope::ok(json!({ "total": total, "enabled": j.enabled(), "records": records(&entries, j.seed()) })))
}

/// `GET /_sim/requests/count?<filters>`.
async fn count(j: web::Data<Requests>, p: Params) -> Result<HttpResponse, Error> {
    let f = filter(&p, &j)?;
    Ok(envelope::ok(json!({ "count": j.count(&f), "enabled": j.enabled() })))
}

/// `GET /_sim/requests/wait?count=N&timeoutMs=T&<filters>&limit=`: block until N entries
/// match, or the deadline passes (`code` 9001, with what matched so far).
async fn wait(j: web::Data<Requests>, p: Params) -> Result<HttpResponse, Error> {
    let f = filter(&p, &j)?;
    let n = p.int_in("count", 1, 1_000_000)?.unwrap_or(1) as usize;
    let timeout = p.int_in("timeoutMs", 0, 120_000)?.unwrap_or(5_000) as u64;
    let limit = p.int_in("limit", 1, LIMIT_MAX)?.unwrap_or(LIMIT_DEFAULT) as usize;
    if !j.enabled() {
        return Err(Error::control("The request journal is off (--request-journal 0)."));
    }
    let (entries, total, ok) = j.wait(&f, n, limit, Duration::from_millis(timeout)).await;
    let data = json!({ "total": total, "enabled": true, "records": records(&entries, j.seed()) });
    if ok {
        Ok(envelope::ok(data))
    } else {
        Ok(envelope::json(&json!({
            "msg": format!("Timed out after {timeout} ms with {total} of {n} matching requests."),
            "code": code::CONTROL,
            "data": data,
        })))
    }
}

/// `GET /_sim/requests/{id}`.
async fn one(j: web::Data<Requests>, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let e = j.get(path.trim()).ok_or_else(|| {
        Error::control(format!("No request {} in the journal (emptied, evicted, or never there).", clip(&path)))
    })?;
    Ok(envelope::ok(e.view(j.seed())))
}

/// `DELETE /_sim/requests`: forget every entry and count.
async fn clear(j: web::Data<Requests>) -> HttpResponse {
    j.clear();
    envelope::ok_empty()
}
