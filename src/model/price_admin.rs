//! Back-office price-strategy operations (Advance API P1-P6): create, update, delete, and
//! binding a strategy to a shop for general (`customType` 0) or POS (`customType` 1) rentals.
//!
//! The strategy bound for general rentals is what new orders at the shop's cabinets are billed
//! with and what O1 shows (`World::terms_for`); an order keeps the terms it was created with.

use super::id::PriceId;
use super::price::PriceStrategy;
use super::shop::Shop;
use super::world::World;
use crate::error::{Error, Result};

/// Which binding of a shop a strategy fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingKind {
    /// General (cabinet) rentals: `customType` 0.
    General,
    /// POS-terminal rentals: `customType` 1.
    Pos,
}

impl World {
    /// The agent's price strategy `id`; foreign or missing: `3101`.
    pub fn strategy_of(&self, agent: &str, id: PriceId) -> Result<&PriceStrategy> {
        self.strategies.get(&id).filter(|p| p.agent == agent).ok_or_else(|| Error::price_not_found(id))
    }

    /// The shops a strategy is bound to, with the binding, in shop-id order.
    pub fn shops_bound_to(&self, id: PriceId) -> Vec<(&Shop, BindingKind)> {
        let mut v = Vec::new();
        for s in self.shops.values() {
            if s.price_id == Some(id) {
                v.push((s, BindingKind::General));
            }
            if s.pos_price_id == Some(id) {
                v.push((s, BindingKind::Pos));
            }
        }
        v
    }

    /// P3: create (`id` `None`) or replace the agent's strategy; returns its id. `p.id` and
    /// `p.agent` are ignored; `p.shop`, when set, must be one of the agent's shops. Saving does
    /// not bind: bindings are made by P5 and survive updates.
    pub fn save_strategy(&mut self, agent: &str, id: Option<PriceId>, mut p: PriceStrategy) -> Result<PriceId> {
        if let Some(s) = p.shop.as_deref() {
            self.shop_of(agent, s)?;
        }
        let id = match id {
            Some(id) => {
                self.strategy_of(agent, id)?;
                id
            }
            None => {
                let id = PriceId(self.next_price_id);
                self.next_price_id += 1;
                id
            }
        };
        p.id = id;
        p.agent = agent.to_string().into();
        self.strategies.insert(id, p);
        Ok(id)
    }

    /// P4: delete the agent's strategies. All ids are checked first; a strategy still bound to
    /// a shop is refused (`3102`) so no shop silently falls back to the default prices.
    pub fn delete_strategies(&mut self, agent: &str, ids: &[PriceId]) -> Result<()> {
        for &id in ids {
            self.strategy_of(agent, id)?;
            let bound = self.shops_bound_to(id);
            if !bound.is_empty() {
                let shops: Vec<&str> = bound.iter().map(|(s, _)| s.id.as_str()).collect();
                return Err(Error::price_in_use(format!(
                    "Price strategy {id} is bound to shop(s) {}; unbind it first.",
                    shops.join(", ")
                )));
            }
        }
        for id in ids {
            self.strategies.remove(id);
        }
        Ok(())
    }

    /// P5: bind the agent's strategy to the agent's shop, replacing the previous binding of
    /// that kind.
    pub fn bind_strategy(&mut self, agent: &str, shop: &str, id: PriceId, kind: BindingKind) -> Result<()> {
        self.shop_of(agent, shop)?;
        self.strategy_of(agent, id)?;
        if let Some(s) = self.shops.get_mut(shop) {
            match kind {
                BindingKind::General => s.price_id = Some(id),
                BindingKind::Pos => s.pos_price_id = Some(id),
            }
        }
        Ok(())
    }

    /// P6: remove the shop's binding of that kind (no-op when there is none). A shop without a
    /// general strategy bills new orders with the platform default.
    pub fn unbind_strategy(&mut self, agent: &str, shop: &str, kind: BindingKind) -> Result<()> {
        self.shop_of(agent, shop)?;
        if let Some(s) = self.shops.get_mut(shop) {
            match kind {
                BindingKind::General => s.price_id = None,
                BindingKind::Pos => s.pos_price_id = None,
            }
        }
        Ok(())
    }
}
