//! Control routes that make a cabinet report something: its POS terminal going online or
//! offline (POS_INFO_STATUS) and a status report on demand (CABINET_STATUS).

use crate::api::envelope;
use crate::api::params::Params;
use crate::error::Error;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// Register the routes (inside the `/_sim` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cabinets/{id}/pos", web::post().to(set_pos)).route("/cabinets/{id}/report", web::post().to(report));
}

/// `POST /_sim/cabinets/{id}/pos?online=true|false`: the cabinet's POS terminal connects or
/// drops; POS_INFO_STATUS is pushed when its state changes.
async fn set_pos(state: web::Data<AppState>, path: web::Path<String>, p: Params) -> Result<HttpResponse, Error> {
    let online = p.bool("online")?.ok_or_else(|| Error::missing_param("online"))?;
    let now = state.clock.now();
    let (_, events) = state.store.write(|w, out| w.set_pos_online(&path, online, now, out))?;
    let changed = !events.is_empty();
    state.publish(events);
    let pos_sn = state.store.read(|w| w.cabinets().get(path.as_str()).map(|c| c.pos_device_id.clone()));
    Ok(envelope::ok(json!({ "cabinetId": path.as_str(), "posSn": pos_sn, "posOnline": online, "changed": changed })))
}

/// `POST /_sim/cabinets/{id}/report`: the cabinet sends a status report now (CABINET_STATUS).
async fn report(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let now = state.clock.now();
    let (_, events) = state.store.write(|w, out| w.report_status(&path, now, out))?;
    state.publish(events);
    Ok(envelope::ok(json!({ "cabinetId": path.as_str() })))
}
