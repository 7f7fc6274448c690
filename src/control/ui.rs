//! The live dashboard at `/_sim/ui` and the JSON view it polls, `/_sim/ui/world`.
//!
//! The page is one self-contained HTML file (inline CSS and JS, no build step, no external
//! assets: the simulator must work without a network) compiled into the binary. It reads the
//! world through `/_sim/ui/world` and changes it only through the public control and platform
//! routes, so what a demo shows is exactly what a client integration would see.
//!
//! `/_sim/ui/sink` is a built-in receiver for pushes and callbacks, for demos without one.
//!
//! The view is built under the read lock in one short pass and capped (cabinets, orders,
//! journal entries) so a synthetic fleet of 100,000 cabinets cannot turn a poll into a
//! multi-megabyte answer.

use crate::api::envelope::{self, Amount};
use crate::api::params::Params;
use crate::app::AppState;
use crate::clock::{fmt_datetime, Millis};
use crate::error::Error;
use crate::model::battery::battery_fault_cause;
use crate::model::cabinet::slot_fault_cause;
use crate::model::{BatteryPlace, World};
use crate::push::journal::{Entry, Filter};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};
use serde::Serialize;
use std::collections::BTreeMap;

/// The dashboard page, embedded so the binary serves it with zero setup.
const DASHBOARD_HTML: &str = include_str!("../../ui/dashboard.html");

/// Default and largest number of cabinets in one view.
const CABINETS_DEFAULT: i64 = 200;
const CABINETS_MAX: i64 = 2_000;
/// Default and largest number of orders in one view (open orders first, then recent ones).
const ORDERS_DEFAULT: i64 = 50;
const ORDERS_MAX: i64 = 1_000;
/// Default and largest number of journal entries in one view (latest first).
const PUSHES_DEFAULT: i64 = 40;
const PUSHES_MAX: i64 = 1_000;
/// Largest number of batteries outside the cabinets listed (the return form's choices).
const OUTSIDE_MAX: usize = 1_000;

/// Register these routes (inside the `/_sim` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/ui", web::get().to(page))
        .route("/ui/", web::get().to(page))
        .route("/ui/world", web::get().to(world))
        .route("/ui/sink", web::to(sink))
        .route("/ui/sink/{tail:.*}", web::to(sink));
}

/// `ANY /_sim/ui/sink[/...]`: a receiver that accepts every push and callback with 200, so a
/// demo can point callbacks and event pushes at the simulator itself and watch them arrive in
/// the journal without running a receiver of its own. The body is ignored: the journal already
/// holds what was sent.
async fn sink() -> HttpResponse {
    envelope::ok_empty()
}

/// `GET /_sim/ui`: the dashboard page.
async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")))
        // The page changes with the binary only; no stale copy after an upgrade.
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .body(DASHBOARD_HTML)
}

/// An agent the picker offers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentView {
    /// Login name.
    pub account: String,
    /// Company name.
    pub name: String,
}

/// A shop with its position and its cabinets.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopView {
    /// Shop id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Street address, if set.
    pub address: Option<String>,
    /// City.
    pub city: String,
    /// WGS-84 latitude.
    pub latitude: f64,
    /// WGS-84 longitude.
    pub longitude: f64,
    /// ISO currency of its prices.
    pub currency: String,
    /// Opening hours text.
    pub opening_time: String,
    /// Ids of the cabinets standing there (those in the view).
    pub cabinets: Vec<String>,
}

/// One slot of a cabinet as the dashboard draws it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotView {
    /// 1-based slot number.
    pub slot: u16,
    /// Battery docked here, if any.
    pub battery_id: Option<String>,
    /// Its charge now, percent (0 when empty).
    pub vol: u8,
    /// Slot fault type, 0 when healthy.
    pub slot_fault: u8,
    /// Slot fault text.
    pub slot_fault_cause: &'static str,
    /// Locked by an operator.
    pub locked: bool,
    /// Why it was locked.
    pub lock_reason: String,
    /// Battery fault type, 0 when healthy or empty.
    pub battery_fault: u8,
    /// Battery fault text.
    pub battery_fault_cause: &'static str,
    /// Whether an automatic eject would hand this battery out now.
    pub rentable: bool,
}

