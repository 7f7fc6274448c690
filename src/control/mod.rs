//! The control API under `/_sim` (DESIGN.md): health, reset, the clock, scenario helpers, the
//! push journal and the invariant check. No platform auth; parameters in the query string or
//! a JSON body; answers in the platform's envelope.

use crate::api::envelope;
use crate::api::params::Params;
use crate::clock::fmt_datetime;
use crate::error::{code, Error};
use crate::push::journal::Filter;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;
use std::time::Duration;

pub mod faults;
pub mod latency;
pub mod metrics;
pub mod openapi;
pub mod pos;
pub mod requests;
pub mod scenario;
pub mod state;
pub mod ui;

/// Register the control routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/_sim")
            .route("/health", web::get().to(health))
            .route("/reset", web::post().to(reset))
            .route("/clock", web::get().to(clock))
            .route("/clock", web::post().to(set_clock))
            .route("/tick", web::post().to(tick))
            .route("/check", web::get().to(check))
            .route("/cabinets/{id}/return", web::post().to(return_battery))
            .route("/cabinets/{id}/online", web::post().to(online))
            .route("/cabinets/{id}/offline", web::post().to(offline))
            .route("/pushes", web::get().to(pushes))
            .route("/pushes/wait", web::get().to(wait_pushes))
            .route("/pushes/{id}/resend", web::post().to(resend))
            .configure(faults::routes)
            .configure(latency::routes)
            .configure(metrics::routes)
            .configure(openapi::routes)
            .configure(pos::routes)
            .configure(requests::routes)
            .configure(scenario::routes)
            .configure(state::routes)
            .configure(ui::routes),
    );
}

/// `GET /_sim/health`: liveness, version, seed, virtual time, and how the runtime keeps up:
/// `lagMs` (virtual ms the world is behind the clock), the requested and effective speeds,
/// the delivery queue (`pushQueued`, `pushQueuedBytes`) and delivery totals since start.
/// Answered without the world lock.
async fn health(state: web::Data<AppState>) -> HttpResponse {
    let c = state.clock.reading();
    let (queued, queued_bytes) = state.push.queued();
    let totals = state.push.totals();
    let pace = &state.runtime.pace;
    envelope::ok(json!({
        "status": "up",
        "version": env!("CARGO_PKG_VERSION"),
        "seed": state.seed,
        "shard": state.config.shard.map(|s| s.to_string()),
        "now": fmt_datetime(c.now),
        "speed": c.speed,
        "frozen": c.frozen,
        "sim": !state.config.no_sim,
        "lagMs": (c.now - state.store.reached()).max(0),
        "speedRequested": if c.frozen { 0.0 } else { c.speed },
        "speedEffective": pace.speed_effective(),
        "clockHeldBack": pace.braking(),
        "pushQueued": queued,
        "pushQueuedBytes": queued_bytes,
        "pushDelivered": totals.delivered,
        "pushDropped": totals.dropped,
        "pendingPushes": queued,
        "pushTotals": totals,
    }))
}

/// `POST /_sim/reset`: back to the loaded world, seed and start time; the push and request
/// journals are emptied. The new world is built on a blocking thread, outside the lock;
/// requests are answered meanwhile (by the old world until the swap).
async fn reset(state: web::Data<AppState>, requests: web::Data<requests::Requests>) -> Result<HttpResponse, Error> {
    let st = state.into_inner();
    web::block(move || st.reset()).await.map_err(|e| Error::Internal(e.to_string()))?;
    requests.clear();
    Ok(envelope::ok_empty())
}

fn clock_view(state: &AppState) -> serde_json::Value {
    let c = state.clock.reading();
    let mut v =
        json!({ "now": fmt_datetime(c.now), "nowMs": state.epoch_ms(c.now), "speed": c.speed, "frozen": c.frozen });
    if let Some(job) = state.runtime.advance().filter(|j| !j.is_finished()) {
        v["advance"] = json!(job.progress());
    }
    v
}

/// `GET /_sim/clock` (with the progress of a running advance, under `advance`).
async fn clock(state: web::Data<AppState>) -> HttpResponse {
    envelope::ok(clock_view(&state))
}

/// Real time an advance may take before `POST /_sim/clock?advance=` answers without waiting
/// for its end (the advance goes on; `GET /_sim/clock` shows its progress).
const ADVANCE_WAIT: Duration = Duration::from_secs(20);

