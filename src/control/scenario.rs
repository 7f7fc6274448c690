//! Scenario helpers under `/_sim`: set up a situation in one request instead of waiting for
//! the simulation to produce it. Each goes through the world's operations, so the events
//! (and pushes) are the ones the real situation would raise.
//!
//! | route | what it does |
//! |---|---|
//! | `POST /cabinets/{id}/fill?vol=100` | new batteries (ids from the world's generator) in every empty usable slot |
//! | `POST /cabinets/{id}/empty` | take every battery out (they stay in the fleet, loose) |
//! | `POST /cabinets/{id}/fail-next-eject?faultType=3&times=1` | the next eject(s) fail with this rental failure type |
//! | `POST /cabinets/{id}/status` | the cabinet reports its status now (CABINET_STATUS) |
//! | `POST /batteries/{id}/charge?vol=N` | set a battery's charge |
//! | `POST /batteries/{id}/fault?batteryFault=N` or `?slotFault=N` | battery fault, or fault of the slot holding it (0 clears) |
//! | `POST /agents/{account}/push?pushUrl=URL&events=A,B` | set an agent's event-push configuration (all events by default) |
//! | `GET /sim`, `POST /sim` | the simulation's rates and counters; change rates (JSON body or query) |

use crate::api::envelope;
use crate::api::params::Params;
use crate::error::clip;
use crate::error::Error;
use crate::model::event::EventName;
use crate::model::event::Subscription;
use crate::model::fault_types::{BatteryFault, SlotFault};
use crate::model::{BatteryPlace, FaultEffect, FaultRule, PushConfig, SimSettings};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

/// Register these routes (inside the `/_sim` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cabinets/{id}/fill", web::post().to(fill))
        .route("/cabinets/{id}/empty", web::post().to(empty))
        .route("/cabinets/{id}/fail-next-eject", web::post().to(fail_next_eject))
        .route("/cabinets/{id}/status", web::post().to(status))
        .route("/batteries/{id}/charge", web::post().to(charge))
        .route("/batteries/{id}/fault", web::post().to(fault))
        .route("/agents/{account}/push", web::post().to(push_config))
        .route("/sim", web::get().to(sim_view))
        .route("/sim", web::post().to(sim_update));
}

/// `POST /_sim/cabinets/{id}/fill?vol=100`.
async fn fill(state: web::Data<AppState>, id: web::Path<String>, p: Params) -> Result<HttpResponse, Error> {
    let vol = p.float("vol")?.unwrap_or(100.0);
    let now = state.clock.now();
    let (added, events) = state.store.write(|w, out| w.fill_cabinet(&id, vol, now, out))?;
    state.publish(events);
    let list: Vec<Value> = added.iter().map(|(slot, b)| json!({ "slot": slot, "batteryId": b })).collect();
    Ok(envelope::ok(json!({ "cabinetId": id.as_str(), "added": list })))
}

