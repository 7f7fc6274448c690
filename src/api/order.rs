//! Advance API / Order (ENDPOINTS.md §6, R1): the account's orders, newest first, in the
//! shape production clients read: a top-level `page` object (no `data`) whose records use the
//! platform's `p`-prefixed names and a numeric-string `settledAmount`.

use super::auth::AuthAgent;
use super::envelope;
use super::paging::{paginate, Page};
use super::params::{clip, Params};
use crate::app::AppState;
use crate::clock::{fmt_datetime, parse_datetime, Millis};
use crate::error::Error;
use crate::model::{Order, OrderStatus};
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

/// Register this group's routes (relative to `/cdb-open-api/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/order/list", web::get().to(order_list));
}

/// One order as an R1 record. `settledAmount` is the final amount once the order ended and the
/// running amount while in lease; `billingDuration` is whole minutes (rounded up) from the
/// eject to the end (or to now).
fn record(o: &Order, now: Millis) -> Value {
    let ended = matches!(o.status, OrderStatus::Returned | OrderStatus::Closed | OrderStatus::BoughtOut);
    json!({
        "id": o.trade_no,
        "pOrderid": o.trade_no,
        "pBatteryid": o.battery.clone().unwrap_or_default(),
        "pCabinetid": o.cabinet,
        "pBorrowtime": fmt_datetime(o.borrow_time.unwrap_or(o.created_at)),
        "pGhtime": if ended { o.end_time.map(fmt_datetime) } else { None },
        "pShopName": o.shop_name,
        "pShopid": o.shop.clone().unwrap_or_default(),
        "pReturnCabinetid": o.return_cabinet.clone().unwrap_or_default(),
        "pKakou": o.slot.unwrap_or(0),
        "settledAmount": o.amount_at(now).to_string(),
        "billingDuration": o.duration_minutes_at(now),
        "borrowStatus": o.status.borrow_status(),
        "currency": o.terms.currency,
        "priceId": o.terms.price_id.unwrap_or(0),
        "createTime": fmt_datetime(o.created_at),
    })
}

fn time_param(p: &Params, name: &str) -> Result<Option<Millis>, Error> {
    match p.get(name).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse_datetime(v)
            .map(Some)
            .ok_or_else(|| Error::bad_param(name, format!("'{}' is not a time like 2026-03-02 09:00:00", clip(v)))),
    }
}

/// R1 `GET /order/list?page=&limit=&dataLevel=&sTime=&eTime=&pCabinetid=`. `sTime`/`eTime`
/// bound the creation time (inclusive); `pCabinetid` keeps orders rented from that cabinet.
/// `dataLevel` 2 ("only subordinates") is empty: accounts have no sub-agents here; 1 and 3
/// (the default) are the account's own orders.
async fn order_list(state: web::Data<AppState>, agent: AuthAgent, p: Params) -> Result<HttpResponse, Error> {
    let page = p.int_in("page", 1, 1_000_000)?.ok_or_else(|| Error::missing_param("page"))? as usize;
    let limit = p.int_in("limit", 1, 1000)?.ok_or_else(|| Error::missing_param("limit"))? as usize;
    let level = p.int_in("dataLevel", 1, 3)?.unwrap_or(3);
    let from = time_param(&p, "sTime")?;
    let to = time_param(&p, "eTime")?;
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            return Err(Error::bad_param("eTime", "it is before sTime"));
        }
    }
    let cabinet = p.get("pCabinetid").map(str::trim).filter(|c| !c.is_empty());
    let now = state.clock.now();
    let page = state.store.read(|w| {
        let mut orders: Vec<&Order> = w
            .orders()
            .values()
            .filter(|o| o.agent == agent.0)
            .filter(|o| from.is_none_or(|t| o.created_at >= t) && to.is_none_or(|t| o.created_at <= t))
            .filter(|o| cabinet.is_none_or(|c| o.cabinet == c))
            .collect();
        if level == 2 {
            orders.clear();
        }
        orders.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.trade_no.cmp(&a.trade_no)));
        // Page first, then build records only for the page: busy worlds hold many orders.
        let p = paginate(orders, page, limit);
        let records: Vec<Value> = p.records.iter().map(|o| record(o, now)).collect();
        Page { records, total: p.total, size: p.size, current: p.current, pages: p.pages }
    });
    Ok(envelope::json(&json!({ "msg": envelope::OK_MSG, "code": 0, "page": page })))
}