/// `POST /_sim/clock?freeze=true|false&speed=X&advance=SECONDS&cancel=true&waitMs=N`.
/// Advancing runs every due action of the skipped span at its own virtual time (and the
/// simulation, when on), in bounded steps on a thread of its own, so requests keep being
/// answered. The answer comes when the advance is done, or after `waitMs` (default 20 s)
/// with its progress under `advance` while it goes on. Every clock request cancels the
/// advance that runs; `cancel=true` does only that.
async fn set_clock(state: web::Data<AppState>, p: Params) -> Result<HttpResponse, Error> {
    let freeze = p.bool("freeze")?;
    let speed = p.float("speed")?;
    let advance = p.float("advance")?;
    let cancel = p.bool("cancel")?.unwrap_or(false);
    let wait = p.int_in("waitMs", 0, 600_000)?.map_or(ADVANCE_WAIT, |ms| Duration::from_millis(ms as u64));
    if let Some(s) = speed {
        if !(0.0..=1_000_000.0).contains(&s) {
            return Err(Error::bad_param("speed", "must be between 0 and 1000000"));
        }
    }
    if let Some(a) = advance {
        if !(0.0..=10.0 * 365.0 * 86_400.0).contains(&a) {
            return Err(Error::bad_param("advance", "must be between 0 and ten years of seconds"));
        }
    }
    if cancel && advance.is_some() {
        return Err(Error::bad_param("cancel", "cannot be combined with advance"));
    }
    let why = if cancel { "cancelled by POST /_sim/clock?cancel=true" } else { "cancelled by a later clock request" };
    let cancelled = state.runtime.cancel_advance(why);
    if let Some(f) = freeze {
        state.clock.set_frozen(f);
    }
    if let Some(s) = speed {
        state.clock.set_speed(s);
    }
    if cancel {
        let mut v = clock_view(&state);
        if let Some(job) = cancelled {
            // It stops at its next step, within milliseconds.
            job.wait(Duration::from_secs(5)).await;
            v["advance"] = json!(job.progress());
        }
        return Ok(envelope::ok(v));
    }
    if let Some(a) = advance {
        let job = crate::driver::start_advance(state.clone(), (a * 1000.0) as i64)
            .map_err(|e| Error::Internal(format!("cannot start the advance: {e}")))?;
        if job.wait(wait).await {
            let progress = job.progress();
            if let Some(why) = progress.cancelled {
                return Err(Error::control(format!(
                    "The advance stopped after {} of {} seconds: {why}.",
                    progress.done_seconds, progress.total_seconds
                )));
            }
        }
    }
    Ok(envelope::ok(clock_view(&state)))
}

/// `POST /_sim/tick?n=N`: run N simulation steps, each moving virtual time forward by one
/// step (`--tick-ms` virtual milliseconds).
async fn tick(state: web::Data<AppState>, p: Params) -> Result<HttpResponse, Error> {
    let n = p.int_in("n", 1, 100_000)?.unwrap_or(1) as u64;
    let st = state.clone();
    let events = web::block(move || st.tick(n)).await.map_err(|e| Error::Internal(e.to_string()))?;
    Ok(envelope::ok(json!({ "steps": n, "events": events, "now": fmt_datetime(state.clock.now()) })))
}

/// `GET /_sim/check`: the world's invariants; `code` 0 and no violations when all hold.
/// Run off the async workers: at 100,000 cabinets the pass takes seconds of CPU (in pieces
/// that hold the world lock at most a millisecond each).
async fn check(state: web::Data<AppState>) -> HttpResponse {
    let st = state.clone();
    let v = match web::block(move || st.store.check()).await {
        Ok(v) => v,
        Err(e) => return actix_web::ResponseError::error_response(&Error::Internal(e.to_string())),
    };
    if v.is_empty() {
        envelope::ok(json!({ "violations": v }))
    } else {
        envelope::json(
            &json!({ "msg": format!("{} invariant(s) violated", v.len()), "code": code::CONTROL, "data": { "violations": v } }),
        )
    }
}

/// `POST /_sim/cabinets/{id}/return?batteryId=..&slot=..`: a customer docks a battery.
async fn return_battery(state: web::Data<AppState>, path: web::Path<String>, p: Params) -> Result<HttpResponse, Error> {
    let battery = p.required("batteryId")?;
    let slot = p.int_in("slot", 1, 1000)?.map(|s| s as u16);
    let now = state.clock.now();
    let (order, events) = state.store.write(|w, out| w.return_battery(&path, battery, slot, now, out))?;
    state.push.publish(events);
    let detail = state.store.read(|w| {
        let slot = w.batteries().get(battery).and_then(|b| match &b.place {
            crate::model::BatteryPlace::Slot { slot, .. } => Some(*slot),
            _ => None,
        });
        let amount = order.as_deref().and_then(|t| w.orders().get(t)).map(|o| envelope::Amount(o.amount));
        json!({ "cabinetId": path.as_str(), "batteryId": battery, "slot": slot, "orderId": order, "orderAmount": amount })
    });
    Ok(envelope::ok(detail))
}

async fn set_online(state: &AppState, id: &str, online: bool) -> Result<HttpResponse, Error> {
    let now = state.clock.now();
    let (_, events) = state.store.write(|w, out| w.set_online(id, online, now, out))?;
    state.push.publish(events);
    Ok(envelope::ok(json!({ "cabinetId": id, "online": online })))
}

