//! Advance API / Order (R1, docs/api-reference.md): the account's orders, newest first, in the
//! shape production clients read: a top-level `page` object (no `data`) whose records use the
//! platform's `p`-prefixed names and a numeric-string `settledAmount`.

use super::auth::AuthAgent;
use super::envelope::{self, Envelope};
use super::input::{Input, Int, Text, Time};
use super::operation::{schema, Answer, Operation};
use super::paging::{paginate, Page};
use super::route;
use crate::clock::{fmt_datetime, Millis};
use crate::error::Error;
use crate::model::Order;
use crate::model::PriceId;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Register this group's routes (relative to `/cdb-open-api/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/order/list", route::get().to(order_list));
}

/// R1, as the OpenAPI document lists it.
pub const OPERATIONS: &[Operation] = &[Operation {
    id: "R1",
    name: "order_list",
    path: "/order/list",
    tag: "Advance API / Order",
    summary: "R1 Order list",
    description: "The account's orders, newest first; the page is in top-level `page`.",
    query: Some(schema::<OrderListQuery>),
    answer: Answer::Page(schema::<Page<OrderRecord<'static>>>),
    ..Operation::BASE
}];

/// One order as an R1 record. `settledAmount` is the final amount once the order ended and the
/// running amount while in lease; `billingDuration` is whole minutes (rounded up) from the
/// eject to the end (or to now).
#[derive(Serialize, JsonSchema)]
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
    price_id: PriceId,
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
        price_id: o.terms.price_id.unwrap_or_default(),
        create_time: fmt_datetime(o.created_at),
    }
}

/// R1's parameters.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderListQuery {
    /// Page number, from 1.
    pub page: Int<1, 1_000_000>,
    /// Page size.
    pub limit: Int<1, 1000>,
    /// 1 own and subordinates, 2 only subordinates (always empty here), 3 own (default).
    pub data_level: Option<Int<1, 3>>,
    /// Earliest creation time, inclusive.
    #[serde(rename = "sTime")]
    pub s_time: Option<Time>,
    /// Latest creation time, inclusive.
    #[serde(rename = "eTime")]
    pub e_time: Option<Time>,
    /// Only orders rented from this cabinet.
    #[serde(rename = "pCabinetid")]
    pub p_cabinetid: Option<Text>,
}

/// R1 `GET /order/list?page=&limit=&dataLevel=&sTime=&eTime=&pCabinetid=`. `sTime`/`eTime`
/// bound the creation time (inclusive); `pCabinetid` keeps orders rented from that cabinet.
/// `dataLevel` 2 ("only subordinates") is empty: accounts have no sub-agents here; 1 and 3
/// (the default) are the account's own orders.
async fn order_list(
    state: web::Data<AppState>,
    agent: AuthAgent,
    Input(q): Input<OrderListQuery>,
) -> Result<HttpResponse, Error> {
    let page = q.page.get() as usize;
    let limit = q.limit.get() as usize;
    let level = q.data_level.map_or(3, Int::get);
    let from = q.s_time.map(|t| t.0);
    let to = q.e_time.map(|t| t.0);
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            return Err(Error::bad_param("eTime", "it is before sTime"));
        }
    }
    let cabinet = q.p_cabinetid.as_deref();
    let now = state.clock.now();
    // Records borrow the world, so the answer is serialised inside the read lock.
    let bytes = state.store.read(|w| {
        let mut orders: Vec<&Order> = w
            .orders()
            .values()
            .filter(|o| o.agent == *agent.0)
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