/// A cabinet with its slots.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CabinetView {
    /// Device id.
    pub id: String,
    /// Shop id, if bound.
    pub shop: Option<String>,
    /// Shop name, empty when unbound.
    pub shop_name: String,
    /// Connected to the platform.
    pub online: bool,
    /// Number of slots.
    pub slot_count: usize,
    /// Batteries present.
    pub batteries: usize,
    /// Batteries an automatic eject would hand out.
    pub rentable: usize,
    /// Empty usable slots.
    pub returnable: usize,
    /// Signal quality 0-31, as text.
    pub signal: String,
    /// Last heartbeat.
    pub last_seen: String,
    /// Every slot, in order.
    pub slots: Vec<SlotView>,
}

/// An order with its running or final amount.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    /// Trade number.
    pub trade_no: String,
    /// `pending`, `inLease`, `failed`, `revoked`, `returned`, `closed` or `boughtOut`.
    pub status: crate::model::OrderStatus,
    /// Whether it is still open (pending or in lease).
    pub open: bool,
    /// Who created it (`openApi`, `admin`, `customer`).
    pub origin: crate::model::OrderOrigin,
    /// Cabinet rented from.
    pub cabinet: String,
    /// Shop name at creation.
    pub shop_name: String,
    /// Battery handed out, if any.
    pub battery_id: Option<String>,
    /// Its charge now, when it is out on this order.
    pub battery_vol: Option<u8>,
    /// Slot it came from.
    pub slot: Option<u16>,
    /// Creation time.
    pub created_at: String,
    /// When the battery left the cabinet.
    pub borrow_time: Option<String>,
    /// When the order ended.
    pub end_time: Option<String>,
    /// Cabinet returned into.
    pub return_cabinet: Option<String>,
    /// Minutes billed (or running).
    pub minutes: i64,
    /// Amount due now (running) or billed (final), major units.
    pub amount: Amount,
    /// Currency of the amount.
    pub currency: String,
    /// Price strategy name.
    pub price_name: String,
    /// Rental failure type, when the eject failed.
    pub fault_type: Option<u8>,
    /// Rental failure text.
    pub fault_cause: Option<String>,
}

/// A battery outside every cabinet: out on an open order, or loose.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutsideBatteryView {
    /// Battery id.
    pub id: String,
    /// Its charge now.
    pub vol: u8,
    /// Battery fault type.
    pub fault: u8,
    /// The open order holding it, `None` when loose.
    pub order: Option<String>,
}

/// Totals over the whole agent (not only the cabinets in the view).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Shops.
    pub shops: usize,
    /// Cabinets.
    pub cabinets: usize,
    /// Cabinets online.
    pub online: usize,
    /// Slots.
    pub slots: usize,
    /// Batteries docked.
    pub docked: usize,
    /// Batteries out on open orders.
    pub rented: usize,
    /// Batteries loose.
    pub loose: usize,
    /// Orders ever.
    pub orders: usize,
    /// Orders pending or in lease.
    pub open_orders: usize,
    /// Docked batteries or slots with a fault.
    pub faults: usize,
}

/// The dashboard's view of one agent's world.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorldView {
    /// The agent shown.
    pub agent: String,
    /// Every agent, for the picker.
    pub agents: Vec<AgentView>,
    /// Totals over the agent.
    pub totals: Totals,
    /// The shops of the cabinets shown, plus shops without cabinets (capped like cabinets).
    pub shops: Vec<ShopView>,
    /// The agent's cabinets (capped, in id order).
    pub cabinets: Vec<CabinetView>,
    /// Open orders first, then finished ones, each group newest first (capped).
    pub orders: Vec<OrderView>,
    /// Batteries outside every cabinet.
    pub outside: Vec<OutsideBatteryView>,
}