/// `POST /_sim/cabinets/{id}/empty`.
async fn empty(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, Error> {
    let now = state.clock.now();
    let (taken, events) = state.store.write(|w, out| w.empty_cabinet(&id, now, out))?;
    state.publish(events);
    Ok(envelope::ok(json!({ "cabinetId": id.as_str(), "removed": taken })))
}

/// `POST /_sim/cabinets/{id}/fail-next-eject?faultType=3&times=1`: a fault rule for this
/// cabinet that fires `times` times (see `/_sim/faults`).
async fn fail_next_eject(state: web::Data<AppState>, id: web::Path<String>, p: Params) -> Result<HttpResponse, Error> {
    if !state.store.read(|w| w.cabinets().contains_key(id.as_str())) {
        return Err(Error::unbound_device());
    }
    let fault_type = super::faults::eject_failure(&p)?;
    let times = p.int_in("times", 1, 1_000_000)?.unwrap_or(1) as u64;
    let rule = FaultRule {
        id: 0,
        endpoint: None,
        agent: None,
        device: Some(id.to_string()),
        event: None,
        probability: 1.0,
        times: Some(times),
        fired: 0,
        effect: FaultEffect::EjectFailure { fault_type },
    };
    Ok(envelope::ok(super::faults::add_rule(&state, rule)?))
}

/// `POST /_sim/cabinets/{id}/status`: a status report now.
async fn status(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, Error> {
    let now = state.clock.now();
    let (_, events) = state.store.write(|w, out| w.report_status(&id, now, out))?;
    state.publish(events);
    Ok(envelope::ok(json!({ "cabinetId": id.as_str() })))
}

/// `POST /_sim/batteries/{id}/charge?vol=N`.
async fn charge(state: web::Data<AppState>, id: web::Path<String>, p: Params) -> Result<HttpResponse, Error> {
    let vol = p.float("vol")?.ok_or_else(|| Error::missing_param("vol"))?;
    let now = state.clock.now();
    state.store.write(|w, _| w.set_battery_charge(&id, vol, now))?;
    let vol = state.store.read(|w| w.vol(&id, now));
    Ok(envelope::ok(json!({ "batteryId": id.as_str(), "vol": vol })))
}

/// `POST /_sim/batteries/{id}/fault?batteryFault=N` or `?slotFault=N` (docs/api-reference.md, fault types;
/// 0 clears). A slot fault goes to the slot the battery is docked in.
async fn fault(state: web::Data<AppState>, id: web::Path<String>, p: Params) -> Result<HttpResponse, Error> {
    let battery_fault = p.int("batteryFault")?.map(|n| BatteryFault::from_param("batteryFault", n)).transpose()?;
    let slot_fault = p.int("slotFault")?.map(|n| SlotFault::from_param("slotFault", n)).transpose()?;
    if battery_fault.is_none() && slot_fault.is_none() {
        return Err(Error::missing_param("batteryFault"));
    }
    let now = state.clock.now();
    let (place, events) = state.store.write(|w, out| w.set_battery_faults(&id, battery_fault, slot_fault, now, out))?;
    state.publish(events);
    let (cabinet, slot) = match place {
        BatteryPlace::Slot { cabinet, slot } => (Some(cabinet), Some(slot)),
        _ => (None, None),
    };
    Ok(envelope::ok(json!({
        "batteryId": id.as_str(), "batteryFault": battery_fault, "slotFault": slot_fault,
        "cabinetId": cabinet, "slot": slot,
    })))
}

/// `POST /_sim/agents/{account}/push?pushUrl=URL&events=A,B`: the agent's event-push
/// configuration, every event enabled unless `events` names some (a shortcut for E1).
async fn push_config(state: web::Data<AppState>, account: web::Path<String>, p: Params) -> Result<HttpResponse, Error> {
    let url = p.required("pushUrl")?.to_string();
    crate::model::push_config::check_url(&url).map_err(|why| Error::bad_param("pushUrl", why))?;
    let wanted: Vec<EventName> = match p.get("events").map(str::trim).filter(|e| !e.is_empty()) {
        Some(list) => list
            .split(',')
            .map(|e| {
                let name = e.trim().to_ascii_uppercase();
                EventName::from_name(&name)
                    .ok_or_else(|| Error::bad_param("events", format!("'{}' is not an event name", clip(&name))))
            })
            .collect::<Result<_, Error>>()?,
        None => EventName::ALL.to_vec(),
    };
    let config = PushConfig {
        push_url: url,
        event_subscriptions: wanted
            .into_iter()
            .map(|event| Subscription { event, push_url: String::new(), enable: true })
            .collect(),
    };
    state.store.write(|w, _| {
        if !w.agents().contains_key(account.as_str()) {
            return Err(Error::control(format!("No agent {account}.")));
        }
        w.set_push_config(&account, config.clone())
    })?;
    Ok(envelope::ok(config))
}

fn sim_body(state: &AppState) -> Value {
    state.store.read(|w| {
        json!({
            "enabled": !state.config.no_sim,
            "stepMs": state.step_ms(),
            "settings": w.sim().settings,
            "stats": w.sim().stats,
            "scheduled": w.sim().queue.len(),
        })
    })
}

/// `GET /_sim/sim`: whether the simulation runs, its rates, counters and schedule size.
async fn sim_view(state: web::Data<AppState>) -> HttpResponse {
    envelope::ok(sim_body(&state))
}

/// `POST /_sim/sim`: change some rates (a JSON object of `SimSettings` fields, or the same
/// names in the query string); the fleet-wide processes are re-drawn from now.
async fn sim_update(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, Error> {
    let mut changes = Map::new();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| Error::bad_param("query string", "it is not valid URL encoding"))?;
    for (k, v) in pairs {
        // Numbers and lists in a query string are JSON; anything else is a string.
        changes.insert(k, serde_json::from_str(&v).unwrap_or(Value::String(v)));
    }
    let text = std::str::from_utf8(&body).map_err(|_| Error::bad_body("it is not UTF-8"))?.trim();
    if !text.is_empty() {
        match serde_json::from_str::<Value>(text).map_err(|e| Error::bad_body(format!("malformed JSON ({e})")))? {
            Value::Object(m) => changes.extend(m),
            _ => return Err(Error::bad_body("expected a JSON object of simulation settings")),
        }
    }
    let gate = state.store.gate();
    let now = state.clock.now();
    state.store.write(|w, _| {
        let mut current = serde_json::to_value(&w.sim().settings).map_err(|e| Error::Internal(e.to_string()))?;
        if let Value::Object(m) = &mut current {
            m.extend(changes);
        }
        let settings: SimSettings =
            serde_json::from_value(current).map_err(|e| Error::bad_body(format!("not simulation settings ({e})")))?;
        w.set_sim_settings(settings, now)
    })?;
    drop(gate);
    Ok(envelope::ok(sim_body(&state)))
}
