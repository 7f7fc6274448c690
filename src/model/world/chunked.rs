//! Whole-world passes cut into short pieces: the invariant check and the copy taken for a
//! snapshot. The store runs one piece per hold of the world lock and lets writers in between
//! (`store/`), so at 100,000 cabinets neither holds the lock for more than a couple of
//! milliseconds where one pass held it for seconds.
//!
//! A pass keeps its place in a cursor: the last key done in each ordered table, and a
//! position in the battery hash table. Between two pieces the world may change:
//! - ordered tables (cabinets, orders, shops, ...) go on after the last key done, so an entry
//!   added before the cursor is not seen and one added after it is; none is seen twice;
//! - the battery table has no order to resume from, only a position in its iteration order
//!   (an index into the table's dense vector of batteries),
//!   which stays put while no battery is added or removed (batteries are added only by a
//!   technician's refill, never removed while running). When the table's size changed since
//!   the last piece, the battery part starts again from the beginning.
//!
//! The check is built so that what changes between pieces cannot make it report a violation
//! that was never there: every rule it checks relates at most two records and is checked in
//! one piece, so each violation it reports held at one instant. "Every battery in exactly one
//! place" is checked as pointers that must agree both ways (a slot holding a battery and the
//! battery naming that slot; an order in lease with a battery and the battery naming that
//! order): a battery in two places makes at least one of them disagree with it.

use super::super::battery::BatteryPlace;
use super::super::id::{ShopId, TradeNo};
use super::super::order::OrderStatus;
use super::{SimState, Table, World};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hash;
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The real time one piece of a pass may take: `max`, or less once someone waits for the
/// lock the piece is read under (`waiting`: a counter of the waiting requests and the time a
/// piece takes at least before it lets them go first). A plain `Duration` is a piece with no
/// one to yield to.
#[derive(Debug, Clone, Copy)]
pub struct PieceBudget<'a> {
    /// The longest a piece takes.
    pub max: Duration,
    /// Who may be waiting, and the least a piece takes before it lets them go.
    pub waiting: Option<(&'a AtomicUsize, Duration)>,
}

impl From<Duration> for PieceBudget<'static> {
    fn from(max: Duration) -> Self {
        PieceBudget { max, waiting: None }
    }
}

/// How a pass spends one piece: stop once its budget of real time has gone, looking at the
/// clock every few records (a clock read costs more than checking a record).
struct Budget<'a> {
    started: Instant,
    limit: PieceBudget<'a>,
    count: u32,
}

impl<'a> Budget<'a> {
    fn new(limit: PieceBudget<'a>) -> Self {
        Budget { started: Instant::now(), limit, count: 0 }
    }

    /// Count the budget from now: what was done so far in the piece is not counted.
    fn restart(&mut self) {
        self.started = Instant::now();
    }

    /// True when the piece should end.
    fn spent(&mut self) -> bool {
        self.count = self.count.wrapping_add(1);
        if !self.count.is_multiple_of(64) {
            return false;
        }
        let elapsed = self.started.elapsed();
        elapsed >= self.limit.max
            || self.limit.waiting.is_some_and(|(w, least)| elapsed >= least && w.load(Ordering::Acquire) > 0)
    }
}

/// Where a pass is in the battery hash table.
#[derive(Debug, Default, Clone)]
struct BatteryPos {
    /// Entries done, in the table's iteration order.
    done: usize,
    /// The table's size when the last piece ended; another size means the order moved.
    len: usize,
    /// Times the battery part started again.
    restarts: u32,
}

/// Batteries added while a pass runs are rare (refills); restarting for each is bounded so a
/// pass always ends: after this many restarts it finishes from where it is.
const MAX_RESTARTS: u32 = 8;

impl BatteryPos {
    /// The batteries from where the pass is (a position in the table's dense vector); the
    /// piece's budget counts from there, so every piece does a piece's worth of work however
    /// far into the table it starts.
    fn resume<'a>(
        &self,
        table: &'a super::Batteries,
        budget: &mut Budget,
    ) -> std::slice::Iter<'a, super::super::Battery> {
        let mut it = table.values();
        if self.done > 0 {
            it.nth(self.done - 1);
        }
        budget.restart();
        it
    }

    /// Call at the start of a piece; true when the battery part must start again.
    fn must_restart(&mut self, len: usize) -> bool {
        if self.done > 0 && self.len != len && self.restarts < MAX_RESTARTS {
            self.restarts += 1;
            self.done = 0;
            self.len = len;
            return true;
        }
        self.len = len;
        false
    }
}