/// Build the view of `agent` at `now`.
pub fn world_view(w: &World, agent: &str, now: Millis, max_cabinets: usize, max_orders: usize) -> WorldView {
    let agents = w.agents.values().map(|a| AgentView { account: a.account.clone(), name: a.name.clone() }).collect();
    let mut totals = Totals::default();

    // Cabinets first: the shops on the map are those of the cabinets shown (plus cabinet-less
    // shops while there is room), so the map and the cabinet list always agree.
    let mut cabinets = Vec::new();
    let mut shown_by_shop: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for c in w.cabinets.values().filter(|c| c.agent == agent) {
        totals.cabinets += 1;
        totals.online += usize::from(c.online);
        totals.slots += c.slots.len();
        totals.docked += c.battery_count();
        totals.faults += c.slots.iter().filter(|s| s.fault != 0).count();
        if cabinets.len() >= max_cabinets {
            // Beyond the cap only the totals above: a poll must stay cheap on a huge fleet.
            continue;
        }
        let shop = c.shop.as_deref().and_then(|id| w.shops.get(id));
        if let Some(s) = shop {
            shown_by_shop.entry(s.id.as_str()).or_default().push(c.id.clone());
        }
        let slots: Vec<SlotView> = c
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let n = i as u16 + 1;
                let b = s.battery.as_deref().and_then(|id| w.batteries.get(id));
                let battery_fault = b.map_or(0, |b| b.fault);
                SlotView {
                    slot: n,
                    battery_id: s.battery.clone(),
                    vol: s.battery.as_deref().map_or(0, |id| w.vol(id, now)),
                    slot_fault: s.fault,
                    slot_fault_cause: slot_fault_cause(s.fault),
                    locked: s.locked,
                    lock_reason: s.lock_reason.clone(),
                    battery_fault,
                    battery_fault_cause: battery_fault_cause(battery_fault),
                    rentable: w.is_rentable(c, n, now),
                }
            })
            .collect();
        cabinets.push(CabinetView {
            id: c.id.clone(),
            shop: c.shop.clone(),
            shop_name: shop.map(|s| s.name.clone()).unwrap_or_default(),
            online: c.online,
            slot_count: c.slots.len(),
            batteries: c.battery_count(),
            rentable: slots.iter().filter(|s| s.rentable).count(),
            returnable: c.slots.iter().filter(|s| s.battery.is_none() && s.usable()).count(),
            signal: c.signal.clone(),
            last_seen: fmt_datetime(c.last_seen),
            slots,
        });
    }

    // When the cap cut the list, the map shows exactly the shops of the cabinets shown;
    // otherwise every shop, those without a cabinet included.
    let capped = totals.cabinets > cabinets.len();
    let mut shops = Vec::new();
    for s in w.shops.values().filter(|s| s.agent == agent) {
        totals.shops += 1;
        let shown = shown_by_shop.remove(s.id.as_str());
        if shown.is_none() && capped {
            continue;
        }
        shops.push(ShopView {
            id: s.id.clone(),
            name: s.name.clone(),
            address: s.address.clone(),
            city: s.city.clone(),
            latitude: s.latitude,
            longitude: s.longitude,
            currency: s.currency.clone(),
            opening_time: s.opening_time.clone(),
            cabinets: shown.unwrap_or_default(),
        });
    }

    let mut outside = Vec::new();
    for b in w.batteries.values() {
        // The place and the fault are checked before the agent: on a fleet of a million
        // batteries, comparing each one's agent string is most of the cost of a poll.
        let order = match &b.place {
            BatteryPlace::Slot { .. } => {
                totals.faults += usize::from(b.fault != 0 && b.agent == agent);
                continue;
            }
            _ if b.agent != agent => continue,
            BatteryPlace::Rented { order } => Some(order.clone()),
            BatteryPlace::Loose => None,
        };
        if order.is_some() {
            totals.rented += 1;
        } else {
            totals.loose += 1;
        }
        outside.push((b, order));
    }
    // The battery table has no order of its own: the first OUTSIDE_MAX by id are shown.
    outside.sort_unstable_by(|a, b| a.0.id.cmp(&b.0.id));
    outside.truncate(OUTSIDE_MAX);
    let outside: Vec<OutsideBatteryView> = outside
        .into_iter()
        .map(|(b, order)| OutsideBatteryView { id: b.id.clone(), vol: w.vol(&b.id, now), fault: b.fault, order })
        .collect();

    let mut mine: Vec<&crate::model::Order> = w.orders.values().filter(|o| o.agent == agent).collect();
    totals.orders = mine.len();
    totals.open_orders = mine.iter().filter(|o| !o.status.is_final()).count();
    // Open orders first, then newest first; the trade number breaks ties so the order is stable.
    mine.sort_by(|a, b| {
        a.status
            .is_final()
            .cmp(&b.status.is_final())
            .then(b.created_at.cmp(&a.created_at))
            .then(b.trade_no.cmp(&a.trade_no))
    });
    let orders = mine
        .into_iter()
        .take(max_orders)
        .map(|o| {
            let out_now = o.status == crate::model::OrderStatus::InLease;
            OrderView {
                trade_no: o.trade_no.clone(),
                status: o.status,
                open: !o.status.is_final(),
                origin: o.origin,
                cabinet: o.cabinet.clone(),
                shop_name: o.shop_name.clone(),
                battery_id: o.battery.clone(),
                battery_vol: o.battery.as_deref().filter(|_| out_now).map(|b| w.vol(b, now)),
                slot: o.slot,
                created_at: fmt_datetime(o.created_at),
                borrow_time: o.borrow_time.map(fmt_datetime),
                end_time: o.end_time.map(fmt_datetime),
                return_cabinet: o.return_cabinet.clone(),
                minutes: o.duration_minutes_at(now),
                amount: Amount(o.amount_at(now)),
                currency: o.terms.currency.clone(),
                price_name: o.terms.name.clone(),
                fault_type: o.fault_type,
                fault_cause: o.fault_cause.clone(),
            }
        })
        .collect();

    WorldView { agent: agent.to_string(), agents, totals, shops, cabinets, orders, outside }
}

