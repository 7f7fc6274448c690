//! Advance API / Order (R1, docs/api-reference.md): the account's orders, newest first, in the
//! shape production clients read: a top-level `page` object (no `data`) whose records use the
//! platform's `p`-prefixed names and a numeric-string `settledAmount`.

use super::auth::AuthAgent;
use super::envelope::{self, Envelope};
use super::paging::paginate;
use super::params::{clip, Params};
use crate::app::AppState;
use crate::clock::{fmt_datetime, parse_datetime, Millis};
use crate::error::Error;
use crate::model::Order;
use actix_web::{web, HttpResponse};
use serde::Serialize;

/// Register this group's routes (relative to `/cdb-open-api/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/order/list", web::get().to(order_list));
}

/// One order as an R1 record. `settledAmount` is the final amount once the order ended and the
/// running amount while in lease; `billingDuration` is whole minutes (rounded up) from the
/// eject to the end (or to now).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderRecord<'a> {
    id: &'a str,
    p_orderid: &'a str,
    p_batteryid: &'a str,
    p_cabinetid: &'a str,
    p_borrowtime: String,
    p_ghtime: Option<String>,
    p_shop_name: &'a str,
    p_shopid: &'a str,
    p_return_cabinetid: &'a str,
    p_kakou: u16,
    settled_amount: String,
    billing_duration: i64,
    borrow_status: i64,
    currency: &'a str,
    price_id: u64,
    create_time: String,
}

fn record(o: &Order, now: Millis) -> OrderRecord<'_> {
    OrderRecord {
        id: &o.trade_no,
        p_orderid: &o.trade_no,
        p_batteryid: o.battery.as_deref().unwrap_or_default(),
        p_cabinetid: &o.cabinet,
        p_borrowtime: fmt_datetime(o.borrow_time.unwrap_or(o.created_at)),
        p_ghtime: if o.status.is_ended() { o.end_time.map(fmt_datetime) } else { None },
        p_shop_name: &o.shop_name,
        p_shopid: o.shop.as_deref().unwrap_or_default(),
        p_return_cabinetid: o.return_cabinet.as_deref().unwrap_or_default(),
        p_kakou: o.slot.unwrap_or(0),
        settled_amount: o.amount_at(now).to_string(),
        billing_duration: o.duration_minutes_at(now),
        borrow_status: o.status.borrow_status(),
        currency: &o.terms.currency,
        price_id: o.terms.price_id.unwrap_or(0),
        create_time: fmt_datetime(o.created_at),
    }
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
    // Records borrow the world, so the answer is serialised inside the read lock.
    let bytes = state.store.read(|w| {
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
        Envelope::ok_page(paginate(orders, page, limit).map(|o| record(o, now))).to_bytes()
    })?;
    Ok(envelope::json_bytes(bytes))
}