/// The ordered maps a pass walks: `BTreeMap`s and the world's [`Table`]s.
trait Ordered<K, V> {
    /// Entries after the cursor (all when there is none), in key order.
    fn after<'a>(&'a self, cursor: &Option<K>) -> After<'a, K, V>;
    fn put(&mut self, k: K, v: V);
}

/// The entries [`Ordered::after`] walks.
enum After<'a, K, V> {
    Tree(std::collections::btree_map::Range<'a, K, V>),
    Table(super::super::table::Iter<'a, K, V>),
}

impl<'a, K, V> Iterator for After<'a, K, V> {
    type Item = (&'a K, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            After::Tree(r) => r.next(),
            After::Table(r) => r.next(),
        }
    }
}

/// The bounds of the entries after `cursor`.
fn bounds<K>(cursor: &Option<K>) -> (Bound<&K>, Bound<&K>) {
    (cursor.as_ref().map_or(Bound::Unbounded, Bound::Excluded), Bound::Unbounded)
}

impl<K: Ord, V> Ordered<K, V> for BTreeMap<K, V> {
    fn after<'a>(&'a self, cursor: &Option<K>) -> After<'a, K, V> {
        After::Tree(self.range::<K, _>(bounds(cursor)))
    }
    fn put(&mut self, k: K, v: V) {
        self.insert(k, v);
    }
}

impl<K: Ord + Hash, V> Ordered<K, V> for Table<K, V> {
    fn after<'a>(&'a self, cursor: &Option<K>) -> After<'a, K, V> {
        After::Table(self.range::<K, _>(bounds(cursor)))
    }
    fn put(&mut self, k: K, v: V) {
        self.insert(k, v);
    }
}

/// Copy entries of `from` after the cursor into `into` until the budget is spent; true when
/// the table is done.
fn copy_map<K: Clone, V: Clone, M: Ordered<K, V>>(
    from: &M,
    into: &mut M,
    cursor: &mut Option<K>,
    budget: &mut Budget,
) -> bool {
    for (k, v) in from.after(cursor) {
        into.put(k.clone(), v.clone());
        if budget.spent() {
            *cursor = Some(k.clone());
            return false;
        }
    }
    true
}

/// [`copy_map`] for an ordered set.
fn copy_set<K: Ord + Clone>(
    from: &BTreeSet<K>,
    into: &mut BTreeSet<K>,
    cursor: &mut Option<K>,
    budget: &mut Budget,
) -> bool {
    let range = match cursor {
        None => from.range::<K, (Bound<&K>, Bound<&K>)>((Bound::Unbounded, Bound::Unbounded)),
        Some(k) => from.range::<K, _>((Bound::Excluded(&*k), Bound::Unbounded)),
    };
    for k in range {
        into.insert(k.clone());
        if budget.spent() {
            *cursor = Some(k.clone());
            return false;
        }
    }
    true
}

/// Where a chunked check is; start with `CheckPass::default()`.
#[derive(Debug, Default)]
pub struct CheckPass {
    stage: u8,
    cabinet: Option<super::CabinetId>,
    order: Option<TradeNo>,
    batteries: BatteryPos,
    /// Violations found so far, in the order found, without repeats.
    found: Vec<String>,
    seen: std::collections::HashSet<String>,
    /// The records two-sided violations name (see [`World::recopy`]).
    involved: BTreeSet<Ref>,
}

/// A record a violation names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ref {
    /// A cabinet by id.
    Cabinet(String),
    /// A battery by id.
    Battery(String),
    /// An order by trade number.
    Order(String),
}

impl CheckPass {
    /// Note the records a violation names; false, so it can sit in a match guard.
    fn involve<const N: usize>(&mut self, refs: [Ref; N]) -> bool {
        self.involved.extend(refs);
        false
    }

    /// The records the violations found name.
    pub fn involved(&self) -> &BTreeSet<Ref> {
        &self.involved
    }