/// `GET /_sim/ui/world?agent=demo&cabinets=200&orders=50&pushes=40`: one agent's world, the
/// clock and the latest journal entries, in the envelope. Without `agent`: `demo` when it
/// exists, else the first agent.
async fn world(state: web::Data<AppState>, p: Params) -> Result<HttpResponse, Error> {
    let max_cabinets = p.int_in("cabinets", 1, CABINETS_MAX)?.unwrap_or(CABINETS_DEFAULT) as usize;
    let max_orders = p.int_in("orders", 0, ORDERS_MAX)?.unwrap_or(ORDERS_DEFAULT) as usize;
    let max_pushes = p.int_in("pushes", 0, PUSHES_MAX)?.unwrap_or(PUSHES_DEFAULT) as usize;
    let wanted = p.get("agent").map(str::trim).filter(|a| !a.is_empty()).map(str::to_string);
    let clock = state.clock.reading();
    let view = state.store.read(|w| {
        let agent = match &wanted {
            Some(a) if w.agents.contains_key(a) => a.clone(),
            Some(a) => return Err(Error::control(format!("No agent '{}'.", crate::api::params::clip(a)))),
            None if w.agents.contains_key("demo") => "demo".to_string(),
            None => w.agents.keys().next().cloned().unwrap_or_default(),
        };
        Ok(world_view(w, &agent, clock.now, max_cabinets, max_orders))
    })?;
    // The journal has its own lock; it is read after the world lock is released.
    let mine = Filter { agent: Some(view.agent.clone()), ..Filter::default() };
    let total_pushes = state.push.count(&mine);
    let pushes: Vec<Entry> =
        if max_pushes == 0 { Vec::new() } else { state.push.list(&mine, Some(max_pushes)).into_iter().rev().collect() };
    Ok(envelope::ok(serde_json::json!({
        "clock": {
            "now": fmt_datetime(clock.now),
            "nowMs": clock.now,
            "speed": clock.speed,
            "frozen": clock.frozen,
        },
        "sim": !state.config.no_sim,
        "seed": state.seed,
        "world": view,
        "pushes": { "total": total_pushes, "pendingDeliveries": state.push.pending(), "records": pushes },
    })))
}
