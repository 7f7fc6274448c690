//! The simulation's look-up tables (`SimIndex`): cabinets by position in id order (uniform
//! picks), slots by running total (weighted picks), POS cabinets, and a grid of shop
//! positions (nearby cabinets). Derived from the world, never saved.
//!
//! Rebuilt when the number of cabinets or shops changes, when the "nearby" radius changes,
//! and once per virtual hour (to follow cabinets moved to another shop). The rebuild is
//! checked before every task at that task's virtual time, so when it happens does not depend
//! on how time was cut into steps.

use super::HOUR;
use crate::clock::Millis;
use crate::model::geo;
use crate::model::sim_state::SimIndex;
use crate::model::World;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Metres per degree of latitude.
const M_PER_DEG: f64 = 111_195.0;

fn cell_deg(radius_m: f64) -> f64 {
    (radius_m / M_PER_DEG).max(0.001)
}

fn cell_of(lat: f64, lng: f64, cell: f64) -> (i64, i64) {
    ((lat / cell).floor() as i64, (lng / cell).floor() as i64)
}

/// Make sure the tables are fresh at virtual time `at`.
pub fn ensure(world: &mut World, at: Millis) {
    let fingerprint = (world.cabinets.len(), world.shops.len());
    let cell = cell_deg(world.sim.settings.nearby_radius_m);
    let ix = &world.sim.index;
    let fresh =
        ix.fingerprint == fingerprint && ix.cell_deg == cell && ix.built_at.is_some_and(|b| b <= at && at < b + HOUR);
    if !fresh {
        world.sim.index = Arc::new(build(world, at, cell));
    }
}

fn build(world: &World, at: Millis, cell: f64) -> SimIndex {
    let mut ix = SimIndex {
        built_at: Some(at),
        fingerprint: (world.cabinets.len(), world.shops.len()),
        cell_deg: cell,
        ..SimIndex::default()
    };
    let mut total = 0u64;
    for (i, c) in world.cabinets.values().enumerate() {
        ix.cabinets.push(c.id.clone());
        total += c.slots.len() as u64;
        ix.slot_prefix.push(total);
        if !c.pos_device_id.is_empty() {
            ix.pos.push(i);
        }
        let coords = c.shop.as_deref().and_then(|s| world.shops.get(s)).map(|s| (s.latitude, s.longitude));
        if let Some((lat, lng)) = coords {
            ix.grid.entry(cell_of(lat, lng, cell)).or_default().push(i);
        }
        ix.coords.push(coords);
    }
    ix
}

/// Index of a cabinet id in the table.
pub fn position(ix: &SimIndex, id: &str) -> Option<usize> {
    ix.cabinets.binary_search_by(|c| c.as_str().cmp(id)).ok()
}

/// The cabinet and 1-based slot holding global slot number `r` (`0..total slots`).
pub fn slot_at(ix: &SimIndex, r: u64) -> Option<(usize, u16)> {
    let i = ix.slot_prefix.partition_point(|&p| p <= r);
    let before = if i == 0 { 0 } else { *ix.slot_prefix.get(i - 1)? };
    ix.slot_prefix.get(i)?;
    Some((i, (r - before + 1) as u16))
}

/// Cabinets of the same agent within `radius_m` of cabinet `origin`'s shop, nearest first
/// (ties by id), without `origin` itself.
pub fn nearby(world: &World, origin: &str, radius_m: f64) -> Vec<String> {
    let ix = &world.sim.index;
    let Some(o) = position(ix, origin) else {
        return Vec::new();
    };
    let (Some(Some((lat, lng))), Some(agent)) = (ix.coords.get(o), world.cabinets.get(origin).map(|c| &c.agent)) else {
        return Vec::new();
    };
    let (cy, cx) = cell_of(*lat, *lng, ix.cell_deg);
    // A degree of longitude shrinks with latitude: look further east and west to cover it.
    let dx = (1.0 / lat.to_radians().cos().abs().max(0.05)).ceil() as i64;
    let mut found: BTreeMap<(u64, &str), ()> = BTreeMap::new();
    for y in cy - 1..=cy + 1 {
        for x in cx - dx..=cx + dx {
            for &i in ix.grid.get(&(y, x)).into_iter().flatten() {
                let (Some(id), Some(Some((la, ln)))) = (ix.cabinets.get(i), ix.coords.get(i)) else {
                    continue;
                };
                if i == o || world.cabinets.get(id).is_none_or(|c| &c.agent != agent) {
                    continue;
                }
                let d = geo::distance_m(*lat, *lng, *la, *ln);
                if d <= radius_m {
                    found.insert(((d * 10.0) as u64, id.as_str()), ());
                }
            }
        }
    }
    found.into_keys().map(|(_, id)| id.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{load, DEFAULT_FIXTURES};

    #[test]
    fn slots_and_neighbours_are_found() {
        let mut w = load(DEFAULT_FIXTURES, 1, 0).unwrap().world;
        ensure(&mut w, 0);
        let ix = &w.sim.index;
        let total = *ix.slot_prefix.last().unwrap();
        assert_eq!(total, w.cabinets.values().map(|c| c.slots.len() as u64).sum::<u64>());
        let first = w.cabinets.values().next().unwrap();
        assert_eq!(slot_at(ix, 0), Some((0, 1)));
        assert_eq!(slot_at(ix, first.slots.len() as u64), Some((1, 1)));
        assert_eq!(slot_at(ix, total - 1).map(|(i, _)| i), Some(ix.cabinets.len() - 1));
        assert_eq!(slot_at(ix, total), None);
        assert_eq!(ix.pos.len(), 3);
        // The other cabinet of the Louvre shop is nearby; acme's cabinets never are.
        let near = nearby(&w, "BJD60151", 2000.0);
        assert!(near.contains(&"BJD60152".to_string()), "{near:?}");
        assert!(near.iter().all(|c| w.cabinets[c].agent == "demo"));
    }
}
