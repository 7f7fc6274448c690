//! Fault injection under `/_sim/faults` (the rules live in the world, `model/fault.rs`) and
//! the pipeline step that applies request rules before a platform handler runs.
//!
//! - `GET /_sim/faults`: the rules in force;
//! - `POST /_sim/faults?effect=..&...` (or the same names in a JSON body): add a rule;
//! - `DELETE /_sim/faults/{id}`: remove one; `DELETE /_sim/faults`: remove all.

use crate::api::layer::Answer;
use crate::api::params::Params;
use crate::api::{answer_cache, auth, envelope, PREFIX};
use crate::error::{code, Error};
use crate::fixtures::is_device_id;
use crate::model::fault::{FaultFamily, FaultRule};
use crate::model::fault_types::{BatteryFault, RentalFailure, SlotFault};
use crate::model::FaultEffect;
use crate::operations;
use crate::state::AppState;
use actix_web::dev::ServiceRequest;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use serde_json::json;
use std::time::Duration;

/// Register these routes (inside the `/_sim` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/faults", web::get().to(list))
        .route("/faults", web::post().to(add))
        .route("/faults", web::delete().to(clear))
        .route("/faults/{id}", web::delete().to(remove));
}

/// Whether a rule's `endpoint` names the request `path` (relative to the platform prefix): an
/// operation id (`O2`), a path template (`/cabinet/detail/{cabinetId}`, `*` works too) or a
/// path suffix (`/rent/order/create`, `/create`).
pub fn endpoint_matches(pattern: &str, path: &str) -> bool {
    let mut by_id = operations::paths_of(pattern).peekable();
    if by_id.peek().is_some() {
        return by_id.any(|p| operations::template_matches(p, path));
    }
    let pattern = pattern.trim();
    let pattern = pattern.strip_prefix(PREFIX).unwrap_or(pattern);
    if pattern.contains('{') || pattern.contains('*') {
        operations::template_matches(pattern, path)
    } else {
        path.ends_with(pattern)
    }
}

/// The device a platform request is about: a `deviceId`/`cabinetid`/`cabinetId`/`qrcode`
/// query parameter, else a path segment shaped like a device id.
fn device_of(req: &ServiceRequest) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    pairs
        .into_iter()
        .find(|(k, _)| matches!(k.as_str(), "deviceId" | "cabinetid" | "cabinetId" | "qrcode" | "pCabinetid"))
        .map(|(_, v)| v)
        .or_else(|| req.path().split('/').find(|s| is_device_id(s)).map(str::to_string))
}

