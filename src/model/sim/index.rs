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
/// Edge of the neighbour grid's cells in degrees (about 110 m x 73 m in Paris): a search
/// visits rings of cells outward and stops as soon as no farther cell can hold a nearer
/// cabinet. With radius-sized cells every return at 100,000 cabinets looked at ~36,000
/// candidates (~70 ms per simulated return).
pub const FINE_DEG: f64 = 0.001;
/// Rings beyond which a search gives up on rings and scans its radius-sized box instead.
const MAX_RINGS: i64 = 400;

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
    let mut agent_no: BTreeMap<&str, u32> = BTreeMap::new();
    for (i, c) in world.cabinets.values().enumerate() {
        let next = agent_no.len() as u32;
        ix.agents.push(*agent_no.entry(c.agent.as_str()).or_insert(next));
        ix.cabinets.push(c.id.to_string());
        total += c.slots.len() as u64;
        ix.slot_prefix.push(total);
        if !c.pos_device_id.is_empty() {
            ix.pos.push(i);
        }
        let coords = c.shop.as_deref().and_then(|s| world.shops.get(s)).map(|s| (s.latitude, s.longitude));
        if let Some((lat, lng)) = coords {
            ix.grid.entry(cell_of(lat, lng, FINE_DEG)).or_default().push(i);
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
/// (ties by id), without `origin` itself; at most `limit` of them.
///
/// Rings of grid cells are visited outward from the origin's cell; after ring `r` every
/// cabinet not yet seen is more than `r` cells away, so once the `limit`-th nearest found is
/// nearer than that (in the 0.1 m steps distances are ranked by), the answer is complete.
pub fn nearby(world: &World, origin: &str, radius_m: f64, limit: usize) -> Vec<String> {
    let ix = &world.sim.index;
    let Some(o) = position(ix, origin) else {
        return Vec::new();
    };
    let (Some(Some((lat, lng))), Some(&agent)) = (ix.coords.get(o), ix.agents.get(o)) else {
        return Vec::new();
    };
    let (lat, lng) = (*lat, *lng);
    // Shortest extent of a cell in metres, rounded down: lower bounds keep the stop safe.
    // Longitude shrinks with latitude; beyond 80 degrees rings are not worth it.
    let cos = (lat.abs() + 1.0).min(90.0).to_radians().cos();
    let cell_m = FINE_DEG * 111_000.0 * cos;
    let rings = if lat.abs() > 80.0 || cell_m <= 0.0 { MAX_RINGS + 1 } else { (radius_m / cell_m).ceil() as i64 + 1 };
    let (cy, cx) = cell_of(lat, lng, FINE_DEG);
    let mut found: Vec<(u64, usize)> = Vec::new();
    let consider = |i: usize, found: &mut Vec<(u64, usize)>| {
        if i == o || ix.agents.get(i) != Some(&agent) {
            return;
        }
        let Some(Some((la, ln))) = ix.coords.get(i) else {
            return;
        };
        let d = geo::distance_m(lat, lng, *la, *ln);
        if d <= radius_m {
            found.push(((d * 10.0) as u64, i));
        }
    };
    let rank = |found: &mut Vec<(u64, usize)>| {
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| ix.cabinets.get(a.1).cmp(&ix.cabinets.get(b.1))));
    };
    if rings > MAX_RINGS {
        // A huge radius (or a polar shop): every cabinet.
        (0..ix.cabinets.len()).for_each(|i| consider(i, &mut found));
    } else {
        for r in 0..=rings {
            for y in cy - r..=cy + r {
                // The ring's top and bottom rows in full, its sides as two cells.
                let xs: Vec<i64> =
                    if y == cy - r || y == cy + r { (cx - r..=cx + r).collect() } else { vec![cx - r, cx + r] };
                for x in xs {
                    for &i in ix.grid.get(&(y, x)).into_iter().flatten() {
                        consider(i, &mut found);
                    }
                }
            }
            if found.len() >= limit && limit > 0 {
                rank(&mut found);
                found.truncate(limit);
                // Everything unseen is at least r cells away.
                let unseen = (r as f64 * cell_m * 10.0) as u64;
                if found.last().is_some_and(|(k, _)| unseen > *k) {
                    break;
                }
            }
        }
    }
    rank(&mut found);
    found.truncate(limit);
    found.into_iter().filter_map(|(_, i)| ix.cabinets.get(i).cloned()).collect()
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
        let near = nearby(&w, "BJD60151", 2000.0, 8);
        assert!(near.contains(&"BJD60152".to_string()), "{near:?}");
        assert!(near.iter().all(|c| w.cabinets[c.as_str()].agent == "demo"));
    }

    #[test]
    fn the_ring_search_finds_what_a_scan_of_the_radius_finds() {
        let mut w = crate::fixtures::generate_fleet(3000, 4, 0).world;
        ensure(&mut w, 0);
        let ix = w.sim.index.clone();
        let brute = |origin: &str, radius: f64| -> Vec<String> {
            let o = position(&ix, origin).unwrap();
            let Some((lat, lng)) = ix.coords[o] else { return Vec::new() };
            let mut v: Vec<(u64, &str)> = (0..ix.cabinets.len())
                .filter(|&i| i != o && ix.agents[i] == ix.agents[o])
                .filter_map(|i| ix.coords[i].map(|(la, ln)| (geo::distance_m(lat, lng, la, ln), i)))
                .filter(|(d, _)| *d <= radius)
                .map(|(d, i)| ((d * 10.0) as u64, ix.cabinets[i].as_str()))
                .collect();
            v.sort();
            v.into_iter().map(|(_, id)| id.to_string()).collect()
        };
        for (k, origin) in ix.cabinets.iter().enumerate().step_by(37) {
            let radius = [150.0, 800.0, 2000.0][k % 3];
            let all = brute(origin, radius);
            assert_eq!(nearby(&w, origin, radius, 8), all.iter().take(8).cloned().collect::<Vec<_>>(), "{origin}");
            assert_eq!(nearby(&w, origin, radius, usize::MAX), all, "{origin}");
        }
    }
}