/// `POST /_sim/cabinets/{id}/online`.
async fn online(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, Error> {
    set_online(&state, &path, true).await
}

/// `POST /_sim/cabinets/{id}/offline`.
async fn offline(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, Error> {
    set_online(&state, &path, false).await
}

fn filter(p: &Params) -> Filter {
    let s = |n: &str| p.get(n).filter(|v| !v.is_empty()).map(str::to_string);
    Filter {
        event: s("event"),
        kind: s("kind"),
        cabinet: s("cabinet"),
        order: s("order"),
        status: s("status"),
        agent: s("agent"),
        exclude_event: None,
    }
}

/// `GET /_sim/pushes?event=&kind=&cabinet=&order=&status=&agent=&limit=`: the delivery
/// journal, oldest first (`limit`: only the latest N matching entries).
async fn pushes(state: web::Data<AppState>, p: Params) -> Result<HttpResponse, Error> {
    let limit = p.int_in("limit", 1, 1_000_000)?.map(|n| n as usize);
    let entries = state.push.list(&filter(&p), limit);
    Ok(envelope::ok(json!({ "total": entries.len(), "records": entries })))
}

/// `GET /_sim/pushes/wait?count=N&timeoutMs=T&<filters>`: block until N matching entries
/// exist (default status `delivered`), or the deadline passes (`code` 9001 then).
async fn wait_pushes(state: web::Data<AppState>, p: Params) -> Result<HttpResponse, Error> {
    let count = p.int_in("count", 1, 1_000_000)?.unwrap_or(1) as usize;
    let timeout = p.int_in("timeoutMs", 0, 120_000)?.unwrap_or(5_000) as u64;
    let mut f = filter(&p);
    if f.status.is_none() {
        f.status = Some("delivered".into());
    }
    let (entries, ok) = state.push.wait(&f, count, Duration::from_millis(timeout)).await;
    let data = json!({ "total": entries.len(), "records": entries });
    if ok {
        Ok(envelope::ok(data))
    } else {
        let msg = format!(
            "Timed out after {timeout} ms with {} of {count} matching deliveries.{}",
            data["total"],
            frozen_hint(&state, f.order.as_deref())
        );
        Ok(envelope::json(&json!({ "msg": msg, "code": code::CONTROL, "data": data })))
    }
}

/// Why a wait may be in vain: with the clock frozen, an order waiting for its cabinet's
/// automatic eject never ejects, so neither its BATTERY_BORROW_OUT nor its callback comes.
/// Empty unless the clock is frozen and such an eject (of `order`, when given) is due.
fn frozen_hint(state: &AppState, order: Option<&str>) -> String {
    if !state.clock.reading().frozen {
        return String::new();
    }
    let due: Vec<(crate::clock::Millis, String)> = state.store.read(|w| {
        w.due()
            .iter()
            .filter_map(|(at, d)| match d {
                crate::model::world::Due::Eject(t) if order.is_none_or(|o| o == t) && w.awaits_battery(t) => {
                    Some((*at, t.clone()))
                }
                _ => None,
            })
            .collect()
    });
    let Some((at, trade)) = due.first() else {
        return window_hint(state, order);
    };
    let others = match due.len() {
        1 => String::new(),
        n => format!(" and {} more", n - 1),
    };
    format!(
        " The virtual clock is frozen and order {trade}{others} waits for its automatic eject (due at {}): a frozen \
         clock ejects nothing and sends no callback. Move it (POST /_sim/clock?advance=SECONDS or ?freeze=false) or \
         name the slot with /cabinet/ejectByRent.",
        fmt_datetime(*at)
    )
}

/// The frozen-clock hint for an order taken over by a refused `ejectByRent`: it waits for the
/// client's retry, and fails only when its window closes, which a frozen clock never reaches.
fn window_hint(state: &AppState, order: Option<&str>) -> String {
    let window = state.store.read(|w| {
        w.due().iter().find_map(|(at, d)| match d {
            crate::model::world::Due::EjectWindow(t) if order.is_none_or(|o| o == t) && w.awaits_battery(t) => {
                Some((*at, t.clone()))
            }
            _ => None,
        })
    });
    let Some((at, trade)) = window else {
        return String::new();
    };
    format!(
        " The virtual clock is frozen and order {trade} waits for an ejectByRent that succeeds (its automatic eject \
         was cancelled when ejectByRent named it); it fails at {} (status=0), which a frozen clock never reaches. \
         Retry /cabinet/ejectByRent or move the clock (POST /_sim/clock?advance=SECONDS).",
        fmt_datetime(at)
    )
}

/// `POST /_sim/pushes/{id}/resend`: deliver a journaled push or callback again.
async fn resend(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let id: u64 = path.parse().map_err(|_| Error::bad_param("id", "not a journal id"))?;
    let new_id = state.push.resend(id).ok_or_else(|| Error::control(format!("No journal entry {id}.")))?;
    Ok(envelope::ok(json!({ "id": new_id, "resentFrom": id })))
}