    fn report(&mut self, message: String) {
        if self.seen.insert(message.clone()) {
            self.found.push(message);
        }
    }

    /// The violations found so far.
    pub fn violations(&self) -> &[String] {
        &self.found
    }

    /// The violations found, once the pass is done.
    pub fn into_violations(self) -> Vec<String> {
        self.found
    }
}

/// Where a chunked copy is; start with `CopyPass::new()`.
#[derive(Debug)]
pub struct CopyPass {
    stage: u8,
    cabinet: Option<super::CabinetId>,
    order: Option<TradeNo>,
    shop: Option<ShopId>,
    token: Option<String>,
    due: Option<(crate::clock::Millis, super::Due)>,
    task: Option<(crate::clock::Millis, super::super::sim_state::SimTask)>,
    batteries: BatteryPos,
    copy: World,
}

impl Default for CopyPass {
    fn default() -> Self {
        CopyPass {
            stage: 0,
            cabinet: None,
            order: None,
            shop: None,
            token: None,
            due: None,
            task: None,
            batteries: BatteryPos::default(),
            copy: World::empty(0),
        }
    }
}

impl CopyPass {
    /// The copy, once the pass is done.
    pub fn into_world(self) -> World {
        let mut world = self.copy;
        // Its orders were copied in pieces and mended: derived tables start again.
        world.reset_order_index();
        world
    }
}

impl World {
    /// Copy again, from this world into `copy`, the records in `refs` and those they point
    /// to here (the batteries a cabinet's slots hold, an order's battery, the cabinet or
    /// order a battery names), with the scheduled work of those orders: one short hold, in
    /// proportion to `refs`. A record missing here is removed from the copy. Used to mend a
    /// copy taken in pieces where a request moved a battery between two pieces.
    pub fn recopy(&self, copy: &mut World, refs: &BTreeSet<Ref>) {
        copy.reset_order_index();
        let mut all = refs.clone();
        for r in refs {
            match r {
                Ref::Cabinet(id) => {
                    for s in self.cabinets.get(id.as_str()).into_iter().flat_map(|c| &c.slots) {
                        all.extend(s.battery.as_deref().map(|b| Ref::Battery(b.to_string())));
                    }
                }
                Ref::Order(id) => all.extend(
                    self.orders
                        .get(id.as_str())
                        .and_then(|o| o.battery.as_deref())
                        .map(|b| Ref::Battery(b.to_string())),
                ),
                Ref::Battery(id) => match self.batteries.get(id).map(|b| &b.place) {
                    Some(BatteryPlace::Slot { cabinet, .. }) => {
                        all.insert(Ref::Cabinet(cabinet.to_string()));
                    }
                    Some(BatteryPlace::Rented { order }) => {
                        all.insert(Ref::Order(order.to_string()));
                    }
                    _ => {}
                },
            }
        }
        let mut orders = BTreeSet::new();
        for r in all {
            match r {
                Ref::Cabinet(id) => {
                    match self.cabinets.get(id.as_str()) {
                        Some(c) => copy.cabinets.insert(id.as_str().into(), c.clone()),
                        None => copy.cabinets.remove(id.as_str()),
                    };
                }
                Ref::Battery(id) => {
                    match self.batteries.get(&id) {
                        Some(b) => copy.batteries.insert(b.clone()),
                        None => copy.batteries.remove(&id),
                    };
                }
                Ref::Order(id) => {
                    orders.insert(id.clone());
                    match self.orders.get(id.as_str()) {
                        Some(o) => copy.orders.insert(id.into(), o.clone()),
                        None => copy.orders.remove(id.as_str()),
                    };
                }
            }
        }
        if !orders.is_empty() {
            let of_orders = |d: &super::Due| match d {
                super::Due::Eject(t) | super::Due::EjectWindow(t) | super::Due::Timeout(t) => orders.contains(t),
                super::Due::Reconnect(_) => false,
            };
            copy.due.retain(|(_, d)| !of_orders(d));
            copy.due.extend(self.due.iter().filter(|(_, d)| of_orders(d)).cloned());
        }
    }

