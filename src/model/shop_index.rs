//! Look-up tables of the world by place, by shop and by agent: the agent's shops by grid cell
//! (the geo list O6, and the nearby cabinets a simulated customer returns to), the cabinets
//! standing in each shop (O6 stock, shop stock, shop deletion) and each agent's cabinets with
//! their position in the fleet (device pages, C7). The world's one spatial index.
//!
//! At fleet scale a scan per request is too slow: O6 used to scan every shop of the agent and,
//! per shop within reach, every cabinet (120 ms a request at 100,000 cabinets). The tables are
//! derived from the world and never saved (`#[serde(skip)]`, so snapshots are unchanged). They
//! are built on first use (a world loaded from fixtures or a snapshot starts without them) and
//! then kept up to date by the operations that create, move or delete shops and bind or
//! unbind cabinets (`index_shop`, `index_cabinet`). The rejected alternative, invalidating
//! on every change and rebuilding on the next read, costs a full rebuild (tens of ms at
//! 100,000 cabinets) for each bind followed by a geo query.

use super::geo;
use super::id::CabinetId;
use super::shop::Shop;
use super::world::World;
use std::collections::{BTreeSet, HashMap};

/// Grid cell edge in degrees (about 220 m north-south, 150 m east-west in Paris): a close
/// zoom level looks at a few cells of a few shops each.
const CELL_DEG: f64 = 0.002;
/// Metres per degree of latitude (rounded down: boxes and rings are never too small).
const M_PER_DEG: f64 = geo::METRES_PER_DEGREE;
/// A search box with more cells than this scans the agent's non-empty cells instead.
const MAX_BOX_CELLS: i64 = 4096;
/// Rings beyond which a nearest-first search gives up on rings and searches its box instead.
const MAX_RINGS: i64 = 400;

type Cell = (i64, i64);

fn cell_of(lat: f64, lng: f64) -> Cell {
    ((lat / CELL_DEG).floor() as i64, (lng / CELL_DEG).floor() as i64)
}

/// A shop's position in the grid.
#[derive(Debug, Clone, PartialEq)]
struct Point {
    id: String,
    lat: f64,
    lng: f64,
}

/// The tables themselves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShopIndex {
    /// Cabinet ids by shop id (bound cabinets only), in id order.
    by_shop: HashMap<String, BTreeSet<CabinetId>>,
    /// Shops by agent, then grid cell, each cell in id order.
    cells: HashMap<String, HashMap<Cell, Vec<Point>>>,
    /// Where each shop is filed: agent and cell.
    filed: HashMap<String, (String, Cell)>,
    /// Each agent's cabinets in id order, with their 0-based position among all cabinets.
    /// Cabinets are created only by loading a world, and their agent never changes.
    by_agent: HashMap<String, Vec<(usize, CabinetId)>>,
    /// Number of cabinets the positions were counted over (a guard against a world whose
    /// cabinets changed behind the index's back).
    cabinet_count: usize,
}

impl ShopIndex {
    /// The tables of `world`, from scratch.
    pub fn build(world: &World) -> Self {
        let mut ix = ShopIndex::default();
        for s in world.shops.values() {
            ix.file_shop(s);
        }
        for (i, c) in world.cabinets.values().enumerate() {
            if let Some(s) = c.shop.as_deref() {
                ix.by_shop.entry(s.to_string()).or_default().insert(c.id.clone());
            }
            ix.by_agent.entry(c.agent.to_string()).or_default().push((i, c.id.clone()));
        }
        ix.cabinet_count = world.cabinets.len();
        ix
    }

    fn file_shop(&mut self, s: &Shop) {
        let cell = cell_of(s.latitude, s.longitude);
        let points = self.cells.entry(s.agent.to_string()).or_default().entry(cell).or_default();
        let at = points.partition_point(|p| *p.id < *s.id);
        points.insert(at, Point { id: s.id.to_string(), lat: s.latitude, lng: s.longitude });
        self.filed.insert(s.id.to_string(), (s.agent.to_string(), cell));
    }

    fn unfile_shop(&mut self, id: &str) {
        let Some((agent, cell)) = self.filed.remove(id) else {
            return;
        };
        if let Some(cells) = self.cells.get_mut(&agent) {
            if let Some(points) = cells.get_mut(&cell) {
                points.retain(|p| p.id != id);
                if points.is_empty() {
                    cells.remove(&cell);
                }
            }
        }
    }

