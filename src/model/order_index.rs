//! Each account's orders, newest first: the order list (R1) pages them without looking at
//! anybody else's orders and without sorting.
//!
//! R1 used to collect the account's orders from the whole order book and sort them on every
//! request: a load test that rents and returns builds tens of thousands of orders in minutes,
//! and a first page over 8,600 of them cost 350 us of a core, inside the read lock. The index
//! is derived and never saved (`#[serde(skip)]`): built on first use, then kept up to date by
//! the only ways orders are added and removed while the world runs
//! (`World::insert_order`, `World::remove_order`). A world whose orders are replaced wholesale
//! (a loaded snapshot, a shard's share, the copy a snapshot is saved from) starts unbuilt.
//! An order's time, trade number and account never change once it exists.

use super::id::{AgentId, TradeNo};
use super::order::Order;
use super::world::World;
use crate::clock::Millis;
use std::collections::{BTreeSet, HashMap};

/// One order as filed: when it was created and its trade number (R1's order, oldest first).
pub type Filed = (Millis, TradeNo);

/// The tables themselves.
#[derive(Debug, Clone, Default)]
pub struct OrderIndex {
    by_agent: HashMap<AgentId, BTreeSet<Filed>>,
    /// Orders filed (a guard against orders changed behind the index's back).
    count: usize,
}

impl OrderIndex {
    fn build(world: &World) -> Self {
        let mut ix = OrderIndex::default();
        for o in world.orders.values() {
            ix.add(o);
        }
        ix
    }

    fn add(&mut self, o: &Order) {
        if self.by_agent.entry(o.agent.clone()).or_default().insert((o.created_at, o.trade_no.clone())) {
            self.count += 1;
        }
    }

    fn remove(&mut self, o: &Order) {
        let key = (o.created_at, o.trade_no.clone());
        if self.by_agent.get_mut(o.agent.as_str()).is_some_and(|set| set.remove(&key)) {
            self.count -= 1;
        }
    }
}

/// The index as the world holds it, built on first use.
pub type OrderIndexCell = super::derived::Derived<OrderIndex>;

impl World {
    /// The account's orders by creation time and trade number (oldest first), or `None` when
    /// the index does not match the order book (then scan instead).
    pub fn agent_orders(&self, agent: &str) -> Option<&BTreeSet<Filed>> {
        static EMPTY: BTreeSet<Filed> = BTreeSet::new();
        let ix = self.order_index.0.get_or_init(|| OrderIndex::build(self));
        (ix.count == self.orders.len()).then(|| ix.by_agent.get(agent).unwrap_or(&EMPTY))
    }

    /// Add an order to the order book, and to the index if it is built: the one way orders
    /// are added while the world runs.
    pub(super) fn insert_order(&mut self, order: Order) {
        if let Some(ix) = self.order_index.0.get_mut() {
            ix.add(&order);
        }
        self.orders.insert(order.trade_no.clone(), order);
    }

    /// Take an order out of the order book and the index: the one way orders are removed
    /// while the world runs.
    pub(super) fn remove_order(&mut self, trade_no: &str) -> Option<Order> {
        let order = self.orders.remove(trade_no)?;
        if let Some(ix) = self.order_index.0.get_mut() {
            ix.remove(&order);
        }
        Some(order)
    }

    /// Forget the whole index: the orders were replaced wholesale.
    pub(super) fn reset_order_index(&mut self) {
        self.order_index = OrderIndexCell::default();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::order::{OrderOrigin, OrderStatus};

    /// A fleet with orders of every origin on its online cabinets, several created in the same
    /// millisecond (ties are ordered by trade number).
    pub(crate) fn world_with_orders(n: usize) -> World {
        let mut w = crate::fixtures::generate_fleet(200, 3, 0).world;
        w.settings.eject_delay_ms = 60_000;
        let online: Vec<(String, String)> =
            w.cabinets.values().filter(|c| c.online).map(|c| (c.agent.to_string(), c.id.to_string())).collect();
        let origins = [OrderOrigin::Customer, OrderOrigin::OpenApi, OrderOrigin::Admin];
        for i in 0..n {
            let (agent, cab) = &online[(i * 7) % online.len()];
            let at = 1_000 * (i as Millis / 3);
            w.create_order(agent, cab, None, origins[i % 3], at, &mut Vec::new()).unwrap();
        }
        w
    }

    fn from_scratch(w: &World) -> Vec<(String, Vec<Filed>)> {
        let ix = OrderIndex::build(w);
        let mut all: Vec<_> = ix.by_agent.into_iter().map(|(a, s)| (a.to_string(), s.into_iter().collect())).collect();
        all.sort();
        all
    }

    fn as_kept(w: &World) -> Vec<(String, Vec<Filed>)> {
        let agents: BTreeSet<String> = w.orders.values().map(|o| o.agent.to_string()).collect();
        let mut all: Vec<_> = agents
            .into_iter()
            .map(|a| {
                let filed = w.agent_orders(&a).expect("the index matches the order book");
                (a, filed.iter().cloned().collect::<Vec<_>>())
            })
            .filter(|(_, s)| !s.is_empty())
            .collect();
        all.sort();
        all
    }

    #[test]
    fn the_index_follows_orders_added_and_forgotten() {
        let mut w = world_with_orders(120);
        assert_eq!(as_kept(&w), from_scratch(&w), "built on first use");
        // Added after it was built.
        let (agent, cab) = w.orders.values().next().map(|o| (o.agent.to_string(), o.cabinet.to_string())).unwrap();
        for i in 0..30 {
            w.create_order(&agent, &cab, None, OrderOrigin::Customer, 200_000 + i / 4, &mut Vec::new()).unwrap();
        }
        assert_eq!(as_kept(&w), from_scratch(&w), "kept up to date on creation");
        // Finished customer orders forgotten; other orders stay.
        let ids: Vec<String> = w.orders.keys().step_by(3).map(|t| t.to_string()).collect();
        let mut forgotten = 0;
        for t in &ids {
            if let Some(o) = w.orders.get_mut(t.as_str()) {
                o.status = OrderStatus::Returned;
            }
            forgotten += usize::from(w.forget_order(t));
        }
        assert!(forgotten > 10, "{forgotten}");
        assert_eq!(as_kept(&w), from_scratch(&w), "kept up to date on removal");
        assert_eq!(w.order_index.0.get().map(|ix| ix.count), Some(w.orders.len()));
        // A copy starts unbuilt and builds its own.
        let copy = w.clone();
        assert!(copy.order_index.0.get().is_none());
        assert_eq!(as_kept(&copy), as_kept(&w));
    }

    #[test]
    fn an_index_that_does_not_match_the_order_book_is_not_used() {
        let mut w = world_with_orders(20);
        let agent = w.orders.values().next().unwrap().agent.to_string();
        assert!(w.agent_orders(&agent).is_some());
        // Removed behind the index's back (no operation does this): the caller scans instead.
        let first = w.orders.keys().next().unwrap().clone();
        w.orders.remove(&first);
        assert!(w.agent_orders(&agent).is_none());
    }
}
