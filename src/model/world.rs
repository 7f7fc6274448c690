//! The world and its rules: every domain operation, shared by platform requests, control
//! requests and the simulation loop, so a rent through the API and a rent by a simulated
//! customer are one code path.
//!
//! Operations take `now` from the caller (the virtual clock) and append what happened to an
//! event list; they never lock, sleep or do I/O.

use super::battery::{AtLeast, Battery, BatteryPlace, ChargeModel};
use super::cabinet::{Cabinet, Slot};
use super::event::{CabinetReport, Event, EventKind, PushConfig, SlotReport};
use super::fault::FaultRules;
use super::fault_types::RentalFailure;
use super::id::{AgentId, CabinetId, PriceId, ShopId, TradeNo};
use super::order::{Order, OrderOrigin, OrderStatus};
use super::price::{PriceStrategy, PriceTerms};
use super::rng::SimRng;
use super::shop::Shop;
use super::sim_state::SimState;
use super::Money;
use crate::clock::{fmt_trade_prefix, Millis, DAY};
use crate::error::{code, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

mod chunked;
pub use chunked::{CheckPass, CopyPass, PieceBudget};

/// Tunable rules of the world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Batteries below this charge (percent) are not handed out by automatic ejects.
    pub min_rent_vol: u8,
    /// Virtual delay between an order's creation and the cabinet's own eject.
    pub eject_delay_ms: Millis,
    /// Virtual delay of a `restart` before the cabinet is back online.
    pub restart_ms: Millis,
    /// The charge curve.
    pub charge: ChargeModel,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { min_rent_vol: 20, eject_delay_ms: 1000, restart_ms: 30_000, charge: ChargeModel::default() }
    }
}

/// A merchant account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    /// Login name (`agentAccount` in pushes).
    pub account: AgentId,
    /// Plain password (Basic auth; sha256-hex for OAuth2 login).
    pub password: String,
    /// Company name.
    pub name: String,
    /// Event-push configuration, `None` until configured.
    pub push: Option<Arc<PushConfig>>,
}

/// How long an order the client has taken over with `ejectByRent` (see
/// [`World::claim_eject`]) waits for an eject that succeeds before it fails: virtual
/// milliseconds from the first `ejectByRent` naming it.
pub const EJECT_WINDOW_MS: Millis = 60_000;

/// A piece of work the world owes at a virtual time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "camelCase")]
pub enum Due {
    /// The cabinet ejects for a pending order.
    Eject(String),
    /// The client's retry window of an order it took over with `ejectByRent` closes: still
    /// without a battery, the order fails.
    EjectWindow(String),
    /// An order's buy-out deadline.
    Timeout(String),
    /// A restarted cabinet comes back online.
    Reconnect(String),
}

/// The whole simulated platform.
///
/// Its fields are private to `model/`: the rest of the crate reads the world through the
/// accessors below and changes it only through named operations (`World::create_order`,
/// `World::return_battery`, the control operations in `model/admin.rs`, ...) that validate
/// everything before they change anything. The store (`store/`) is the only owner of the
/// world and of its lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a world object (`cabinets`, `batteries`, `shops`, `orders`, ...)")]
pub struct World {
    /// Rules.
    pub(super) settings: Settings,
    /// Agents by account.
    pub(super) agents: BTreeMap<AgentId, Agent>,
    /// Shops by id, in id order, found by hash (see [`Table`]).
    pub(super) shops: Table<ShopId, Shop>,
    /// Cabinets by id, in id order, found by hash.
    pub(super) cabinets: Table<CabinetId, Cabinet>,
    /// Batteries by id: a hash table, saved in id order (see [`Batteries`]).
    pub(super) batteries: Batteries,
    /// Price strategies by id.
    pub(super) strategies: BTreeMap<PriceId, PriceStrategy>,
    /// Orders by trade number: found by hash (R1 and O5 look orders up by trade number; in a
    /// `BTreeMap` of tens of thousands each look-up compared the key with some fifteen
    /// others, a `memcmp` each), kept in key order for walks and snapshots (see `Table`).
    pub(super) orders: Table<TradeNo, Order>,
    /// Work due at a virtual time, in time order.
    pub(super) due: BTreeSet<(Millis, Due)>,
    /// OAuth2 bearer tokens by digest (`model/credentials.rs`).
    #[serde(deserialize_with = "super::credentials::deserialize_tokens")]
    pub(super) tokens: super::credentials::Tokens,
    /// The one random source.
    pub(super) rng: SimRng,
    /// Next price-strategy id.
    pub(super) next_price_id: u64,
    /// Next shop row number.
    pub(super) next_shop_row: u64,
    /// The simulation's rates, schedule and counters.
    #[serde(default)]
    pub(super) sim: SimState,
    /// Fault-injection rules.
    #[serde(default)]
    pub(super) faults: FaultRules,
    /// The shard this world is (`--shard K/S`), `None` for a whole world; tokens and trade
    /// numbers carry it (`model/shard.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) shard: Option<super::shard::Shard>,
    /// Shops by place and cabinets by shop (derived, never saved; `model/shop_index.rs`).
    #[serde(skip)]
    pub(super) shop_index: super::shop_index::ShopIndexCell,
    /// Each account's orders newest first (derived, never saved; `model/order_index.rs`).
    #[serde(skip)]
    pub(super) order_index: super::order_index::OrderIndexCell,
}