/// The pipeline step: apply the request rules (error, HTTP status, latency) to platform requests
/// before their handler runs.
///
/// Deciding that no rule applies never takes the write lock: with no request rule at all it
/// costs a version check (remembered per worker until the world changes); with rules, a walk
/// over them under the read lock, the agent and device worked out only when a rule filters by
/// them. Only a request that a rule matches takes the write lock, to draw the rule's
/// probability and count its firing. (Before, any request rule, even one that never matched,
/// sent every platform request through the write lock: O1 lost a third of its throughput.)
pub async fn inject(state: &AppState, req: ServiceRequest, next: impl AsyncFnOnce(ServiceRequest) -> Answer) -> Answer {
    if !req.path().starts_with(PREFIX) {
        return next(req).await;
    }
    let store = &state.store;
    let rules = answer_cache::request_rules(store.stamp(), || store.read(|w| w.faults().any(FaultFamily::Request)));
    if !rules {
        return next(req).await;
    }
    let candidates = {
        let path = &req.path()[PREFIX.len()..];
        store.read(|w| w.faults().request_filters(&|p: &str| endpoint_matches(p, path)))
    };
    let Some((by_agent, by_device)) = candidates else {
        return next(req).await;
    };
    // Copied only when a rule may apply: the common path allocates nothing here.
    let path = req.path()[PREFIX.len()..].to_string();
    let endpoint_ok = |p: &str| endpoint_matches(p, &path);
    let agent = if by_agent {
        let header = req.headers().get("authorization").and_then(|v| v.to_str().ok());
        auth::authenticate(state, header).ok()
    } else {
        None
    };
    let device = if by_device { device_of(&req) } else { None };
    if !store.read(|w| w.faults().request_matches(agent.as_deref(), device.as_deref(), &endpoint_ok)) {
        return next(req).await;
    }
    let verdict = state
        .store
        .write(|w, _| Ok(w.draw_request_faults(agent.as_deref(), device.as_deref(), &endpoint_ok)))
        .map(|(v, _)| v)
        .expect("drawing request faults cannot fail");
    if verdict.latency_ms > 0 {
        // Only this request waits; the world lock is not held.
        tokio::time::sleep(Duration::from_millis(verdict.latency_ms)).await;
    }
    let answer = match verdict.fail {
        Some(FaultEffect::Error { code, msg }) => Error::business(code, msg).error_response(),
        Some(FaultEffect::HttpStatus { http_status }) => {
            let status = StatusCode::from_u16(http_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            HttpResponse::build(status)
                .content_type("application/json")
                .body(json!({ "msg": format!("Injected HTTP {http_status}."), "code": http_status }).to_string())
        }
        _ => return next(req).await,
    };
    Ok(req.into_response(answer))
}

const EFFECTS: &str =
    "error, httpStatus, latency, ejectFailure, batteryFault, slotFault, dropPush, delayPush or duplicatePush";

fn need(p: &Params, name: &str, lo: i64, hi: i64) -> Result<i64, Error> {
    p.int_in(name, lo, hi)?.ok_or_else(|| Error::missing_param(name))
}

/// The `faultType` of an eject failure: a rental failure type other than 0 (default 3, the
/// slot did not eject).
pub fn eject_failure(p: &Params) -> Result<RentalFailure, Error> {
    match p.int("faultType")? {
        None => Ok(RentalFailure::EjectFailed),
        Some(0) => Err(Error::bad_param("faultType", "0 is no failure; expected a rental failure type 1..9")),
        Some(n) => RentalFailure::from_param("faultType", n),
    }
}

/// Build a rule from the request's parameters.
fn rule_from(p: &Params) -> Result<FaultRule, Error> {
    let effect = match p.required("effect")? {
        "error" => FaultEffect::Error {
            code: p.int("code")?.unwrap_or(code::INJECTED),
            msg: p.get("msg").map(str::to_string).unwrap_or_else(|| "Injected failure.".into()),
        },
        "httpStatus" => FaultEffect::HttpStatus { http_status: need(p, "httpStatus", 100, 599)? as u16 },
        "latency" => FaultEffect::Latency { latency_ms: need(p, "latencyMs", 0, 120_000)? as u64 },
        "ejectFailure" => FaultEffect::EjectFailure { fault_type: eject_failure(p)? },
        "batteryFault" => FaultEffect::BatteryFault {
            battery_fault: BatteryFault::from_param("batteryFault", need(p, "batteryFault", 1, i64::MAX)?)?,
        },
        "slotFault" => FaultEffect::SlotFault {
            slot_fault: SlotFault::from_param("slotFault", need(p, "slotFault", 1, i64::MAX)?)?,
        },
        "dropPush" => FaultEffect::DropPush,
        "delayPush" => FaultEffect::DelayPush { delay_ms: need(p, "delayMs", 0, 600_000)? as u64 },
        "duplicatePush" => FaultEffect::DuplicatePush,
        other => return Err(Error::bad_param("effect", format!("'{other}' is not one of {EFFECTS}"))),
    };
    let text = |n: &str| p.get(n).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let endpoint = text("endpoint");
    if let Some(e) = endpoint.as_deref() {
        if operations::paths_of(e).next().is_none() && !e.starts_with('/') {
            return Err(Error::bad_param("endpoint", "expected an operation id (O1..O7, C1..C13, ...) or a path"));
        }
    }
    Ok(FaultRule {
        id: 0,
        endpoint,
        agent: text("agent"),
        device: text("device"),
        event: text("event").map(|e| e.to_ascii_uppercase()),
        probability: p.float("probability")?.unwrap_or(1.0),
        times: p.int_in("times", 1, i64::MAX)?.map(|t| t as u64),
        fired: 0,
        effect,
    })
}

/// `GET /_sim/faults`: the rules in force, oldest first.
async fn list(state: web::Data<AppState>) -> HttpResponse {
    let rules = state.store.read(|w| w.faults().rules.clone());
    envelope::ok(json!({ "total": rules.len(), "rules": rules }))
}

/// `POST /_sim/faults`: add a rule; answers it with its id.
async fn add(state: web::Data<AppState>, p: Params) -> Result<HttpResponse, Error> {
    let rule = rule_from(&p)?;
    let (rule, _) = state.store.write(|w, _| w.add_fault_rule(rule))?;
    Ok(envelope::ok(rule))
}

/// Add a rule from code (scenario helpers).
pub fn add_rule(state: &AppState, rule: FaultRule) -> Result<FaultRule, Error> {
    state.store.write(|w, _| w.add_fault_rule(rule)).map(|(r, _)| r)
}

/// `DELETE /_sim/faults/{id}`.
async fn remove(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let id: u64 = path.parse().map_err(|_| Error::bad_param("id", "not a fault rule id"))?;
    let (rule, _) = state.store.write(|w, _| w.remove_fault_rule(id))?;
    Ok(envelope::ok(rule))
}

/// `DELETE /_sim/faults`: remove every rule.
async fn clear(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let (n, _) = state.store.write(|w, _| Ok(w.clear_fault_rules()))?;
    Ok(envelope::ok(json!({ "removed": n })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_match_by_operation_template_or_suffix() {
        assert!(endpoint_matches("O2", "/rent/order/create"));
        assert!(endpoint_matches("o2", "/rent/order/create"));
        assert!(!endpoint_matches("O2", "/rent/order/query"));
        assert!(endpoint_matches("C5", "/cabinet/detail/BJD60151"));
        assert!(endpoint_matches("/cabinet/detail/*", "/cabinet/detail/BJD60151"));
        assert!(endpoint_matches("/create", "/shop/create"));
        assert!(endpoint_matches("/cdb-open-api/v1/rent/order/create", "/rent/order/create"));
        assert!(!endpoint_matches("O1", "/cdb-open-api/v1/rent/cabinet/query"));
        assert!(endpoint_matches("O7", "/cdb-open-api/v1/rent/cabinet/query"));
    }
}