    /// Check the world's invariants for about `budget` of real time from where `pass` is;
    /// true when the pass is done ([`CheckPass::into_violations`]). [`World::check`] is the
    /// same pass in one piece.
    pub fn check_piece<'a>(&self, pass: &mut CheckPass, budget: impl Into<PieceBudget<'a>>) -> bool {
        let mut budget = Budget::new(budget.into());
        if pass.stage == 0 {
            for (k, c) in self.cabinets.after(&pass.cabinet) {
                self.check_cabinet(c, pass);
                if budget.spent() {
                    pass.cabinet = Some(k.clone());
                    return false;
                }
            }
            pass.stage = 1;
        }
        if pass.stage == 1 {
            for (k, o) in self.orders.after(&pass.order) {
                if o.status == OrderStatus::InLease {
                    match o.battery.as_deref() {
                        None => {
                            pass.involve([Ref::Order(o.trade_no.to_string())]);
                            pass.report(format!("order {} is in lease without a battery", o.trade_no))
                        }
                        Some(b) => match self.batteries.get(b).map(|b| &b.place) {
                            Some(BatteryPlace::Rented { order }) if *order == o.trade_no => {}
                            _ if pass.involve([Ref::Order(o.trade_no.to_string()), Ref::Battery(b.to_string())]) => {}
                            None => pass.report(format!("order {} is in lease with unknown battery {b}", o.trade_no)),
                            Some(place) => pass.report(format!(
                                "order {} is in lease with battery {b}, which believes it is {place:?}",
                                o.trade_no
                            )),
                        },
                    }
                }
                if budget.spent() {
                    pass.order = Some(k.clone());
                    return false;
                }
            }
            pass.stage = 2;
        }
        // When the table's order moved, the batteries are looked at again from the first.
        pass.batteries.must_restart(self.batteries.len());
        for b in pass.batteries.resume(&self.batteries, &mut budget) {
            pass.batteries.done += 1;
            match &b.place {
                BatteryPlace::Slot { cabinet, slot } => {
                    let holds = self
                        .cabinets
                        .get(cabinet.as_str())
                        .and_then(|c| c.slot(*slot))
                        .and_then(|s| s.battery.as_deref());
                    if holds != Some(b.id.as_str()) {
                        pass.involve([Ref::Battery(b.id.to_string()), Ref::Cabinet(cabinet.to_string())]);
                        pass.report(format!(
                            "battery {} believes it is in {cabinet} slot {slot}, which holds {holds:?}",
                            b.id
                        ));
                    }
                }
                BatteryPlace::Rented { order } => {
                    let ok = self.orders.get(order.as_str()).is_some_and(|o| {
                        o.status == OrderStatus::InLease && o.battery.as_deref() == Some(b.id.as_str())
                    });
                    if !ok {
                        pass.involve([Ref::Battery(b.id.to_string()), Ref::Order(order.to_string())]);
                        pass.report(format!(
                            "battery {} believes it is rented on order {order}, which is not in lease with it",
                            b.id
                        ));
                    }
                }
                BatteryPlace::Loose => {}
            }
            if !(0.0..=100.0).contains(&b.level) {
                pass.report(format!("battery {} has charge {} outside 0..100", b.id, b.level));
            }
            if budget.spent() {
                return false;
            }
        }
        pass.stage = 3;
        true
    }

    /// The rules about one cabinet and the batteries its slots hold.
    fn check_cabinet(&self, c: &super::Cabinet, pass: &mut CheckPass) {
        if !self.agents.contains_key(c.agent.as_str()) {
            pass.report(format!("cabinet {} belongs to unknown agent {}", c.id, c.agent));
        }
        if let Some(s) = c.shop.as_deref() {
            if self.shops.get(s).is_none_or(|s| s.agent != c.agent) {
                pass.report(format!("cabinet {} is bound to shop {s}, which is not its agent's", c.id));
            }
        }
        let busy = c.battery_count();
        let empty = c.slots.iter().filter(|s| s.battery.is_none()).count();
        if busy + empty != c.slots.len() {
            pass.report(format!("cabinet {}: busy {busy} + empty {empty} != slots {}", c.id, c.slots.len()));
        }
        for (i, s) in c.slots.iter().enumerate() {
            let Some(b) = s.battery.as_deref() else {
                continue;
            };
            match self.batteries.get(b).map(|b| &b.place) {
                Some(BatteryPlace::Slot { cabinet, slot }) if *cabinet == c.id && *slot as usize == i + 1 => {}
                _ if pass.involve([Ref::Cabinet(c.id.to_string()), Ref::Battery(b.to_string())]) => {}
                None => pass.report(format!("{} slot {} holds unknown battery {b}", c.id, i + 1)),
                Some(place) => {
                    pass.report(format!("{} slot {} holds battery {b}, which believes it is {place:?}", c.id, i + 1))
                }
            }
        }
    }

    /// Copy the world into `pass` for about `budget` of real time from where the pass is;
    /// true when the copy is done ([`CopyPass::into_world`]). The big tables go piece by
    /// piece; the small ones (agents, rules, settings, counters, the random generator) are
    /// copied together in the last piece.
    pub fn copy_piece<'a>(&self, pass: &mut CopyPass, budget: impl Into<PieceBudget<'a>>) -> bool {
        let mut budget = Budget::new(budget.into());
        let into = &mut pass.copy;
        loop {
            let done = match pass.stage {
                0 => copy_map(&self.cabinets, &mut into.cabinets, &mut pass.cabinet, &mut budget),
                1 => copy_map(&self.orders, &mut into.orders, &mut pass.order, &mut budget),
                2 => copy_map(&self.shops, &mut into.shops, &mut pass.shop, &mut budget),
                3 => copy_map(&self.tokens, &mut into.tokens, &mut pass.token, &mut budget),
                4 => copy_set(&self.due, &mut into.due, &mut pass.due, &mut budget),
                5 => copy_set(&self.sim.queue, &mut into.sim.queue, &mut pass.task, &mut budget),
                6 => {
                    if pass.batteries.must_restart(self.batteries.len()) {
                        into.batteries.clear();
                    }
                    if into.batteries.capacity() == 0 {
                        into.batteries.reserve(self.batteries.len());
                    }
                    let mut done = true;
                    for b in pass.batteries.resume(&self.batteries, &mut budget) {
                        pass.batteries.done += 1;
                        into.batteries.insert(b.clone());
                        if budget.spent() {
                            done = false;
                            break;
                        }
                    }
                    done
                }
                7 => {
                    into.settings = self.settings.clone();
                    into.agents = self.agents.clone();
                    into.strategies = self.strategies.clone();
                    into.rng = self.rng.clone();
                    into.next_price_id = self.next_price_id;
                    into.next_shop_row = self.next_shop_row;
                    let queue = std::mem::take(&mut into.sim.queue);
                    into.sim = SimState {
                        settings: self.sim.settings.clone(),
                        started: self.sim.started,
                        queue,
                        heartbeat_cursor: self.sim.heartbeat_cursor.clone(),
                        stats: self.sim.stats.clone(),
                        index: self.sim.index.clone(),
                    };
                    into.faults = self.faults.clone();
                    into.shard = self.shard;
                    true
                }
                _ => return true,
            };
            if !done {
                return false;
            }
            pass.stage += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BatteryPlace, OrderStatus};

    /// A fleet with a rented battery, then three broken rules: a battery in two slots, one
    /// whose place names an empty slot, a charge out of range.
    fn broken_fleet() -> World {
        let mut w = crate::fixtures::generate_fleet(300, 3, 0).world;
        assert!(w.check().is_empty(), "{:?}", w.check());
        let mut ids = w.cabinets.keys().cloned();
        let (a, b) = (ids.next().unwrap(), ids.nth(100).unwrap());
        let twice = w.cabinets[&a].slots.iter().find_map(|s| s.battery.clone()).unwrap();
        let slot = w.cabinets[&b].slots.iter().position(|s| s.battery.is_some()).unwrap();
        let lost = w.cabinets.get_mut(&b).unwrap().slots[slot].battery.replace(twice.clone()).unwrap();
        let bat = w.batteries.get_mut(&lost).unwrap();
        bat.level = 150.0;
        let last = w.batteries.keys().max().unwrap().clone();
        w.batteries.get_mut(&last).unwrap().place = BatteryPlace::Rented { order: "NOPE".into() };
        w
    }

    #[test]
    fn a_check_in_the_smallest_pieces_finds_what_one_pass_finds() {
        let w = broken_fleet();
        let whole = w.check();
        assert!(whole.len() >= 4, "{whole:?}");
        assert!(whole.iter().any(|v| v.contains("believes")), "{whole:?}");
        assert!(whole.iter().any(|v| v.contains("charge 150")), "{whole:?}");
        assert!(whole.iter().any(|v| v.contains("order NOPE")), "{whole:?}");
        let mut pass = CheckPass::default();
        let mut pieces = 1;
        while !w.check_piece(&mut pass, Duration::ZERO) {
            pieces += 1;
        }
        assert!(pieces > 50, "the world was checked in {pieces} pieces");
        assert_eq!(pass.into_violations(), whole);
    }

    #[test]
    fn a_copy_in_the_smallest_pieces_is_the_world() {
        let t0 = crate::clock::parse_datetime(crate::config::TEST_START).unwrap();
        let mut w = crate::fixtures::generate_fleet(300, 4, t0).world;
        // Orders, scheduled work and simulation tasks to copy too.
        crate::sim::step(&mut w, t0, &mut Vec::new());
        crate::sim::step(&mut w, t0 + 4 * 3_600_000, &mut Vec::new());
        assert!(w.orders.values().any(|o| o.status == OrderStatus::InLease));
        assert!(!w.sim.queue.is_empty());
        let mut pass = CopyPass::default();
        let mut pieces = 1;
        while !w.copy_piece(&mut pass, Duration::ZERO) {
            pieces += 1;
        }
        assert!(pieces > 50, "the world was copied in {pieces} pieces");
        assert!(pass.into_world() == w);
    }

    #[test]
    fn a_battery_added_between_pieces_restarts_the_battery_part() {
        let mut w = crate::fixtures::generate_fleet(50, 5, 0).world;
        let mut pass = CopyPass::default();
        while pass.stage < 6 || pass.batteries.done == 0 {
            assert!(!w.copy_piece(&mut pass, Duration::ZERO));
        }
        let empty = w.cabinets.values().find(|c| c.slots.iter().any(|s| s.battery.is_none())).unwrap().id.clone();
        w.fill_cabinet(&empty, 80.0, 0, &mut Vec::new()).unwrap();
        while !w.copy_piece(&mut pass, Duration::ZERO) {}
        assert_eq!(pass.batteries.restarts, 1);
        // The cabinet was copied before the refill; the battery table is copied whole.
        assert!(pass.into_world().batteries == w.batteries);
    }

    #[test]
    fn a_copy_torn_by_a_battery_moving_between_pieces_is_mended_into_the_world() {
        let mut w = crate::fixtures::generate_fleet(300, 6, 0).world;
        let mut pass = CopyPass::default();
        while pass.stage == 0 && pass.cabinet.as_ref().is_none_or(|k| k < &w.cabinets.keys().nth(50).unwrap().clone()) {
            assert!(!w.copy_piece(&mut pass, Duration::ZERO));
        }
        // A customer takes a battery from a cabinet not copied yet back to one already copied.
        let (to, free) = w
            .cabinets
            .values()
            .take(40)
            .find_map(|c| c.slots.iter().position(|s| s.battery.is_none()).map(|i| (c.id.clone(), i)))
            .unwrap();
        let from = w.cabinets.values().next_back().unwrap().id.clone();
        let i = w.cabinets[&from].slots.iter().position(|s| s.battery.is_some()).unwrap();
        let b = w.cabinets.get_mut(&from).unwrap().slots[i].battery.take().unwrap();
        w.cabinets.get_mut(&to).unwrap().slots[free].battery = Some(b.clone());
        w.batteries.get_mut(&b).unwrap().place = BatteryPlace::Slot { cabinet: to.clone(), slot: free as u16 + 1 };
        assert!(w.check().is_empty(), "{:?}", w.check());
        while !w.copy_piece(&mut pass, Duration::ZERO) {}
        let mut copy = pass.into_world();
        let mut check = CheckPass::default();
        while !copy.check_piece(&mut check, Duration::MAX) {}
        assert!(!check.violations().is_empty(), "the battery is in neither cabinet of the copy");
        assert!(check.involved().contains(&Ref::Battery(b.to_string())), "{:?}", check.involved());
        w.recopy(&mut copy, check.involved());
        assert!(copy.check().is_empty(), "{:?}", copy.check());
        assert!(copy == w);
    }
}
