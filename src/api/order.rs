//! Advance API / Order (R1, docs/api-reference.md): the account's orders, newest first, in the
//! shape production clients read: a top-level `page` object (no `data`) whose records use the
//! platform's `p`-prefixed names and a numeric-string `settledAmount`.

use super::auth::AuthAgent;
use super::envelope;
use super::input::{Input, Int, Text, Time};
use super::operation::{schema, Answer, Operation};
use super::paging::{page_of, paginate, Page};
use super::route;
use crate::clock::Millis;
use crate::error::Error;
use crate::model::id::TradeNo;
use crate::model::order_index::Filed;
use crate::model::PriceId;
use crate::model::{Order, World};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::ops::Bound;

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

/// An order as R1's record view: the description [`write_order_page`] is tested against.
#[cfg(test)]
fn record(o: &Order, now: Millis) -> OrderRecord<'_> {
    OrderRecord {
        id: &o.trade_no,
        p_orderid: &o.trade_no,
        p_batteryid: o.battery.as_deref().unwrap_or_default(),
        p_cabinetid: &o.cabinet,
        p_borrowtime: crate::clock::fmt_datetime(o.borrow_time.unwrap_or(o.created_at)),
        p_ghtime: if o.status.is_ended() { o.end_time.map(crate::clock::fmt_datetime) } else { None },
        p_shop_name: &o.shop_name,
        p_shopid: o.shop.as_deref().unwrap_or_default(),
        p_return_cabinetid: o.return_cabinet.as_deref().unwrap_or_default(),
        p_kakou: o.slot.unwrap_or(0),
        settled_amount: o.amount_at(now).to_string(),
        billing_duration: o.duration_minutes_at(now),
        borrow_status: o.status.borrow_status(),
        currency: &o.terms.currency,
        price_id: o.terms.price_id.unwrap_or_default(),
        create_time: crate::clock::fmt_datetime(o.created_at),
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
    let pick = Pick { agent: &agent.0, from, to, cabinet };
    let bytes = state.store.read(|w| {
        // Page first, then build records only for the page: busy worlds hold many orders.
        let orders = if level == 2 {
            paginate(Vec::new(), page, limit)
        } else {
            match w.agent_orders(pick.agent) {
                Some(filed) => page_by_index(w, filed, &pick, page, limit),
                None => page_by_scan(w, &pick, page, limit),
            }
        };
        Ok::<_, Error>(write_order_page(&orders, now))
    })?;
    Ok(envelope::json_bytes(bytes))
}