    /// Cabinet ids bound to shop `id`, in id order.
    pub fn cabinets_of(&self, shop: &str) -> impl Iterator<Item = &str> {
        self.by_shop.get(shop).into_iter().flatten().map(CabinetId::as_str)
    }

    /// Whether shop `id` has at least one cabinet.
    pub fn has_cabinets(&self, shop: &str) -> bool {
        self.by_shop.get(shop).is_some_and(|s| !s.is_empty())
    }

    /// Shops of `agent` within `radius_m` of `lat`/`lng` for which `keep` holds, nearest
    /// first (ties by id), at most `limit`, with their distance.
    pub fn near<'a>(
        &'a self,
        agent: &str,
        lat: f64,
        lng: f64,
        radius_m: f64,
        limit: usize,
        keep: impl Fn(&str) -> bool,
    ) -> Vec<(f64, &'a str)> {
        let Some(cells) = self.cells.get(agent) else {
            return Vec::new();
        };
        let mut hits: Vec<(f64, &str)> = Vec::new();
        let bounds = search_bounds(lat, lng, radius_m);
        let mut visit = |points: &'a Vec<Point>| {
            for p in points {
                // A cheap box test first: most points of the cells looked at are outside it.
                if let Some((dlat, dlng)) = bounds {
                    if (p.lat - lat).abs() > dlat || (p.lng - lng).abs() > dlng {
                        continue;
                    }
                }
                let d = geo::distance_m(lat, lng, p.lat, p.lng);
                if d <= radius_m && keep(&p.id) {
                    hits.push((d, p.id.as_str()));
                }
            }
        };
        match search_box(lat, lng, radius_m) {
            Some((y0, y1, x0, x1)) if (y1 - y0 + 1).saturating_mul(x1 - x0 + 1) <= MAX_BOX_CELLS => {
                for y in y0..=y1 {
                    for x in x0..=x1 {
                        if let Some(points) = cells.get(&(y, x)) {
                            visit(points);
                        }
                    }
                }
            }
            // A wide search (or one across a pole or the antimeridian): every cell of the agent.
            _ => cells.values().for_each(visit),
        }
        let order = |a: &(f64, &str), b: &(f64, &str)| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1));
        if hits.len() > limit && limit > 0 {
            // The `limit` nearest, without sorting everything within reach.
            hits.select_nth_unstable_by(limit - 1, order);
            hits.truncate(limit);
        } else if limit == 0 {
            hits.clear();
        }
        hits.sort_unstable_by(order);
        hits
    }
}

impl ShopIndex {
    /// Like [`ShopIndex::near`], for a small `limit` in a dense fleet: rings of cells are
    /// visited outward from the point's cell, and the search stops as soon as no farther cell
    /// can hold a nearer shop, instead of measuring every shop within the radius (a return
    /// at 100,000 cabinets otherwise measures thousands).
    pub fn nearest<'a>(
        &'a self,
        agent: &str,
        lat: f64,
        lng: f64,
        radius_m: f64,
        limit: usize,
        keep: impl Fn(&str) -> bool,
    ) -> Vec<(f64, &'a str)> {
        let Some(cells) = self.cells.get(agent) else {
            return Vec::new();
        };
        // The shortest extent of a cell in metres, at the widest latitude a ring reaches:
        // after ring `r`, everything not yet seen is at least `r` of these away.
        let cos = (lat.abs() + CELL_DEG).min(90.0).to_radians().cos();
        let cell_m = CELL_DEG * M_PER_DEG * cos;
        let rings =
            if lat.abs() > 80.0 || cell_m <= 0.0 { MAX_RINGS + 1 } else { (radius_m / cell_m).ceil() as i64 + 1 };
        if rings > MAX_RINGS || limit == 0 {
            return self.near(agent, lat, lng, radius_m, limit, keep);
        }
        let order = |a: &(f64, &str), b: &(f64, &str)| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1));
        let (cy, cx) = cell_of(lat, lng);
        let mut hits: Vec<(f64, &str)> = Vec::new();
        for r in 0..=rings {
            for y in cy - r..=cy + r {
                // The ring's top and bottom rows in full, its sides as two cells.
                let edge = y == cy - r || y == cy + r;
                let step = if edge || r == 0 { 1 } else { 2 * r };
                let mut x = cx - r;
                while x <= cx + r {
                    for p in cells.get(&(y, x)).into_iter().flatten() {
                        let d = geo::distance_m(lat, lng, p.lat, p.lng);
                        if d <= radius_m && keep(&p.id) {
                            hits.push((d, p.id.as_str()));
                        }
                    }
                    x += step;
                }
            }
            if hits.len() >= limit {
                hits.sort_unstable_by(order);
                hits.truncate(limit);
                if hits.last().is_some_and(|(d, _)| *d < r as f64 * cell_m) {
                    break;
                }
            }
        }
        hits.sort_unstable_by(order);
        hits.truncate(limit);
        hits
    }
}

