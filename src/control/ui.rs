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
use crate::clock::{fmt_datetime, Millis};
use crate::error::Error;
use crate::model::{BatteryPlace, World};
use crate::push::journal::{Entry, Filter};
use crate::state::AppState;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

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
/// Virtual time between two samples of the dashboard's plots.
const SAMPLE_EVERY_MS: Millis = 5 * 60_000;
/// Samples kept per agent: a virtual day at one every five minutes.
const SAMPLES_MAX: usize = 288;
/// Agents whose samples are kept (the picker rarely offers more).
const SAMPLED_AGENTS_MAX: usize = 64;
/// Cabinets whose batteries make up a sample's fleet charge (the first, in id order), so a
/// sample stays cheap on a synthetic fleet of 100,000 cabinets.
const CHARGE_CABINETS_MAX: usize = 2_000;

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
    /// Fault-injection rules that name this cabinet (`device`).
    pub fault_rules: Vec<crate::model::FaultRule>,
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
    /// Fault-injection rules that can hit this agent (its own and those for any agent).
    pub fault_rules: Vec<crate::model::FaultRule>,
}

/// Build the view of `agent` at `now`.
pub fn world_view(w: &World, agent: &str, now: Millis, max_cabinets: usize, max_orders: usize) -> WorldView {
    let agents =
        w.agents().values().map(|a| AgentView { account: a.account.to_string(), name: a.name.clone() }).collect();
    let mut totals = Totals::default();

    // Cabinets first: the shops on the map are those of the cabinets shown (plus cabinet-less
    // shops while there is room), so the map and the cabinet list always agree.
    let mut cabinets = Vec::new();
    let mut shown_by_shop: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for c in w.cabinets().values().filter(|c| c.agent == agent) {
        totals.cabinets += 1;
        totals.online += usize::from(c.online);
        totals.slots += c.slots.len();
        totals.docked += c.battery_count();
        totals.faults += c.slots.iter().filter(|s| !s.fault.is_none()).count();
        if cabinets.len() >= max_cabinets {
            // Beyond the cap only the totals above: a poll must stay cheap on a huge fleet.
            continue;
        }
        let shop = c.shop.as_deref().and_then(|id| w.shops().get(id));
        if let Some(s) = shop {
            shown_by_shop.entry(s.id.as_str()).or_default().push(c.id.to_string());
        }
        let slots: Vec<SlotView> = c
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let n = i as u16 + 1;
                let b = s.battery.as_deref().and_then(|id| w.batteries().get(id));
                let battery_fault = b.map(|b| b.fault).unwrap_or_default();
                SlotView {
                    slot: n,
                    battery_id: s.battery.as_deref().map(str::to_string),
                    vol: s.battery.as_deref().map_or(0, |id| w.vol(id, now)),
                    slot_fault: s.fault.code(),
                    slot_fault_cause: s.fault.cause(),
                    locked: s.locked,
                    lock_reason: s.lock_reason.to_string(),
                    battery_fault: battery_fault.code(),
                    battery_fault_cause: battery_fault.cause(),
                    rentable: w.is_rentable(c, n, now),
                }
            })
            .collect();
        cabinets.push(CabinetView {
            id: c.id.to_string(),
            shop: c.shop.as_deref().map(str::to_string),
            shop_name: shop.map(|s| s.name.clone()).unwrap_or_default(),
            online: c.online,
            slot_count: c.slots.len(),
            batteries: c.battery_count(),
            rentable: slots.iter().filter(|s| s.rentable).count(),
            returnable: c.returnable_count(),
            signal: c.signal.to_string(),
            last_seen: fmt_datetime(c.last_seen),
            slots,
            fault_rules: w
                .faults()
                .rules
                .iter()
                .filter(|r| r.device.as_deref() == Some(c.id.as_str()))
                .cloned()
                .collect(),
        });
    }

    // When the cap cut the list, the map shows exactly the shops of the cabinets shown;
    // otherwise every shop, those without a cabinet included.
    let capped = totals.cabinets > cabinets.len();
    let mut shops = Vec::new();
    for s in w.shops().values().filter(|s| s.agent == agent) {
        totals.shops += 1;
        let shown = shown_by_shop.remove(s.id.as_str());
        if shown.is_none() && capped {
            continue;
        }
        shops.push(ShopView {
            id: s.id.to_string(),
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
    for b in w.batteries().values() {
        // The place and the fault are checked before the agent: on a fleet of a million
        // batteries, comparing each one's agent string is most of the cost of a poll.
        let order = match &b.place {
            BatteryPlace::Slot { .. } => {
                totals.faults += usize::from(!b.fault.is_none() && b.agent == agent);
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
        .map(|(b, order)| OutsideBatteryView {
            id: b.id.to_string(),
            vol: w.vol(&b.id, now),
            fault: b.fault.code(),
            order: order.map(String::from),
        })
        .collect();

    let mut mine: Vec<&crate::model::Order> = w.orders().values().filter(|o| o.agent == agent).collect();
    totals.orders = mine.len();
    totals.open_orders = mine.iter().filter(|o| !o.status.is_final()).count();
    // Open orders first, the user's own (API, back office) before simulated customers' so a
    // busy simulation does not push them out of the view, then newest first; the trade number
    // breaks ties so the order is stable.
    let customer = |o: &crate::model::Order| o.origin == crate::model::OrderOrigin::Customer;
    mine.sort_by(|a, b| {
        a.status
            .is_final()
            .cmp(&b.status.is_final())
            .then(customer(a).cmp(&customer(b)))
            .then(b.created_at.cmp(&a.created_at))
            .then(b.trade_no.cmp(&a.trade_no))
    });
    let orders = mine
        .into_iter()
        .take(max_orders)
        .map(|o| {
            let out_now = o.status == crate::model::OrderStatus::InLease;
            OrderView {
                trade_no: o.trade_no.to_string(),
                status: o.status,
                open: !o.status.is_final(),
                origin: o.origin,
                cabinet: o.cabinet.to_string(),
                shop_name: o.shop_name.clone(),
                battery_id: o.battery.as_deref().map(str::to_string),
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
                fault_type: o.fault_type.map(u8::from),
                fault_cause: o.fault_cause.clone(),
            }
        })
        .collect();

    let fault_rules =
        w.faults().rules.iter().filter(|r| r.agent.as_deref().is_none_or(|a| a == agent)).cloned().collect();
    WorldView { agent: agent.to_string(), agents, totals, shops, cabinets, orders, outside, fault_rules }
}

/// One point of the dashboard's plots: what happened in the virtual interval ending at `t`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// Virtual time of the sample.
    pub t: String,
    /// The same, milliseconds.
    pub t_ms: Millis,
    /// Batteries that left a cabinet for an order in the interval, per virtual hour.
    pub rentals_per_hour: f64,
    /// Batteries returned on an order in the interval, per virtual hour.
    pub returns_per_hour: f64,
    /// Orders pending or in lease at `t`.
    pub open_orders: usize,
    /// Mean charge of the docked batteries at `t`, percent (of the first cabinets on a
    /// large fleet).
    pub fleet_charge: f64,
    /// Pushes and callbacks delivered in the interval (all agents: one journal).
    pub pushes_delivered: u64,
    /// Pushes and callbacks that failed or were dropped in the interval (all agents).
    pub pushes_failed: u64,
}

/// The plots' memory: per agent, the latest [`SAMPLES_MAX`] samples and the journal totals
/// the next interval is counted from. Bounded in agents and samples; kept outside the world
/// (it is a view of it, not part of it) and emptied when virtual time goes back (reset).
#[derive(Debug, Default)]
pub struct Samples {
    by_agent: BTreeMap<String, (VecDeque<Sample>, u64, u64)>,
}

impl Samples {
    /// The samples of `agent`, oldest first.
    pub fn of(&self, agent: &str) -> Vec<Sample> {
        self.by_agent.get(agent).map(|(s, _, _)| s.iter().cloned().collect()).unwrap_or_default()
    }

    /// When the next sample of `agent` is due at `now`: `Some(start of its interval)`.
    fn due(&mut self, agent: &str, now: Millis) -> Option<Millis> {
        match self.by_agent.get(agent).and_then(|(s, _, _)| s.back()) {
            Some(last) if now < last.t_ms => {
                // The clock went back (reset, snapshot): these samples describe another past.
                self.by_agent.remove(agent);
                Some(now - SAMPLE_EVERY_MS)
            }
            Some(last) => (now >= last.t_ms + SAMPLE_EVERY_MS).then_some(last.t_ms),
            None => Some(now - SAMPLE_EVERY_MS),
        }
    }

    fn push(&mut self, agent: &str, mut sample: Sample, delivered: u64, failed: u64) {
        if !self.by_agent.contains_key(agent) && self.by_agent.len() >= SAMPLED_AGENTS_MAX {
            return;
        }
        let (ring, last_delivered, last_failed) =
            self.by_agent.entry(agent.to_string()).or_insert_with(|| (VecDeque::new(), delivered, failed));
        sample.pushes_delivered = delivered.saturating_sub(*last_delivered);
        sample.pushes_failed = failed.saturating_sub(*last_failed);
        (*last_delivered, *last_failed) = (delivered, failed);
        if ring.len() >= SAMPLES_MAX {
            ring.pop_front();
        }
        ring.push_back(sample);
    }
}

/// The plots' samples of one simulator, shared by its HTTP workers: registered as app data by
/// `app::build` (a view of the world, not part of the shared state).
pub type Plots = parking_lot::Mutex<Samples>;

/// Rentals and returns of `agent` in `[since, now)`, open orders and mean docked charge now.
/// Half-open: what happens at the instant of a sample, after it was taken, counts in the next
/// interval, and nothing counts twice.
fn activity(w: &World, agent: &str, since: Millis, now: Millis) -> Sample {
    let in_window = |t: Option<Millis>| t.is_some_and(|t| t >= since && t < now);
    let (mut rentals, mut returns, mut open) = (0usize, 0usize, 0usize);
    for o in w.orders().values().filter(|o| o.agent == agent) {
        rentals += usize::from(in_window(o.borrow_time));
        returns += usize::from(o.status == crate::model::OrderStatus::Returned && in_window(o.end_time));
        open += usize::from(!o.status.is_final());
    }
    let (mut sum, mut n) = (0.0, 0usize);
    for c in w.cabinets().values().filter(|c| c.agent == agent).take(CHARGE_CABINETS_MAX) {
        for id in c.slots.iter().filter_map(|s| s.battery.as_deref()) {
            sum += f64::from(w.vol(id, now));
            n += 1;
        }
    }
    let per_hour = 3_600_000.0 / (now - since).max(1) as f64;
    Sample {
        t: fmt_datetime(now),
        t_ms: now,
        rentals_per_hour: rentals as f64 * per_hour,
        returns_per_hour: returns as f64 * per_hour,
        open_orders: open,
        fleet_charge: if n == 0 { 0.0 } else { (sum / n as f64 * 10.0).round() / 10.0 },
        pushes_delivered: 0,
        pushes_failed: 0,
    }
}

/// `GET /_sim/ui/world?agent=demo&cabinets=200&orders=50&pushes=40&order=&cabinet=&hideStatus=`:
/// one agent's world, the clock, the latest journal entries (only those of `order` or
/// `cabinet` when given; without CABINET_STATUS when `hideStatus` is true) and the plots'
/// samples, in the envelope. Without `agent`: `demo` when it exists, else the first agent.
/// A poll takes the plots' next sample when one is due (every five virtual minutes), so the
/// plots cost nothing while no dashboard is open.
async fn world(state: web::Data<AppState>, plots: web::Data<Plots>, p: Params) -> Result<HttpResponse, Error> {
    let max_cabinets = p.int_in("cabinets", 1, CABINETS_MAX)?.unwrap_or(CABINETS_DEFAULT) as usize;
    let max_orders = p.int_in("orders", 0, ORDERS_MAX)?.unwrap_or(ORDERS_DEFAULT) as usize;
    let max_pushes = p.int_in("pushes", 0, PUSHES_MAX)?.unwrap_or(PUSHES_DEFAULT) as usize;
    let wanted = p.get("agent").map(str::trim).filter(|a| !a.is_empty()).map(str::to_string);
    let only = |n: &str| p.get(n).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let (order, cabinet) = (only("order"), only("cabinet"));
    let hide_status = p.bool("hideStatus")?.unwrap_or(false);
    let clock = state.clock.reading();
    let journal_totals = state.push.totals();
    let view = state.store.read(|w| {
        let agent = match &wanted {
            Some(a) if w.agents().contains_key(a.as_str()) => a.clone(),
            Some(a) => return Err(Error::control(format!("No agent '{}'.", crate::api::params::clip(a)))),
            None if w.agents().contains_key("demo") => "demo".to_string(),
            None => w.agents().keys().next().cloned().unwrap_or_default().to_string(),
        };
        let since = plots.lock().due(&agent, clock.now);
        let sample = since.map(|since| activity(w, &agent, since, clock.now));
        Ok((world_view(w, &agent, clock.now, max_cabinets, max_orders), sample))
    })?;
    let (view, sample) = view;
    let samples = {
        let mut ring = plots.lock();
        if let Some(s) = sample {
            let failed = journal_totals.failed + journal_totals.dropped;
            ring.push(&view.agent, s, journal_totals.delivered, failed);
        }
        ring.of(&view.agent)
    };
    // The journal has its own lock; it is read after the world lock is released.
    let mine = Filter {
        agent: Some(view.agent.clone()),
        order,
        cabinet,
        exclude_event: hide_status.then(|| "CABINET_STATUS".to_string()),
        ..Filter::default()
    };
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
        "samples": samples,
    })))
}
