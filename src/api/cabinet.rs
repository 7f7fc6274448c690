//! Advance API / Cabinet (ENDPOINTS.md §3, C1-C13).

use super::auth::AuthAgent;
use super::envelope;
use super::params::Params;
use crate::app::AppState;
use crate::error::Error;
use actix_web::{web, HttpResponse};

/// Register this group's routes (relative to `/cdb-open-api/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cabinet/ejectByRent", web::post().to(eject_by_rent));
}

/// C3 `POST /cabinet/ejectByRent?cabinetid=&rentOrderId=&slotNum=`: eject `slotNum` for the
/// order (0 lets the cabinet pick the best battery). An order that already ejected is refused:
/// a battery is never ejected twice for one order. An id that is no order yet becomes a
/// back-office order (ADMIN_RENTAL_ORDER).
async fn eject_by_rent(state: web::Data<AppState>, agent: AuthAgent, p: Params) -> Result<HttpResponse, Error> {
    let cabinet = p.required("cabinetid")?;
    let order = p.required("rentOrderId")?;
    let slot = p.int_in("slotNum", 0, 1000)?.ok_or_else(|| Error::missing_param("slotNum"))? as u16;
    let now = state.clock.now();
    let (_, events) = state.store.write(|w, out| w.eject_by_rent(&agent.0, cabinet, order, slot, now, out))?;
    state.publish(events);
    Ok(envelope::ok_empty())
}