/// Half the height and width in degrees of a box around `lat`/`lng` holding the circle of
/// `radius_m`, or `None` when its east-west extent cannot be bounded in a simple box (near a
/// pole, across the antimeridian, or wider than the globe).
fn search_bounds(lat: f64, lng: f64, radius_m: f64) -> Option<(f64, f64)> {
    let dlat = radius_m / M_PER_DEG;
    let widest = (lat.abs() + dlat).min(90.0);
    let cos = widest.to_radians().cos();
    if cos < 0.01 {
        return None;
    }
    let dlng = radius_m / (M_PER_DEG * cos);
    if dlng >= 180.0 || lng - dlng < -180.0 || lng + dlng > 180.0 {
        return None;
    }
    Some((dlat, dlng))
}

/// The cells a circle of `radius_m` around `lat`/`lng` can touch, `(y0, y1, x0, x1)`, or
/// `None` when it cannot be bounded in a simple box.
fn search_box(lat: f64, lng: f64, radius_m: f64) -> Option<(i64, i64, i64, i64)> {
    let (dlat, dlng) = search_bounds(lat, lng, radius_m)?;
    let (y0, x0) = cell_of(lat - dlat, lng - dlng);
    let (y1, x1) = cell_of(lat + dlat, lng + dlng);
    Some((y0, y1, x0, x1))
}

/// The cell holding a world's [`ShopIndex`], built on first use.
pub type ShopIndexCell = super::derived::Derived<ShopIndex>;

impl World {
    /// The world's shop and cabinet tables, built now if they are not yet.
    pub fn shop_index(&self) -> &ShopIndex {
        self.shop_index.0.get_or_init(|| ShopIndex::build(self))
    }