/// R1's answer, `{"msg":"Successful operation","code":0,"page":{...}}`, as `serde_json` writes
/// [`record`]'s views in `Envelope::ok_page` (tests compare the two), without a text per time
/// and amount: a page of twenty orders wrote sixty times and twenty amounts through
/// allocations, and escaped every key (see `json_out`).
fn write_order_page(page: &Page<&Order>, now: Millis) -> Vec<u8> {
    use super::json_out::{int, money_text, page_end, page_start, string, uint, Times};
    let mut out = Vec::with_capacity(256 + 560 * page.records.len());
    let mut times = Times::default();
    page_start(&mut out, "page");
    for (i, o) in page.records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(br#"{"id":"#);
        let id = out.len();
        string(&mut out, &o.trade_no);
        let id = id..out.len();
        out.extend_from_slice(br#","pOrderid":"#);
        // The same text again, as just written (quoted and escaped).
        out.extend_from_within(id);
        out.extend_from_slice(br#","pBatteryid":"#);
        string(&mut out, o.battery.as_deref().unwrap_or_default());
        out.extend_from_slice(br#","pCabinetid":"#);
        string(&mut out, &o.cabinet);
        out.extend_from_slice(br#","pBorrowtime":"#);
        times.write(&mut out, o.borrow_time.unwrap_or(o.created_at));
        out.extend_from_slice(br#","pGhtime":"#);
        match o.end_time.filter(|_| o.status.is_ended()) {
            Some(t) => times.write(&mut out, t),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(br#","pShopName":"#);
        string(&mut out, &o.shop_name);
        out.extend_from_slice(br#","pShopid":"#);
        string(&mut out, o.shop.as_deref().unwrap_or_default());
        out.extend_from_slice(br#","pReturnCabinetid":"#);
        string(&mut out, o.return_cabinet.as_deref().unwrap_or_default());
        out.extend_from_slice(br#","pKakou":"#);
        uint(&mut out, u64::from(o.slot.unwrap_or(0)));
        out.extend_from_slice(br#","settledAmount":"#);
        money_text(&mut out, o.amount_at(now));
        out.extend_from_slice(br#","billingDuration":"#);
        int(&mut out, o.duration_minutes_at(now));
        out.extend_from_slice(br#","borrowStatus":"#);
        int(&mut out, o.status.borrow_status());
        out.extend_from_slice(br#","currency":"#);
        string(&mut out, &o.terms.currency);
        out.extend_from_slice(br#","priceId":"#);
        uint(&mut out, o.terms.price_id.unwrap_or_default().0);
        out.extend_from_slice(br#","createTime":"#);
        times.write(&mut out, o.created_at);
        out.push(b'}');
    }
    page_end(&mut out, page);
    out
}

/// Which orders R1 lists: the account's, created within `from..=to`, rented from `cabinet`.
struct Pick<'a> {
    agent: &'a str,
    from: Option<Millis>,
    to: Option<Millis>,
    cabinet: Option<&'a str>,
}

impl Pick<'_> {
    fn keeps(&self, o: &Order) -> bool {
        o.agent == self.agent
            && self.from.is_none_or(|t| o.created_at >= t)
            && self.to.is_none_or(|t| o.created_at <= t)
            && self.cabinet.is_none_or(|c| o.cabinet == c)
    }
}

/// R1's page from the whole order book: newest first (then by trade number, descending).
fn page_by_scan<'a>(w: &'a World, pick: &Pick, page: usize, limit: usize) -> Page<&'a Order> {
    let mut orders: Vec<&Order> = w.orders().values().filter(|o| pick.keeps(o)).collect();
    orders.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.trade_no.cmp(&a.trade_no)));
    paginate(orders, page, limit)
}

/// [`page_by_scan`]'s page from the account's orders as `World::agent_orders` files them
/// (oldest first, so walked backwards): the time bounds are a range of that order, and
/// without a cabinet the total is counted without looking at an order.
fn page_by_index<'a>(w: &'a World, filed: &BTreeSet<Filed>, pick: &Pick, page: usize, limit: usize) -> Page<&'a Order> {
    // `range` panics on crossed bounds; R1 refuses them before (eTime before sTime).
    if pick.from.is_some_and(|f| pick.to.is_some_and(|t| f > t)) {
        return paginate(Vec::new(), page, limit);
    }
    let low = Bound::Included((pick.from.unwrap_or(Millis::MIN), TradeNo::default()));
    let high = match pick.to.map(|t| t.checked_add(1)) {
        // Every trade number sorts after the empty one: this bound is just past `to`.
        Some(Some(after)) => Bound::Excluded((after, TradeNo::default())),
        _ => Bound::Unbounded,
    };
    let in_range = || filed.range((low.clone(), high.clone())).rev();
    let orders = || in_range().filter_map(|(_, t)| w.orders().get(t.as_str()));
    match pick.cabinet {
        None => {
            let total = if pick.from.is_none() && pick.to.is_none() { filed.len() } else { in_range().count() };
            page_of(orders(), total, page, limit)
        }
        // A cabinet's orders are a few of the account's: kept, then paged.
        Some(c) => paginate(orders().filter(|o| o.cabinet == c).collect(), page, limit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::envelope::Envelope;

    /// The index's pages are the scan's, for every filter R1 has, ties in time included.
    #[test]
    fn pages_from_the_index_are_the_scans_pages() {
        let w = crate::model::order_index::tests::world_with_orders(400);
        let agents: BTreeSet<String> = w.orders().values().map(|o| o.agent.to_string()).collect();
        let cabinet = w.orders().values().next().map(|o| o.cabinet.to_string());
        let times = [None, Some(0), Some(7_000), Some(66_000), Some(500_000)];
        let mut compared = 0;
        for agent in agents.iter().map(String::as_str).chain(["nobody"]) {
            let filed = w.agent_orders(agent).expect("the index matches");
            for from in times {
                for to in times.into_iter().filter(|t| t.is_none_or(|t| from.is_none_or(|f| f <= t))) {
                    for cabinet in [None, cabinet.as_deref(), Some("NOPE0000")] {
                        let pick = Pick { agent, from, to, cabinet };
                        for (page, limit) in [(1, 20), (2, 7), (1, 1), (3, 1000), (1, 1000), (40, 3), (1_000_000, 1000)]
                        {
                            let a = page_by_index(&w, filed, &pick, page, limit);
                            let b = page_by_scan(&w, &pick, page, limit);
                            let ids =
                                |p: &Page<&Order>| p.records.iter().map(|o| o.trade_no.to_string()).collect::<Vec<_>>();
                            assert_eq!(ids(&a), ids(&b), "{agent} {from:?}..{to:?} {cabinet:?} page {page} of {limit}");
                            assert_eq!((a.total, a.size, a.current, a.pages), (b.total, b.size, b.current, b.pages));
                            compared += usize::from(!a.records.is_empty());
                        }
                    }
                }
            }
        }
        assert!(compared > 100, "{compared} non-empty pages compared");
    }

    /// Orders in every state R1 shows, with texts that need escaping and times far out.
    fn varied_orders() -> Vec<Order> {
        use crate::model::OrderStatus;
        let w = crate::model::order_index::tests::world_with_orders(60);
        let statuses = [
            OrderStatus::Pending,
            OrderStatus::InLease,
            OrderStatus::Failed,
            OrderStatus::Revoked,
            OrderStatus::Returned,
            OrderStatus::Closed,
        ];
        let texts = ["", "Caf\u{e9} \"Gare\" \\ \u{20ac}", "tab\tnew\nline\u{1}", "Fleet Shop 7"];
        w.orders()
            .values()
            .cloned()
            .enumerate()
            .map(|(i, mut o)| {
                o.status = statuses[i % statuses.len()];
                o.shop_name = texts[i % texts.len()].to_string();
                o.terms.currency = texts[(i + 1) % texts.len()].to_string();
                if i % 5 > 0 {
                    o.borrow_time = Some(o.created_at + 61_000 * i as Millis);
                    o.battery = Some(format!("B{i:09}").into());
                    o.slot = Some(i as u16 % 24 + 1);
                }
                if i % 3 == 0 {
                    o.end_time = Some(o.created_at + 3_600_000 * i as Millis);
                    o.return_cabinet = Some(texts[i % texts.len()].to_string());
                }
                if i % 7 == 0 {
                    // Outside 0..=9999: the text chrono writes.
                    o.created_at = -70_000_000_000_000 - i as Millis;
                }
                o.amount = crate::model::Money((i as i64 - 20) * 37);
                o
            })
            .collect()
    }

    #[test]
    fn the_r1_writer_writes_what_serde_json_writes_for_the_page() {
        let orders = varied_orders();
        let now = 86_400_000 * 3;
        for rows in [0, 1, 2, 20, orders.len()] {
            let page = Page {
                records: orders.iter().take(rows).collect::<Vec<&Order>>(),
                total: 35_000,
                size: 20,
                current: 2,
                pages: 1750,
            };
            let fast = String::from_utf8(write_order_page(&page, now)).unwrap();
            let reference = Envelope::ok_page(Page {
                records: page.records.iter().map(|o| record(o, now)).collect::<Vec<_>>(),
                total: page.total,
                size: page.size,
                current: page.current,
                pages: page.pages,
            })
            .to_bytes()
            .unwrap();
            assert_eq!(fast, String::from_utf8(reference).unwrap(), "{rows} rows");
        }
    }
}
