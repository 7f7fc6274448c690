//! The simulation's look-up tables (`SimIndex`): cabinets by position in id order (uniform
//! picks), slots by running total (weighted picks) and POS cabinets. Derived from the world,
//! never saved. Where things are (the cabinets near a return) is the world's one spatial
//! index, `model/shop_index.rs` ([`World::cabinets_near`]).
//!
//! Rebuilt when the number of cabinets or shops changes, and once per virtual hour (to follow
//! POS terminals bound or unbound). The rebuild is checked before every task at that task's
//! virtual time, so when it happens does not depend on how time was cut into steps.

use super::HOUR;
use crate::clock::Millis;
use crate::model::sim_state::SimIndex;
use crate::model::World;
use std::sync::Arc;

/// Make sure the tables are fresh at virtual time `at`.
pub fn ensure(world: &mut World, at: Millis) {
    let fingerprint = (world.cabinets.len(), world.shops.len());
    let ix = &world.sim.index;
    let fresh = ix.fingerprint == fingerprint && ix.built_at.is_some_and(|b| b <= at && at < b + HOUR);
    if !fresh {
        world.sim.index = Arc::new(build(world, at));
    }
}

fn build(world: &World, at: Millis) -> SimIndex {
    let n = world.cabinets.len();
    let mut ix = SimIndex {
        built_at: Some(at),
        fingerprint: (n, world.shops.len()),
        cabinets: Vec::with_capacity(n),
        slot_prefix: Vec::with_capacity(n),
        pos: Vec::new(),
    };
    let mut total = 0u64;
    for (i, c) in world.cabinets.values().enumerate() {
        ix.cabinets.push(c.id.clone());
        total += c.slots.len() as u64;
        ix.slot_prefix.push(total);
        if !c.pos_device_id.is_empty() {
            ix.pos.push(i);
        }
    }
    ix
}

/// The cabinet and 1-based slot holding global slot number `r` (`0..total slots`).
pub fn slot_at(ix: &SimIndex, r: u64) -> Option<(usize, u16)> {
    let i = ix.slot_prefix.partition_point(|&p| p <= r);
    let before = if i == 0 { 0 } else { *ix.slot_prefix.get(i - 1)? };
    ix.slot_prefix.get(i)?;
    Some((i, (r - before + 1) as u16))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{load, DEFAULT_FIXTURES};
    use crate::model::geo;

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
        let near = w.cabinets_near("BJD60151", 2000.0, 8);
        assert_eq!(near.first().map(String::as_str), Some("BJD60152"), "the same shop first: {near:?}");
        assert!(near.iter().all(|c| w.cabinets[c.as_str()].agent == "demo"));
    }

    #[test]
    fn the_ring_search_finds_what_a_scan_of_the_radius_finds() {
        let w = crate::fixtures::generate_fleet(3000, 4, 0).world;
        // Every cabinet of the agent within the radius, ranked as the index ranks them: by
        // shop distance, then shop id, then cabinet id.
        let brute = |origin: &str, radius: f64| -> Vec<String> {
            let o = &w.cabinets[origin];
            let Some(home) = o.shop.as_deref().map(|s| &w.shops[s]) else { return Vec::new() };
            let mut v: Vec<(f64, &str, &str)> = w
                .cabinets
                .values()
                .filter(|c| c.id != origin && c.agent == o.agent)
                .filter_map(|c| c.shop.as_deref().map(|s| (&w.shops[s], c.id.as_str())))
                .map(|(s, c)| {
                    (geo::distance_m(home.latitude, home.longitude, s.latitude, s.longitude), s.id.as_str(), c)
                })
                .filter(|(d, _, _)| *d <= radius)
                .collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)).then_with(|| a.2.cmp(b.2)));
            v.into_iter().map(|(_, _, c)| c.to_string()).collect()
        };
        for (k, origin) in w.cabinets.keys().enumerate().step_by(37) {
            let radius = [150.0, 800.0, 2000.0][k % 3];
            let all = brute(origin, radius);
            assert_eq!(w.cabinets_near(origin, radius, 8), all.iter().take(8).cloned().collect::<Vec<_>>(), "{origin}");
            assert_eq!(w.cabinets_near(origin, radius, usize::MAX), all, "{origin}");
        }
    }
}