    /// The cabinets standing in shop `id`, in id order.
    pub fn cabinets_in_shop<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a super::Cabinet> + 'a {
        self.shop_index().cabinets_of(id).filter_map(|c| self.cabinets.get(c))
    }

    /// The agent's cabinets in id order with their 0-based position among all cabinets, or
    /// `None` when the table does not match the world (then scan instead).
    pub fn agent_cabinets(&self, agent: &str) -> Option<&[(usize, CabinetId)]> {
        let ix = self.shop_index();
        (ix.cabinet_count == self.cabinets.len()).then(|| ix.by_agent.get(agent).map_or(&[][..], Vec::as_slice))
    }

    /// The cabinet an [`Self::agent_cabinets`] entry names: by its rank in the cabinet table
    /// (two loads), checked against its id, which stays the fallback (a look-up by id hashes
    /// the id: 4 % of a device page).
    pub fn listed_cabinet(&self, rank: usize, id: &str) -> Option<&super::Cabinet> {
        match self.cabinets.nth(rank) {
            Some((k, c)) if k.as_str() == id => Some(c),
            _ => self.cabinets.get(id),
        }
    }

    /// Shops of `agent` that have cabinets, within `radius_m` of `lat`/`lng`, nearest first
    /// (ties by id), at most `limit`, with their distance in metres.
    pub fn shops_near(&self, agent: &str, lat: f64, lng: f64, radius_m: f64, limit: usize) -> Vec<(f64, &Shop)> {
        let ix = self.shop_index();
        ix.near(agent, lat, lng, radius_m, limit, |id| ix.has_cabinets(id))
            .into_iter()
            .filter_map(|(d, id)| self.shops.get(id).map(|s| (d, s)))
            .collect()
    }

    /// Cabinets of the same agent within `radius_m` of cabinet `origin`'s shop, without
    /// `origin` itself, nearest first (by shop: distance, then shop id; within a shop by
    /// cabinet id), at most `limit`. Where a simulated customer may return instead.
    pub fn cabinets_near(&self, origin: &str, radius_m: f64, limit: usize) -> Vec<String> {
        let Some(cab) = self.cabinets.get(origin) else {
            return Vec::new();
        };
        let Some(shop) = cab.shop.as_deref().and_then(|s| self.shops.get(s)) else {
            return Vec::new();
        };
        let ix = self.shop_index();
        // One shop more than asked: the origin's own shop may hold only the origin.
        let shops = ix.nearest(&cab.agent, shop.latitude, shop.longitude, radius_m, limit.saturating_add(1), |id| {
            ix.has_cabinets(id)
        });
        shops
            .into_iter()
            .flat_map(|(_, s)| ix.cabinets_of(s))
            .filter(|c| *c != origin)
            .take(limit)
            .map(str::to_string)
            .collect()
    }

    /// Follow shop `id` after it was created, moved or deleted (tables not built yet: nothing
    /// to do, they will be built from the world as it is).
    pub(crate) fn index_shop(&mut self, id: &str) {
        let Some(ix) = self.shop_index.0.get_mut() else {
            return;
        };
        ix.unfile_shop(id);
        match self.shops.get(id) {
            Some(s) => ix.file_shop(s),
            None => {
                ix.by_shop.remove(id);
            }
        }
    }

    /// Follow cabinet `id` after it was bound to a shop or unbound; `before` is the shop it
    /// stood in before.
    pub(crate) fn index_cabinet(&mut self, id: &str, before: Option<&str>) {
        let Some(ix) = self.shop_index.0.get_mut() else {
            return;
        };
        if let Some(old) = before {
            if let Some(set) = ix.by_shop.get_mut(old) {
                set.remove(id);
                if set.is_empty() {
                    ix.by_shop.remove(old);
                }
            }
        }
        if let Some(new) = self.cabinets.get(id).and_then(|c| c.shop.as_deref()) {
            ix.by_shop.entry(new.to_string()).or_default().insert(id.into());
        }
    }

    /// Build the derived tables now (after a load), so the first request does not pay.
    pub fn warm_indexes(&self) {
        self.shop_index();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::generate_fleet;
    use crate::model::shop_admin::ShopDraft;
    use crate::model::{ShopId, SimRng};

    /// The brute-force answer: every shop of the agent with a cabinet, within reach.
    fn brute(w: &World, agent: &str, lat: f64, lng: f64, r: f64, limit: usize) -> Vec<(f64, ShopId)> {
        let mut v: Vec<(f64, ShopId)> = w
            .shops
            .values()
            .filter(|s| s.agent == agent && w.cabinets.values().any(|c| c.shop.as_deref() == Some(s.id.as_str())))
            .map(|s| (geo::distance_m(lat, lng, s.latitude, s.longitude), s.id.clone()))
            .filter(|(d, _)| *d <= r)
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        v.truncate(limit);
        v
    }

    fn assert_consistent(w: &World, rng: &mut SimRng) {
        // The maintained tables equal tables built from scratch...
        assert_eq!(w.shop_index(), &ShopIndex::build(w));
        // ...and answer like a scan, for searches small and wide.
        for _ in 0..20 {
            let lat = 48.81 + 0.1 * rng.unit();
            let lng = 2.25 + 0.17 * rng.unit();
            let r = [19.0, 76.0, 610.0, 2400.0, 30_000.0, 2_500_000.0][rng.below(6) as usize];
            let agent = if rng.chance(0.5) { "demo" } else { "acme" };
            let got: Vec<(f64, ShopId)> =
                w.shops_near(agent, lat, lng, r, 100).into_iter().map(|(d, s)| (d, s.id.clone())).collect();
            assert_eq!(got, brute(w, agent, lat, lng, r, 100), "{agent} {lat},{lng} r={r}");
        }
        for agent in ["demo", "acme", "nobody"] {
            let indexed: Vec<(usize, &str)> =
                w.agent_cabinets(agent).unwrap().iter().map(|(i, id)| (*i, id.as_str())).collect();
            let scanned: Vec<(usize, &str)> = w
                .cabinets
                .values()
                .enumerate()
                .filter(|(_, c)| c.agent == agent)
                .map(|(i, c)| (i, c.id.as_str()))
                .collect();
            assert_eq!(indexed, scanned);
            // Each entry finds its own cabinet, by rank or, with a wrong rank, by id.
            for (i, id) in w.agent_cabinets(agent).unwrap() {
                assert_eq!(w.listed_cabinet(*i, id).map(|c| c.id.as_str()), Some(id.as_str()));
                assert_eq!(w.listed_cabinet(i + 1, id).map(|c| c.id.as_str()), Some(id.as_str()));
            }
        }
        for s in w.shops.values() {
            let indexed: Vec<&str> = w.cabinets_in_shop(&s.id).map(|c| c.id.as_str()).collect();
            let scanned: Vec<&str> = w
                .cabinets
                .values()
                .filter(|c| c.shop.as_deref() == Some(s.id.as_str()))
                .map(|c| c.id.as_str())
                .collect();
            assert_eq!(indexed, scanned, "shop {}", s.id);
        }
    }

    #[test]
    fn the_indexes_follow_random_shop_and_binding_changes() {
        let mut w = generate_fleet(600, 3, 0).world;
        w.warm_indexes();
        let mut rng = SimRng::new(99);
        assert_consistent(&w, &mut rng);
        let cabinets: Vec<CabinetId> = w.cabinets.keys().cloned().collect();
        for step in 0..300 {
            let agent = if rng.chance(0.5) { "demo" } else { "acme" };
            let mine: Vec<ShopId> = w.shops.values().filter(|s| s.agent == agent).map(|s| s.id.clone()).collect();
            match rng.below(5) {
                0 => {
                    let d = ShopDraft {
                        id: format!("t{step}"),
                        name: "Test".into(),
                        latitude: 48.81 + 0.1 * rng.unit(),
                        longitude: 2.25 + 0.17 * rng.unit(),
                        ..ShopDraft::default()
                    };
                    w.create_shop(agent, d, 0).unwrap();
                }
                1 => {
                    let id = mine[rng.below(mine.len() as u64) as usize].clone();
                    let s = &w.shops[id.as_str()];
                    let d = ShopDraft {
                        id: id.to_string(),
                        name: s.name.clone(),
                        latitude: 48.81 + 0.1 * rng.unit(),
                        longitude: 2.25 + 0.17 * rng.unit(),
                        ..ShopDraft::default()
                    };
                    w.update_shop(agent, d).unwrap();
                }
                2 => {
                    let id = mine[rng.below(mine.len() as u64) as usize].clone();
                    // Refused while it has cabinets; either way the tables must still agree.
                    let _ = w.delete_shop(agent, &id);
                }
                3 => {
                    let c = &cabinets[rng.below(cabinets.len() as u64) as usize];
                    let owner = w.cabinets[c].agent.clone();
                    let shops: Vec<ShopId> =
                        w.shops.values().filter(|s| s.agent == owner).map(|s| s.id.clone()).collect();
                    let s = &shops[rng.below(shops.len() as u64) as usize];
                    w.bind_cabinet_to_shop(&owner, c, s).unwrap();
                }
                _ => {
                    let c = cabinets[rng.below(cabinets.len() as u64) as usize].clone();
                    let owner = w.cabinets[c.as_str()].agent.clone();
                    w.unbind_cabinets(&owner, &[c.to_string()]).unwrap();
                }
            }
            if step % 30 == 0 {
                assert_consistent(&w, &mut rng);
            }
        }
        assert_consistent(&w, &mut rng);
        // A copy (a snapshot) starts without tables and builds the same ones.
        let copy = w.clone();
        assert_eq!(copy.shop_index(), w.shop_index());
    }

    #[test]
    fn a_search_box_covers_the_circle_and_gives_up_near_the_poles() {
        assert!(search_box(89.9, 0.0, 30_000.0).is_none());
        assert!(search_box(48.8, 179.99, 5_000.0).is_none());
        let (y0, y1, x0, x1) = search_box(48.86, 2.33, 76.0).unwrap();
        assert!(y1 - y0 <= 1 && x1 - x0 <= 1);
    }
}
