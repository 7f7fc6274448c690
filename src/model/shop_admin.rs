//! Back-office shop operations (Advance API S3-S5) and the figures shop lists show (S1, S2).
//!
//! Shop ids are caller-chosen and global (one map for every agent), so a create with an id
//! another agent already uses is refused as taken; every other operation treats a foreign shop
//! exactly like a missing one.

use super::cabinet::Cabinet;
use super::shop::Shop;
use super::world::World;
use crate::clock::Millis;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// The fields of a shop create or update (`CdbShopEntity`), already parsed and range-checked.
/// `None` means "not given": a create uses the default, an update keeps the current value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShopDraft {
    /// Shop id (`pNewid`).
    pub id: String,
    /// Name.
    pub name: String,
    /// WGS-84 latitude.
    pub latitude: f64,
    /// WGS-84 longitude.
    pub longitude: f64,
    /// Address.
    pub address: Option<String>,
    /// ISO currency code (already known to be one of `shop::CURRENCIES`).
    pub currency: Option<String>,
    /// Scene type.
    pub scene_type: Option<i64>,
    /// Store type.
    pub store_type: Option<i64>,
    /// 0 disabled, 1 enabled.
    pub auditor: Option<i64>,
    /// Description.
    pub content: Option<String>,
    /// Stripe Terminal location id.
    pub location_id: Option<String>,
    /// Logo URL.
    pub logo: Option<String>,
}

/// Stock figures of a shop's cabinets at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShopStock {
    /// Cabinet ids, in id order.
    pub cabinets: Vec<String>,
    /// Batteries present.
    pub batteries: usize,
    /// Rentable batteries in online cabinets.
    pub rentable: usize,
    /// Empty healthy slots (free for returns).
    pub returnable: usize,
    /// Docked batteries still charging (below 100 %, not faulty, not paused).
    pub charging: usize,
    /// Whether any cabinet is online.
    pub online: bool,
}

impl World {
    /// Stock figures of `shop` at `now`.
    pub fn shop_stock(&self, shop: &Shop, now: Millis) -> ShopStock {
        self.stock_of(self.cabinets_in_shop(&shop.id), now)
    }

    /// The agent's cabinets grouped by shop id, in one pass over the fleet (shop lists would
    /// otherwise scan every cabinet once per shop).
    pub fn cabinets_by_shop(&self, agent: &str) -> BTreeMap<&str, Vec<&Cabinet>> {
        let mut m: BTreeMap<&str, Vec<&Cabinet>> = BTreeMap::new();
        for c in self.cabinets.values().filter(|c| c.agent == agent) {
            if let Some(s) = c.shop.as_deref() {
                m.entry(s).or_default().push(c);
            }
        }
        m
    }

    /// Stock figures of a set of cabinets at `now`.
    pub fn stock_of<'a>(&self, cabinets: impl IntoIterator<Item = &'a Cabinet>, now: Millis) -> ShopStock {
        let mut s = ShopStock::default();
        for c in cabinets {
            s.cabinets.push(c.id.to_string());
            let counts = self.slot_counts(c, now);
            s.batteries += counts.batteries;
            if c.online {
                s.rentable += counts.rentable;
                s.online = true;
            }
            s.returnable += counts.returnable;
            s.charging += c
                .slots
                .iter()
                .filter_map(|sl| sl.battery.as_deref().and_then(|b| self.batteries.get(b)))
                .filter(|b| b.fault.is_none() && !b.charge_paused && b.vol_at(&self.settings.charge, now) < 100)
                .count();
        }
        s
    }

    /// S3: create a shop for `agent`. The id must be free; a shop created without a currency
    /// takes the currency of the agent's first shop (USD when it has none).
    pub fn create_shop(&mut self, agent: &str, d: ShopDraft, now: Millis) -> Result<()> {
        if self.shops.contains_key(d.id.as_str()) {
            return Err(Error::shop_exists(&d.id));
        }
        let currency = d.currency.unwrap_or_else(|| {
            self.shops.values().find(|s| s.agent == agent).map(|s| s.currency.clone()).unwrap_or_else(|| "USD".into())
        });
        let row = self.next_shop_row;
        self.next_shop_row += 1;
        let shop = Shop {
            id: d.id.clone().into(),
            row,
            agent: agent.to_string().into(),
            name: d.name,
            address: d.address.filter(|a| !a.trim().is_empty()),
            city: String::new(),
            province: String::new(),
            region: String::new(),
            latitude: d.latitude,
            longitude: d.longitude,
            opening_time: String::new(),
            currency,
            mobile: String::new(),
            content: d.content.unwrap_or_default(),
            icon: String::new(),
            logo: d.logo.unwrap_or_default(),
            banner: String::new(),
            scene_type: d.scene_type.unwrap_or(0),
            store_type: d.store_type.unwrap_or(0),
            auditor: d.auditor.unwrap_or(1),
            location_id: d.location_id.unwrap_or_default(),
            price_id: None,
            pos_price_id: None,
            created_at: now,
        };
        self.shops.insert(d.id.clone().into(), shop);
        self.index_shop(&d.id);
        Ok(())
    }

    /// S4: update the agent's shop `d.id`; fields not given keep their value.
    pub fn update_shop(&mut self, agent: &str, d: ShopDraft) -> Result<()> {
        self.shop_of(agent, &d.id)?;
        let Some(s) = self.shops.get_mut(d.id.as_str()) else {
            return Err(Error::shop_not_found(&d.id));
        };
        s.name = d.name;
        s.latitude = d.latitude;
        s.longitude = d.longitude;
        if let Some(a) = d.address {
            s.address = Some(a).filter(|a| !a.trim().is_empty());
        }
        if let Some(c) = d.currency {
            s.currency = c;
        }
        if let Some(v) = d.scene_type {
            s.scene_type = v;
        }
        if let Some(v) = d.store_type {
            s.store_type = v;
        }
        if let Some(v) = d.auditor {
            s.auditor = v;
        }
        if let Some(v) = d.content {
            s.content = v;
        }
        if let Some(v) = d.location_id {
            s.location_id = v;
        }
        if let Some(v) = d.logo {
            s.logo = v;
        }
        self.index_shop(&d.id);
        Ok(())
    }

    /// S5: delete the agent's shop. A shop that still has cabinets is refused (`3003`): unbind
    /// or move them first. Strategies created for it forget it; orders keep its name.
    pub fn delete_shop(&mut self, agent: &str, id: &str) -> Result<()> {
        self.shop_of(agent, id)?;
        let cabs: Vec<&str> = self.cabinets_in_shop(id).map(|c| c.id.as_str()).collect();
        if !cabs.is_empty() {
            return Err(Error::shop_in_use(format!(
                "Shop {id} still has {} cabinet(s) ({}); unbind or move them first.",
                cabs.len(),
                cabs.join(", ")
            )));
        }
        self.shops.remove(id);
        self.index_shop(id);
        for p in self.strategies.values_mut().filter(|p| p.shop.as_deref() == Some(id)) {
            p.shop = None;
        }
        Ok(())
    }
}