pub use super::batteries::Batteries;

/// A cabinet's slots counted ([`World::slot_counts`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SlotCounts {
    /// Slots holding a battery.
    pub batteries: usize,
    /// Batteries an automatic eject would hand out.
    pub rentable: usize,
    /// Empty usable slots a battery can be returned into.
    pub returnable: usize,
}
pub use super::table::Table;

/// Compare secrets without returning early on the first difference.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

/// Read access: what the rest of the crate may look at. Everything returned is borrowed from
/// the world under the store's lock, so none of it outlives a `Store::read`.
impl World {
    /// The rules (eject delay, charge model, ...).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
    /// Agents by account.
    pub fn agents(&self) -> &BTreeMap<AgentId, Agent> {
        &self.agents
    }
    /// Shops by id.
    pub fn shops(&self) -> &Table<ShopId, Shop> {
        &self.shops
    }
    /// Cabinets by id.
    pub fn cabinets(&self) -> &Table<CabinetId, Cabinet> {
        &self.cabinets
    }
    /// Batteries by id.
    pub fn batteries(&self) -> &Batteries {
        &self.batteries
    }
    /// Price strategies by id.
    pub fn strategies(&self) -> &BTreeMap<PriceId, PriceStrategy> {
        &self.strategies
    }
    /// Orders by trade number.
    pub fn orders(&self) -> &Table<TradeNo, Order> {
        &self.orders
    }
    /// Work due at a virtual time, in time order.
    pub fn due(&self) -> &BTreeSet<(Millis, Due)> {
        &self.due
    }
    /// Whether two worlds are the same apart from their schedules of due work (a refused
    /// ejectByRent still takes its order's automatic eject off the schedule; tests compare
    /// the worlds around it with this).
    pub fn eq_except_due(&self, other: &World) -> bool {
        let (mut a, mut b) = (self.clone(), other.clone());
        a.due.clear();
        b.due.clear();
        a == b
    }
    /// When the next due work is, if any.
    pub fn next_due(&self) -> Option<Millis> {
        self.due.first().map(|(t, _)| *t)
    }
    /// The simulation's settings, schedule and counters.
    pub fn sim(&self) -> &SimState {
        &self.sim
    }
    /// The fault-injection rules.
    pub fn faults(&self) -> &FaultRules {
        &self.faults
    }
    /// The shard this world is, `None` for a whole world.
    pub fn shard(&self) -> Option<super::shard::Shard> {
        self.shard
    }
}

impl World {
    /// An empty world with this seed.
    pub fn empty(seed: u64) -> Self {
        World {
            settings: Settings::default(),
            agents: BTreeMap::new(),
            shops: Table::new(),
            cabinets: Table::new(),
            batteries: Batteries::default(),
            strategies: BTreeMap::new(),
            orders: Table::new(),
            due: BTreeSet::new(),
            tokens: BTreeMap::new(),
            rng: SimRng::new(seed),
            next_price_id: 1,
            next_shop_row: 1,
            sim: SimState::default(),
            faults: FaultRules::default(),
            shard: None,
            shop_index: Default::default(),
            order_index: Default::default(),
        }
    }

    // ----- events -------------------------------------------------------------------------

    /// Record that `kind` happened to `agent` at `now`, with the agent's push configuration.
    pub(crate) fn emit(&self, out: &mut Vec<Event>, now: Millis, agent: &str, kind: EventKind) {
        let push = if kind.push_name().is_some() { self.agents.get(agent).and_then(|a| a.push.clone()) } else { None };
        out.push(Event { at: now, agent: agent.to_string(), kind, push, seq: 0, fault: None });
    }

    fn callback(&self, out: &mut Vec<Event>, now: Millis, order: &Order, status: u8) {
        if let Some(url) = order.callback_url.as_deref().filter(|u| !u.trim().is_empty()) {
            let kind = EventKind::RentCallback {
                url: url.to_string(),
                trade_no: order.trade_no.to_string(),
                status,
                cabinet: order.cabinet.to_string(),
            };
            self.emit(out, now, &order.agent, kind);
        }
    }

    // ----- auth ---------------------------------------------------------------------------

    /// The account whose Basic credentials these are.
    pub fn authenticate(&self, user: &str, password: &str) -> Option<&str> {
        // Compare against every agent so the time taken does not tell which accounts exist.
        let mut found = None;
        for a in self.agents.values() {
            let ok = ct_eq(a.account.as_bytes(), user.as_bytes()) & ct_eq(a.password.as_bytes(), password.as_bytes());
            if ok {
                found = Some(a.account.as_str());
            }
        }
        found
    }

    // ----- look-ups -----------------------------------------------------------------------

    /// The agent's cabinet `id`, or `2002 QR code unbound device.` when it is not theirs.
    pub fn cabinet_of(&self, agent: &str, id: &str) -> Result<&Cabinet> {
        self.cabinets.get(id).filter(|c| c.agent == agent).ok_or_else(Error::unbound_device)
    }

    /// The agent's order `trade_no`.
    pub fn order_of(&self, agent: &str, trade_no: &str) -> Result<&Order> {
        self.orders.get(trade_no).filter(|o| o.agent == agent).ok_or_else(|| Error::order_not_found(trade_no))
    }

    /// The agent's shop `id`.
    pub fn shop_of(&self, agent: &str, id: &str) -> Result<&Shop> {
        self.shops.get(id).filter(|s| s.agent == agent).ok_or_else(|| Error::shop_not_found(id))
    }

    /// The strategy that prices rentals at `shop` (its bound strategy), if any.
    pub fn strategy_for_shop(&self, shop: &Shop) -> Option<&PriceStrategy> {
        shop.price_id.and_then(|id| self.strategies.get(&id)).filter(|p| p.agent == shop.agent)
    }

    /// The billing terms of a rental from `cabinet` right now.
    pub fn terms_for(&self, cabinet: &Cabinet) -> PriceTerms {
        let shop = cabinet.shop.as_deref().and_then(|s| self.shops.get(s));
        let currency = shop.map(|s| s.currency.as_str()).unwrap_or("USD");
        match shop.and_then(|s| self.strategy_for_shop(s)) {
            Some(p) => p.terms(currency),
            None => PriceTerms::platform_default(currency),
        }
    }

    /// The battery docked in `s`, looked up through the slot's position hint.
    pub fn docked_battery(&self, s: &Slot) -> Option<&Battery> {
        self.batteries.get_hinted(s.battery.as_deref()?, &s.battery_at)
    }

    /// Charge of battery `id` now.
    pub fn vol(&self, id: &str, now: Millis) -> u8 {
        self.batteries.get(id).map(|b| b.vol_at(&self.settings.charge, now)).unwrap_or(0)
    }

    /// Every docked battery of `cab` as (slot number, battery id, charge at `now`), and until
    /// when all of them keep that charge (see `Battery::vol_steady_until`): one look-up per
    /// battery for both. O1 over a large fleet is mostly these look-ups (a random bucket of a
    /// table of 1.5 million batteries each), so asking twice, once for the charge and once for
    /// how long it holds, cost a third of its time. Without `steady` the span is not worked out
    /// (it costs as much as the charge again) and the second value is `now`.
    pub fn docked_charges<'a>(
        &'a self,
        cab: &'a Cabinet,
        now: Millis,
        steady: bool,
    ) -> (Vec<(u16, &'a str, u8)>, Millis) {
        let charge = &self.settings.charge;
        let mut until = Millis::MAX;
        self.batteries.touch_hinted(cab.slots.iter().filter(|s| s.battery.is_some()).map(|s| &s.battery_at));
        let mut out = Vec::with_capacity(cab.slots.len());
        for (i, s) in cab.slots.iter().enumerate() {
            let Some(id) = s.battery.as_deref() else {
                continue;
            };
            let vol = match self.batteries.get_hinted(id, &s.battery_at) {
                Some(b) if steady => {
                    let (vol, holds) = b.vol_and_steady_until(charge, now);
                    until = until.min(holds);
                    vol
                }
                Some(b) => b.vol_at(charge, now),
                None => 0,
            };
            out.push((i as u16 + 1, id, vol));
        }
        (out, if steady { until } else { now })
    }

    /// Whether the battery in `slot` would be handed out by an automatic eject.
    pub fn is_rentable(&self, cab: &Cabinet, slot: u16, now: Millis) -> bool {
        let Some(s) = cab.slot(slot) else {
            return false;
        };
        let Some(b) = self.docked_battery(s) else {
            return false;
        };
        self.rentable_at(s, b, now)
    }

    /// The rule of a rentable battery, given its charge `vol` (callers that need the charge
    /// anyway compute it once): a usable slot, a battery without fault, charged enough.
    fn rentable_with(&self, s: &Slot, b: &Battery, vol: u8) -> bool {
        s.usable() && b.fault.is_none() && vol >= self.settings.min_rent_vol
    }

    /// The same rule at `now` when the charge itself is not wanted: asked as a bound
    /// (`Battery::vol_at_least`), which most docked batteries pass without the charge curve.
    fn rentable_at(&self, s: &Slot, b: &Battery, now: Millis) -> bool {
        self.rentable_under(s, b, &self.charged_at(now))
    }

    /// The rule's charge bound at `now`, worked out once for a walk over many slots.
    fn charged_at(&self, now: Millis) -> AtLeast<'_> {
        AtLeast::new(&self.settings.charge, now, self.settings.min_rent_vol)
    }

    /// [`Self::rentable_at`] under a bound from [`Self::charged_at`].
    fn rentable_under(&self, s: &Slot, b: &Battery, charged: &AtLeast) -> bool {
        s.usable() && b.fault.is_none() && charged.holds(b)
    }

    /// Number of rentable batteries in a cabinet, slot by slot: the reference
    /// [`World::slot_counts`] is tested against (the answers count with that).
    #[cfg(test)]
    pub fn rentable_count(&self, cab: &Cabinet, now: Millis) -> usize {
        cab.slots
            .iter()
            .filter(|s| s.usable() && self.docked_battery(s).is_some_and(|b| self.rentable_at(s, b, now)))
            .count()
    }

    /// A cabinet's docked, rentable and returnable counts in one walk over its slots: what
    /// `battery_count`, `rentable_count` and `returnable_count` count one walk each (tested
    /// equal). Device pages, shop summaries and O6 want them per cabinet.
    pub fn slot_counts(&self, cab: &Cabinet, now: Millis) -> SlotCounts {
        let mut c = SlotCounts::default();
        // `rentable_at` with the charge bound worked out once for the cabinet.
        let charged = self.charged_at(now);
        for s in &cab.slots {
            let Some(id) = s.battery.as_deref() else {
                c.returnable += usize::from(s.usable());
                continue;
            };
            c.batteries += 1;
            if s.usable()
                && self.batteries.get_hinted(id, &s.battery_at).is_some_and(|b| self.rentable_under(s, b, &charged))
            {
                c.rentable += 1;
            }
        }
        c
    }

    /// The slot an automatic eject picks: the highest charge, then the lowest slot.
    pub fn best_slot(&self, cab: &Cabinet, now: Millis) -> Option<u16> {
        let mut best: Option<(u8, u16)> = None;
        for (i, s) in cab.slots.iter().enumerate() {
            // The same test as `is_rentable`, with one look-up of the battery.
            let Some(b) = self.docked_battery(s) else {
                continue;
            };
            let vol = b.vol_at(&self.settings.charge, now);
            if self.rentable_with(s, b, vol) && best.is_none_or(|(v, _)| vol > v) {
                best = Some((vol, i as u16 + 1));
            }
        }
        best.map(|(_, n)| n)
    }

    /// The cabinet's status as a push reports it. One look-up per battery (its charge, fault
    /// and rentability together): heartbeats build one of these per cabinet and step.
    pub fn report(&self, cab: &Cabinet, now: Millis) -> CabinetReport {
        let mut slots = Vec::new();
        let (mut rentable, mut returnable) = (0, 0);
        for (i, s) in cab.slots.iter().enumerate() {
            if s.is_returnable() {
                // An empty healthy slot reports nothing.
                returnable += 1;
                continue;
            }
            let b = self.docked_battery(s);
            let vol = b.map(|b| b.vol_at(&self.settings.charge, now)).unwrap_or(0);
            let battery_fault = b.map(|b| b.fault).unwrap_or_default();
            if b.is_some_and(|b| self.rentable_with(s, b, vol)) {
                rentable += 1;
            }
            slots.push(SlotReport {
                slot: i as u16 + 1,
                battery: s.battery.as_deref().map(str::to_string),
                vol,
                slot_fault: s.reported_fault(),
                battery_fault,
            });
        }
        CabinetReport {
            cabinet: cab.id.to_string(),
            online: cab.online,
            total: cab.slots.len(),
            rentable,
            returnable,
            iccid: cab.iccid.to_string(),
            ip: cab.ip.to_string(),
            port: cab.port,
            signal: cab.signal.to_string(),
            slots,
        }
    }

    // ----- orders -------------------------------------------------------------------------

    fn new_trade_no(&mut self, now: Millis) -> String {
        loop {
            // A shard's trade numbers carry its number, so they are unique across shards.
            let tail = match self.shard {
                Some(s) => format!("{:02}{}", s.index, self.rng.digits(6)),
                None => self.rng.digits(8),
            };
            let t = format!("{}{tail}", fmt_trade_prefix(now));
            if !self.orders.contains_key(t.as_str()) {
                return t;
            }
        }
    }

    fn new_order(
        &mut self,
        agent: &str,
        cabinet: &str,
        trade_no: String,
        origin: OrderOrigin,
        callback: Option<String>,
        now: Millis,
    ) -> Result<String> {
        let cab = self.cabinet_of(agent, cabinet)?;
        let shop = cab.shop.as_deref().and_then(|s| self.shops.get(s));
        let order = Order {
            trade_no: trade_no.clone().into(),
            agent: agent.to_string().into(),
            origin,
            cabinet: cab.id.clone(),
            device_type: cab.slots.len().to_string(),
            shop: shop.map(|s| s.id.clone()),
            shop_name: shop.map(|s| s.name.clone()).unwrap_or_default(),
            callback_url: callback,
            status: OrderStatus::Pending,
            created_at: now,
            borrow_time: None,
            battery: None,
            slot: None,
            end_time: None,
            return_cabinet: None,
            return_shop: None,
            amount: Money::ZERO,
            terms: self.terms_for(cab),
            fault_type: None,
            fault_cause: None,
        };
        self.insert_order(order);
        Ok(trade_no)
    }

    /// O2: create a rent order on the agent's online cabinet. The cabinet ejects on its own
    /// after `eject_delay_ms` unless `ejectByRent` names a slot first.
    pub fn create_order(
        &mut self,
        agent: &str,
        device: &str,
        callback: Option<String>,
        origin: OrderOrigin,
        now: Millis,
        out: &mut Vec<Event>,
    ) -> Result<String> {
        if !self.cabinet_of(agent, device)?.online {
            return Err(Error::device_offline());
        }
        let trade_no = self.new_trade_no(now);
        self.new_order(agent, device, trade_no.clone(), origin, callback, now)?;
        if self.settings.eject_delay_ms <= 0 {
            self.eject_for_order(&trade_no, None, now, out)?;
        } else {
            self.due.insert((now + self.settings.eject_delay_ms, Due::Eject(trade_no.clone())));
        }
        Ok(trade_no)
    }

    /// Eject a battery for a pending order: from `slot`, or the best rentable one. A named slot
    /// that cannot eject is a business error and leaves the order pending; an automatic eject
    /// that finds nothing fails the order (`status=0`).
    pub fn eject_for_order(
        &mut self,
        trade_no: &str,
        slot: Option<u16>,
        now: Millis,
        out: &mut Vec<Event>,
    ) -> Result<()> {
        let order = self.orders.get(trade_no).ok_or_else(|| Error::order_not_found(trade_no))?;
        match order.status {
            OrderStatus::Pending => {}
            OrderStatus::InLease => {
                return Err(Error::order_state(format!(
                    "Order {trade_no} has already ejected battery {} from slot {}.",
                    order.battery.as_deref().unwrap_or(""),
                    order.slot.unwrap_or(0)
                )))
            }
            _ => return Err(Error::order_state(format!("Order {trade_no} is finished."))),
        }
        let cab_id = order.cabinet.clone();
        // Fault rules (`/_sim/faults`) get their say before the cabinet tries.
        let online = self.cabinets.get(cab_id.as_str()).is_some_and(|c| c.online);
        let injected = if online { self.inject_eject_fault(&cab_id, slot, now, out) } else { None };
        let cab = self.cabinets.get(cab_id.as_str()).ok_or_else(Error::unbound_device)?;
        let failure = if !cab.online {
            Some((RentalFailure::TimedOut, format!("{}: device not online", RentalFailure::TimedOut.cause()), slot))
        } else if injected.is_some() {
            injected
        } else {
            match slot {
                Some(n) => {
                    let s = cab
                        .slot(n)
                        .ok_or_else(|| Error::slot_unavailable(format!("Slot {n} does not exist on {cab_id}.")))?;
                    let Some(bid) = s.battery.as_deref() else {
                        return Err(Error::slot_unavailable(format!("Slot {n} of {cab_id} holds no battery.")));
                    };
                    if s.locked {
                        return Err(Error::slot_unavailable(format!("Slot {n} of {cab_id} is locked.")));
                    }
                    if self.batteries.get(bid).is_some_and(|b| !b.fault.is_none()) {
                        let failure = RentalFailure::AuthoriseFailed;
                        Some((failure, failure.cause().to_string(), Some(n)))
                    } else if !s.fault.is_none() {
                        let failure = RentalFailure::EjectFailed;
                        Some((failure, format!("{}: {}", failure.cause(), s.fault.cause()), Some(n)))
                    } else {
                        None
                    }
                }
                None => None,
            }
        };
        let chosen = match (failure.is_some(), slot) {
            (true, _) => None,
            (false, Some(n)) => Some(n),
            (false, None) => self.best_slot(cab, now),
        };
        let agent = self.orders[trade_no].agent.clone();
        let Some(n) = chosen else {
            let (fault_type, cause, fslot) =
                failure.unwrap_or((RentalFailure::Other, "No rentable battery in the cabinet".to_string(), None));
            return self.fail_order(trade_no, fault_type, cause, fslot, now, out);
        };
        let charge = self.settings.charge;
        let cab = self.cabinets.get_mut(cab_id.as_str()).ok_or_else(Error::unbound_device)?;
        let bid =
            cab.slot_mut(n).and_then(|s| s.battery.take()).ok_or_else(|| Error::slot_unavailable("Slot is empty."))?;
        if let Some(b) = self.batteries.get_mut(&bid) {
            b.move_to(BatteryPlace::Rented { order: trade_no.into() }, &charge, now);
        }
        let o = self.orders.get_mut(trade_no).ok_or_else(|| Error::order_not_found(trade_no))?;
        o.status = OrderStatus::InLease;
        o.borrow_time = Some(now);
        o.battery = Some(bid.clone());
        o.slot = Some(n);
        let timeout_day = o.terms.timeout_day;
        let o = o.clone();
        if timeout_day > 0 {
            self.due.insert((now + timeout_day * DAY, Due::Timeout(trade_no.to_string())));
        }
        let kind = EventKind::BatteryBorrowed {
            cabinet: cab_id.to_string(),
            order: trade_no.to_string(),
            battery: bid.to_string(),
            slot: n,
        };
        self.emit(out, now, &agent, kind);
        self.callback(out, now, &o, 1);
        Ok(())
    }

    /// A pending order's eject failed: the order fails, with a `BATTERY_BORROW_OUT` failure
    /// push and a `status=0` callback.
    fn fail_order(
        &mut self,
        trade_no: &str,
        fault_type: RentalFailure,
        cause: String,
        slot: Option<u16>,
        now: Millis,
        out: &mut Vec<Event>,
    ) -> Result<()> {
        let o = self.orders.get_mut(trade_no).ok_or_else(|| Error::order_not_found(trade_no))?;
        o.status = OrderStatus::Failed;
        o.end_time = Some(now);
        o.fault_type = Some(fault_type);
        o.fault_cause = Some(cause.clone());
        let o = o.clone();
        let kind = EventKind::BorrowFailed {
            cabinet: o.cabinet.to_string(),
            order: trade_no.to_string(),
            slot,
            fault_type,
            fault_cause: cause,
        };
        self.emit(out, now, &o.agent, kind);
        self.callback(out, now, &o, 0);
        Ok(())
    }

    /// A C3 `ejectByRent` names `trade_no`: when it is a pending order of `agent` whose
    /// automatic eject is still queued, the client takes the eject over. Its automatic eject
    /// is cancelled, so no battery ever leaves behind a refused `ejectByRent`, and the order
    /// waits [`EJECT_WINDOW_MS`] for an `ejectByRent` that succeeds, then fails (`status=0`).
    /// When the automatic eject was already due (the request came after it in virtual time,
    /// before the driver ran it), it runs first, at its own time: the client's call then finds
    /// the order in lease (2007) and the `status=1` callback is on its way.
    ///
    /// Called in its own write, before the eject: its events must survive the eject's refusal.
    pub fn claim_eject(&mut self, agent: &str, trade_no: &str, now: Millis, out: &mut Vec<Event>) {
        let Some(o) = self.orders.get(trade_no).filter(|o| o.agent == agent && o.status == OrderStatus::Pending) else {
            return;
        };
        let key = (o.created_at + self.settings.eject_delay_ms, Due::Eject(trade_no.to_string()));
        // Gone: taken over before (or created with an immediate eject).
        if !self.due.remove(&key) {
            return;
        }
        if key.0 <= now {
            // An automatic eject cannot meet a business error: it fails the order instead.
            let _ = self.eject_for_order(trade_no, None, key.0, out);
        } else {
            self.due.insert((now + EJECT_WINDOW_MS, Due::EjectWindow(trade_no.to_string())));
        }
    }

    /// C3 `ejectByRent`: eject `slot` (0 = the best battery) for order `rent_order_id`. An id
    /// that is not an order yet creates a back-office order under that id. An existing order
    /// must have been taken over first ([`Self::claim_eject`]).
    pub fn eject_by_rent(
        &mut self,
        agent: &str,
        cabinet: &str,
        rent_order_id: &str,
        slot: u16,
        now: Millis,
        out: &mut Vec<Event>,
    ) -> Result<String> {
        let cab = self.cabinet_of(agent, cabinet)?;
        if !cab.online {
            return Err(Error::device_offline());
        }
        if slot as usize > cab.slots.len() {
            return Err(Error::slot_unavailable(format!(
                "Slot {slot} does not exist on {cabinet} ({} slots).",
                cab.slots.len()
            )));
        }
        let slot = (slot > 0).then_some(slot);
        let trade_no = match self.orders.get(rent_order_id) {
            Some(o) if o.agent != agent => return Err(Error::order_not_found(rent_order_id)),
            Some(o) if o.cabinet != cabinet => {
                return Err(Error::order_state(format!("Order {rent_order_id} belongs to cabinet {}.", o.cabinet)))
            }
            Some(_) => rent_order_id.to_string(),
            None => {
                let id = if rent_order_id.is_empty() { self.new_trade_no(now) } else { rent_order_id.to_string() };
                self.new_order(agent, cabinet, id.clone(), OrderOrigin::Admin, None, now)?;
                let mut scratch = Vec::new();
                let res = self.eject_for_order(&id, slot, now, &mut scratch);
                if let Err(e) = res {
                    self.remove_order(&id);
                    return Err(e);
                }
                let o = &self.orders[id.as_str()];
                let kind = EventKind::AdminOrderCreated {
                    cabinet: cabinet.to_string(),
                    order: id.clone(),
                    battery: o.battery.as_deref().map(str::to_string),
                    slot: o.slot,
                };
                self.emit(out, now, agent, kind);
                out.extend(scratch);
                return Ok(id);
            }
        };
        self.eject_for_order(&trade_no, slot, now, out)?;
        Ok(trade_no)
    }

    /// A customer docks battery `battery_id` into `cabinet` (at `slot`, or the first free
    /// usable slot). An open order holding the battery is closed and billed (`status=2`).
    pub fn return_battery(
        &mut self,
        cabinet: &str,
        battery_id: &str,
        slot: Option<u16>,
        now: Millis,
        out: &mut Vec<Event>,
    ) -> Result<Option<String>> {
        let battery = self
            .batteries
            .get(battery_id)
            .ok_or_else(|| Error::business(code::BATTERY_STATE, format!("Battery {battery_id} does not exist.")))?;
        let cab = self.cabinets.get(cabinet).ok_or_else(Error::unbound_device)?;
        if cab.agent != battery.agent {
            return Err(Error::business(
                code::BATTERY_STATE,
                format!("Battery {battery_id} belongs to another merchant's fleet than cabinet {cabinet}."),
            ));
        }
        if !cab.online {
            return Err(Error::device_offline());
        }
        let order = match &battery.place {
            BatteryPlace::Slot { cabinet: c, slot: s } => {
                return Err(Error::business(
                    code::BATTERY_STATE,
                    format!("Battery {battery_id} is already docked in {c} slot {s}."),
                ))
            }
            BatteryPlace::Rented { order } => Some(order.to_string()),
            BatteryPlace::Loose => None,
        };
        let n = match slot {
            Some(n) => {
                let s = cab
                    .slot(n)
                    .ok_or_else(|| Error::slot_unavailable(format!("Slot {n} does not exist on {cabinet}.")))?;
                if s.battery.is_some() {
                    return Err(Error::slot_unavailable(format!("Slot {n} of {cabinet} is occupied.")));
                }
                if !s.usable() {
                    return Err(Error::slot_unavailable(format!("Slot {n} of {cabinet} is faulty or locked.")));
                }
                n
            }
            None => cab
                .free_slot()
                .ok_or_else(|| Error::business(code::CABINET_FULL, format!("Cabinet {cabinet} has no free slot.")))?,
        };
        let agent = cab.agent.clone();
        let shop = cab.shop.clone();
        let charge = self.settings.charge;
        if let Some(s) = self.cabinets.get_mut(cabinet).and_then(|c| c.slot_mut(n)) {
            s.battery = Some(battery_id.into());
        }
        if let Some(b) = self.batteries.get_mut(battery_id) {
            b.move_to(BatteryPlace::Slot { cabinet: cabinet.into(), slot: n }, &charge, now);
        }
        self.emit(
            out,
            now,
            &agent,
            EventKind::BatteryReturned {
                cabinet: cabinet.to_string(),
                battery: battery_id.to_string(),
                slot: n,
                order: order.clone(),
            },
        );
        if let Some(t) = &order {
            if let Some(o) = self.orders.get_mut(t.as_str()) {
                o.status = OrderStatus::Returned;
                o.end_time = Some(now);
                o.return_cabinet = Some(cabinet.to_string());
                o.return_shop = shop.map(String::from);
                o.amount = o.terms.bill(now - o.borrow_time.unwrap_or(now));
                let o = o.clone();
                self.callback(out, now, &o, 2);
            }
        }
        Ok(order)
    }

    /// O4: mark an order completed. A pending order is revoked; an order in lease is closed
    /// and billed to now, its battery left with the customer (a later return docks it without
    /// an order); a finished order is left as it is.
    pub fn close_order(&mut self, agent: &str, trade_no: &str, now: Millis) -> Result<()> {
        self.order_of(agent, trade_no)?;
        let charge = self.settings.charge;
        let Some(o) = self.orders.get_mut(trade_no) else {
            return Err(Error::order_not_found(trade_no));
        };
        match o.status {
            OrderStatus::Pending => {
                o.status = OrderStatus::Revoked;
                o.end_time = Some(now);
            }
            OrderStatus::InLease => {
                o.status = OrderStatus::Closed;
                o.end_time = Some(now);
                o.amount = o.terms.bill(now - o.borrow_time.unwrap_or(now));
                if let Some(b) = o.battery.as_deref().and_then(|b| self.batteries.get_mut(b)) {
                    b.move_to(BatteryPlace::Loose, &charge, now);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// O3: the order's state; re-sends the callback that describes it.
    pub fn query_order(&mut self, agent: &str, trade_no: &str, now: Millis, out: &mut Vec<Event>) -> Result<Order> {
        let o = self.order_of(agent, trade_no)?.clone();
        if let Some(status) = o.status.callback_status() {
            self.callback(out, now, &o, status);
        }
        Ok(o)
    }

    /// Whether order `trade` still waits for its battery: the only orders a queued eject or
    /// eject window acts on. Both stay queued after their order moved on (an `ejectByRent`
    /// that succeeded, a close) and do nothing when they come due.
    pub fn awaits_battery(&self, trade: &str) -> bool {
        self.orders.get(trade).is_some_and(|o| o.status == OrderStatus::Pending)
    }

    /// Run every due action up to `now`, in time order.
    pub fn run_due(&mut self, now: Millis, out: &mut Vec<Event>) {
        while let Some((at, due)) = self.due.first().cloned() {
            if at > now {
                break;
            }
            self.due.remove(&(at, due.clone()));
            match due {
                Due::Eject(t) => {
                    if self.awaits_battery(&t) {
                        // An automatic eject cannot meet a business error: it fails the order instead.
                        let _ = self.eject_for_order(&t, None, at, out);
                    }
                }
                Due::EjectWindow(t) => {
                    if self.awaits_battery(&t) {
                        let cause = format!(
                            "No battery ejected: no ejectByRent for this order succeeded within {} s",
                            EJECT_WINDOW_MS / 1000
                        );
                        let _ = self.fail_order(&t, RentalFailure::Other, cause, None, at, out);
                    }
                }
                Due::Timeout(t) => self.buy_out(&t, at),
                Due::Reconnect(c) => {
                    let _ = self.set_online(&c, true, at, out);
                }
            }
        }
    }

    fn buy_out(&mut self, trade_no: &str, now: Millis) {
        let charge = self.settings.charge;
        let Some(o) = self.orders.get_mut(trade_no) else {
            return;
        };
        if o.status != OrderStatus::InLease {
            return;
        }
        o.status = OrderStatus::BoughtOut;
        o.end_time = Some(now);
        o.amount = if o.terms.timeout_amount.0 > 0 {
            o.terms.timeout_amount
        } else {
            o.terms.bill(now - o.borrow_time.unwrap_or(now))
        };
        if let Some(b) = o.battery.as_deref().and_then(|b| self.batteries.get_mut(b)) {
            b.move_to(BatteryPlace::Loose, &charge, now);
        }
    }

    // ----- cabinets -----------------------------------------------------------------------

    /// Connect or disconnect a cabinet (CABINET_ONLINE / CABINET_OFFLINE when it changes).
    pub fn set_online(&mut self, cabinet: &str, online: bool, now: Millis, out: &mut Vec<Event>) -> Result<()> {
        let cab = self.cabinets.get_mut(cabinet).ok_or_else(Error::unbound_device)?;
        if cab.online == online {
            return Ok(());
        }
        cab.online = online;
        if online {
            cab.last_seen = now;
            cab.handshakes += 1;
        }
        let (agent, ip, port) = (cab.agent.clone(), cab.ip.to_string(), cab.port);
        let kind = if online {
            EventKind::CabinetOnline { cabinet: cabinet.to_string(), ip, port }
        } else {
            EventKind::CabinetOffline { cabinet: cabinet.to_string() }
        };
        self.emit(out, now, &agent, kind);
        Ok(())
    }

    // ----- invariants ---------------------------------------------------------------------

    /// Every broken invariant, in words; empty when the world is consistent: the pass of
    /// [`CheckPass`] in one piece (the store runs it in pieces, `store/`).
    pub fn check(&self) -> Vec<String> {
        let mut pass = CheckPass::default();
        while !self.check_piece(&mut pass, std::time::Duration::MAX) {}
        pass.into_violations()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Battery;

    /// An order of the default world on BJD60151 created at `t0`, its eject due a second later.
    fn world_with_order() -> (World, String, Millis) {
        let t0 = crate::clock::parse_datetime(crate::config::TEST_START).unwrap();
        let mut w = crate::fixtures::load(crate::fixtures::DEFAULT_FIXTURES, 1, t0).unwrap().world;
        w.settings.eject_delay_ms = 1000;
        let t = w.create_order("demo", "BJD60151", None, OrderOrigin::OpenApi, t0, &mut Vec::new()).unwrap();
        (w, t, t0)
    }

    /// One walk counts what the three walks count, with faulty, locked, empty and low slots,
    /// at several times (charges move, and so do rentable counts).
    #[test]
    fn slot_counts_are_the_three_counts_in_one_walk() {
        let mut w = crate::fixtures::generate_fleet(400, 5, 0).world;
        let ids: Vec<CabinetId> = w.cabinets.keys().cloned().collect();
        for (n, id) in ids.iter().enumerate() {
            let Some(c) = w.cabinets.get_mut(id.as_str()) else { continue };
            for (i, s) in c.slots.iter_mut().enumerate() {
                match (n + i) % 11 {
                    0 => s.locked = true,
                    1 => s.fault = crate::model::fault_types::SlotFault::ALL[1],
                    2 => s.battery = None,
                    _ => {}
                }
            }
        }
        let mut counted = SlotCounts::default();
        for now in [0, 10, 180, 1800].map(|m| m * crate::clock::MINUTE) {
            for c in w.cabinets.values() {
                let one = w.slot_counts(c, now);
                let three = SlotCounts {
                    batteries: c.battery_count(),
                    rentable: w.rentable_count(c, now),
                    returnable: c.returnable_count(),
                };
                assert_eq!(one, three, "{} at {now}", c.id);
                counted.rentable += one.rentable;
                counted.returnable += one.returnable;
            }
        }
        assert!(counted.rentable > 0 && counted.returnable > 0, "{counted:?}");
    }

    #[test]
    fn an_eject_by_rent_that_comes_after_the_automatic_eject_was_due_lets_it_happen_first() {
        // The driver has not run the due eject yet when the request arrives 2 s after O2.
        let (mut w, t, t0) = world_with_order();
        let mut out = Vec::new();
        w.claim_eject("demo", &t, t0 + 2000, &mut out);
        let o = &w.orders[t.as_str()];
        assert_eq!((o.status, o.borrow_time), (OrderStatus::InLease, Some(t0 + 1000)), "ejected at its own time");
        assert!(out.iter().all(|e| e.at == t0 + 1000), "{out:?}");
        let err = w.eject_by_rent("demo", "BJD60151", &t, 3, t0 + 2000, &mut out).unwrap_err();
        assert_eq!(err.code(), code::ORDER_STATE);
        assert!(w.due.iter().all(|(_, d)| !matches!(d, Due::Eject(x) | Due::EjectWindow(x) if *x == t)));
    }

    #[test]
    fn an_order_taken_over_before_its_automatic_eject_has_a_window_instead() {
        let (mut w, t, t0) = world_with_order();
        let mut out = Vec::new();
        w.claim_eject("demo", &t, t0 + 500, &mut out);
        assert!(out.is_empty());
        assert_eq!(w.orders[t.as_str()].status, OrderStatus::Pending);
        assert!(w.due.contains(&(t0 + 500 + EJECT_WINDOW_MS, Due::EjectWindow(t.clone()))));
        assert!(!w.due.iter().any(|(_, d)| *d == Due::Eject(t.clone())), "no automatic eject left");
        // Another account naming the order changes nothing; a second claim neither.
        let before = w.clone();
        w.claim_eject("acme", &t, t0 + 600, &mut out);
        w.claim_eject("demo", &t, t0 + 700, &mut out);
        assert_eq!(w, before);
        w.run_due(t0 + 500 + EJECT_WINDOW_MS, &mut out);
        assert_eq!(w.orders[t.as_str()].status, OrderStatus::Failed);
    }

    #[test]
    fn ct_eq_compares_whole_strings() {
        assert!(ct_eq(b"demo", b"demo"));
        assert!(!ct_eq(b"demo", b"demx"));
        assert!(!ct_eq(b"demo", b"demo1"));
        assert!(!ct_eq(b"", b"a"));
        assert!(ct_eq(b"", b""));
    }

    #[test]
    fn batteries_are_saved_in_id_order_whatever_the_table_order() {
        let mut w = World::empty(1);
        let ids: Vec<String> = (0..200).map(|i| format!("{:010X}", (i * 7919) % 1000)).collect();
        for id in &ids {
            w.batteries.insert(Battery {
                id: id.into(),
                agent: "a".into(),
                place: BatteryPlace::Loose,
                level: 50.0,
                since: 0,
                fault: Default::default(),
                charge_paused: false,
            });
        }
        let text = serde_json::to_string(&w).unwrap();
        let saved: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = saved["batteries"].as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys.len(), 200);
        let back: World = serde_json::from_str(&text).unwrap();
        assert!(back.batteries == w.batteries);
    }
}
