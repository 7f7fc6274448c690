//! `Table`: a map kept in key order that finds a key by hash, for the world's cabinets and
//! shops.
//!
//! Every platform request names a cabinet (O1, the rent flow, C1-C3) and most answers name
//! its shop; a device page names twenty of each. In a `BTreeMap` of 100,000 entries each of
//! those look-ups walks five or six nodes and compares the key with about twenty others (a
//! call to `memcmp` each): about a thousand instructions, a tenth of the cost of a C7 row.
//! Here a look-up hashes the key (FxHash, as the battery table does) and compares it once.
//!
//! What the world needs of these maps besides look-ups stays as a `BTreeMap` gave it:
//! iteration, saving and equality in key order (answers, snapshots and the simulation's walks
//! over the fleet depend on it), range starts for the heartbeat's cursor, later entries
//! winning when a map is read. Entries live in one vector in no particular order (a table
//! read from a snapshot or built by the fleet generator holds them in key order); `order`
//! lists their positions in key order, and `index` finds a position by hash. An insert
//! appends and puts one position into `order`, moving the positions on its shorter side (four
//! bytes each: none for a key after all the others, as a new trade number is); a removal moves
//! the last entry into the freed place, and its position out of `order` the same way.
//!
//! Rejected: a sorted vector alone (an insert would renumber every entry after it in the
//! hash index), and a second key-ordered `BTreeMap` of positions (a third copy of every key).

use hashbrown::hash_table::HashTable;
use rustc_hash::FxHasher;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::collections::VecDeque;
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hash};
use std::ops::{Bound, RangeBounds};

fn hash_of<Q: Hash + ?Sized>(key: &Q) -> u64 {
    BuildHasherDefault::<FxHasher>::default().hash_one(key)
}

/// A map in key order with look-ups by hash (see the module header).
#[derive(Clone)]
pub struct Table<K, V> {
    /// The entries, in no particular order.
    entries: Vec<(K, V)>,
    /// Positions in `entries`, by the hash of their key.
    index: HashTable<u32>,
    /// Positions in `entries`, in key order. A deque: an insert or a removal moves the
    /// positions on its shorter side, so the order book's oldest entries, the ones forgotten
    /// as the simulation runs, go without moving every position after them (a vector moved
    /// 600 KB for each at 150,000 orders).
    order: VecDeque<u32>,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Table { entries: Vec::new(), index: HashTable::new(), order: VecDeque::new() }
    }
}

impl<K: Ord + Hash, V> Table<K, V> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position<Q>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = &self.entries;
        self.index
            .find(hash_of(key), |&i| entries.get(i as usize).is_some_and(|(k, _)| k.borrow() == key))
            .map(|&i| i as usize)
    }

    /// The value of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.position(key).and_then(|i| self.entries.get(i)).map(|(_, v)| v)
    }

    /// The value of `key`, to change.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.position(key).and_then(move |i| self.entries.get_mut(i)).map(|(_, v)| v)
    }

    /// The entry `rank`-th in key order (0-based): two loads where a look-up by key hashes
    /// the key and compares it (a device page already knows each row's rank).
    pub fn nth(&self, rank: usize) -> Option<(&K, &V)> {
        let at = *self.order.get(rank)?;
        self.entries.get(at as usize).map(|(k, v)| (k, v))
    }

    /// Whether `key` has an entry.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.position(key).is_some()
    }

    /// Where in `order` an entry with `key` is, or would go.
    fn rank<Q>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let entries = &self.entries;
        self.order.binary_search_by(|&i| match entries.get(i as usize) {
            Some((k, _)) => k.borrow().cmp(key),
            None => std::cmp::Ordering::Less,
        })
    }

    /// Put `value` under `key`; the value it replaces, if any.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        if let Some(i) = self.position(&key) {
            return self.entries.get_mut(i).map(|(_, v)| std::mem::replace(v, value));
        }
        let at = self.entries.len() as u32;
        let rank = self.rank(&key).unwrap_or_else(|r| r);
        let hash = hash_of(&key);
        self.entries.push((key, value));
        let entries = &self.entries;
        self.index.insert_unique(hash, at, |&i| entries.get(i as usize).map_or(0, |(k, _)| hash_of(k)));
        self.order.insert(rank, at);
        None
    }

    /// Take `key`'s entry out; its value, if it had one.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Ord + ?Sized,
    {
        let at = self.position(key)?;
        let rank = self.rank(key).ok()?;
        self.order.remove(rank);
        if let Ok(found) = self.index.find_entry(hash_of(key), |&i| i as usize == at) {
            found.remove();
        }
        // The last entry moves into the freed place: both its positions follow it (found while
        // they still point at it).
        let last = self.entries.len() - 1;
        if at != last {
            if let Some((moved, _)) = self.entries.get(last) {
                let (hash, rank) = (hash_of(moved), self.rank::<K>(moved));
                if let Some(p) = self.index.find_mut(hash, |&i| i as usize == last) {
                    *p = at as u32;
                }
                if let Some(p) = rank.ok().and_then(|r| self.order.get_mut(r)) {
                    *p = at as u32;
                }
            }
        }
        Some(self.entries.swap_remove(at).1)
    }

    /// Keep only the entries `keep` says yes to, asked in key order.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let mut kept = vec![false; self.entries.len()];
        for &i in &self.order {
            if let Some((k, v)) = self.entries.get_mut(i as usize) {
                kept[i as usize] = keep(k, v);
            }
        }
        if kept.iter().all(|&k| k) {
            return;
        }
        let entries = std::mem::take(&mut self.entries);
        let order: VecDeque<u32> = std::mem::take(&mut self.order);
        let mut slots: Vec<Option<(K, V)>> = entries.into_iter().map(Some).collect();
        let sorted: Vec<(K, V)> = order
            .iter()
            .filter(|&&i| kept.get(i as usize).copied().unwrap_or(false))
            .filter_map(|&i| slots.get_mut(i as usize).and_then(Option::take))
            .collect();
        *self = Self::from_sorted_unique(sorted);
    }

    /// A table of entries already in strictly increasing key order.
    fn from_sorted_unique(entries: Vec<(K, V)>) -> Self {
        let mut index = HashTable::with_capacity(entries.len());
        for (i, (k, _)) in entries.iter().enumerate() {
            index.insert_unique(hash_of(k), i as u32, |&j| entries.get(j as usize).map_or(0, |(k, _)| hash_of(k)));
        }
        let order = (0..entries.len() as u32).collect();
        Table { entries, index, order }
    }

    /// Entries in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter { order: self.order.iter(), entries: &self.entries }
    }

    /// Keys in key order.
    pub fn keys(&self) -> Keys<'_, K, V> {
        self.iter().map(|(k, _)| k)
    }

    /// Values in key order.
    pub fn values(&self) -> Values<'_, K, V> {
        self.iter().map(|(_, v)| v)
    }

    /// Values in key order, to change. (Rare: it lists them first.)
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + '_ {
        let mut slots: Vec<Option<&mut V>> = self.entries.iter_mut().map(|(_, v)| Some(v)).collect();
        let in_order: Vec<&mut V> =
            self.order.iter().filter_map(|&i| slots.get_mut(i as usize).and_then(Option::take)).collect();
        in_order.into_iter()
    }

    /// Entries with keys in `range`, in key order.
    pub fn range<Q, R>(&self, range: R) -> Iter<'_, K, V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        let start = match range.start_bound() {
            Bound::Unbounded => 0,
            Bound::Included(k) => self.rank(k).unwrap_or_else(|r| r),
            Bound::Excluded(k) => self.rank(k).map_or_else(|r| r, |r| r + 1),
        };
        let end = match range.end_bound() {
            Bound::Unbounded => self.order.len(),
            Bound::Included(k) => self.rank(k).map_or_else(|r| r, |r| r + 1),
            Bound::Excluded(k) => self.rank(k).unwrap_or_else(|r| r),
        };
        let len = self.order.len();
        let start = start.min(len);
        Iter { order: self.order.range(start..end.clamp(start, len)), entries: &self.entries }
    }
}

impl<K, Q, V> std::ops::Index<&Q> for Table<K, V>
where
    K: Borrow<Q> + Ord + Hash,
    Q: Hash + Eq + ?Sized,
{
    type Output = V;
    /// The value of `key`; panics when there is none, as a `BTreeMap`'s index does (tests).
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no entry found for key")
    }
}

impl<K: Ord + Hash, V> FromIterator<(K, V)> for Table<K, V> {
    /// Later entries win over earlier ones with the same key, as inserts one by one would.
    /// Entries that come in key order (a saved map, a generated fleet) are sorted in one pass.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut entries: Vec<(K, V)> = iter.into_iter().collect();
        // Stable: of equal keys the last one read stays last, and is the one kept.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut unique: Vec<(K, V)> = Vec::with_capacity(entries.len());
        for e in entries {
            match unique.last_mut() {
                Some(last) if last.0 == e.0 => *last = e,
                _ => unique.push(e),
            }
        }
        Self::from_sorted_unique(unique)
    }
}

impl<K: Ord + Hash, V> Extend<(K, V)> for Table<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Ord + Hash, V> IntoIterator for Table<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    /// Entries in key order.
    fn into_iter(self) -> Self::IntoIter {
        let mut slots: Vec<Option<(K, V)>> = self.entries.into_iter().map(Some).collect();
        let sorted: Vec<(K, V)> =
            self.order.iter().filter_map(|&i| slots.get_mut(i as usize).and_then(Option::take)).collect();
        sorted.into_iter()
    }
}

impl<K: PartialEq + Ord + Hash, V: PartialEq> PartialEq for Table<K, V> {
    /// Equal as maps: the same keys with equal values, whatever order they were put in.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<K: fmt::Debug + Ord + Hash, V: fmt::Debug> fmt::Debug for Table<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Serialize + Ord + Hash, V: Serialize> Serialize for Table<K, V> {
    /// A map in key order, as a `BTreeMap` is saved.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de, K: Deserialize<'de> + Ord + Hash, V: Deserialize<'de>> Deserialize<'de> for Table<K, V> {
    /// A map, read whole and built in one pass (later entries win).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        super::snapshot::InOrder::deserialize(d).map(|e| e.0.into_iter().collect())
    }
}

impl<'a, K: Ord + Hash, V> IntoIterator for &'a Table<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A table's keys in key order.
pub type Keys<'a, K, V> = std::iter::Map<Iter<'a, K, V>, fn((&'a K, &'a V)) -> &'a K>;
/// A table's values in key order.
pub type Values<'a, K, V> = std::iter::Map<Iter<'a, K, V>, fn((&'a K, &'a V)) -> &'a V>;

/// A table's entries in key order.
pub struct Iter<'a, K, V> {
    order: std::collections::vec_deque::Iter<'a, u32>,
    entries: &'a [(K, V)],
}

impl<'a, K, V> Iter<'a, K, V> {
    fn at(&self, i: u32) -> Option<(&'a K, &'a V)> {
        let entries: &'a [(K, V)] = self.entries;
        entries.get(i as usize).map(|(k, v)| (k, v))
    }
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        let i = *self.order.next()?;
        self.at(i)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.order.size_hint()
    }
}

impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let i = *self.order.next_back()?;
        self.at(i)
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeMap;

    /// The table and a `BTreeMap` given the same inserts, removals and retains in random
    /// The order book's pattern: new keys after all others, the oldest removed, so `order`
    /// wraps around its deque; look-ups, walks and ranges stay a `BTreeMap`'s.
    #[test]
    fn a_table_used_as_a_queue_stays_in_key_order() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let mut t: Table<String, u32> = Table::new();
        let mut m: BTreeMap<String, u32> = BTreeMap::new();
        for step in 0..5_000u32 {
            let k = format!("T{step:06}");
            t.insert(k.clone(), step);
            m.insert(k, step);
            // Mostly the oldest goes; now and then one a little later (orders end out of turn).
            while !m.is_empty() && (m.len() > 300 || rng.random_range(0..4u32) == 0) {
                let Some(old) = m.keys().nth(rng.random_range(0..m.len().min(8))).cloned() else { break };
                assert_eq!(t.remove(old.as_str()), m.remove(old.as_str()));
            }
            if step % 97 == 0 {
                assert!(t.iter().eq(m.iter()), "step {step}");
                // Each entry's rank finds it again, and no entry lies past the last.
                assert!((0..m.len()).map(|r| t.nth(r)).eq(m.iter().map(Some)), "step {step}");
                assert_eq!(t.nth(m.len()), None);
                let lo = format!("T{:06}", step.saturating_sub(150));
                let r = (Bound::Included(lo.as_str()), Bound::Unbounded);
                assert!(t.range::<str, _>(r).rev().eq(m.range::<str, _>(r).rev()));
            }
        }
        assert!(m.keys().all(|k| t.get(k.as_str()) == m.get(k.as_str())));
    }

    /// order answer every look-up, walk, range start and save alike.
    #[test]
    fn a_table_behaves_as_a_btreemap_under_random_changes() {
        for seed in 0..40u64 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut t: Table<String, u32> = Table::new();
            let mut m: BTreeMap<String, u32> = BTreeMap::new();
            let key = |rng: &mut rand::rngs::StdRng| format!("K{:03}", rng.random_range(0..200u32));
            for step in 0..600u32 {
                match rng.random_range(0..10u32) {
                    0..=4 => {
                        let k = key(&mut rng);
                        assert_eq!(t.insert(k.clone(), step), m.insert(k, step));
                    }
                    5..=7 => {
                        let k = key(&mut rng);
                        assert_eq!(t.remove(k.as_str()), m.remove(k.as_str()));
                    }
                    8 => {
                        let k = key(&mut rng);
                        if let (Some(a), Some(b)) = (t.get_mut(k.as_str()), m.get_mut(k.as_str())) {
                            *a += 1;
                            *b += 1;
                        }
                    }
                    _ => {
                        let cut = rng.random_range(0..600u32);
                        let mut seen_t = Vec::new();
                        t.retain(|k, v| {
                            seen_t.push(k.clone());
                            *v < cut || *v % 3 == 0
                        });
                        let seen_m: Vec<String> = m.keys().cloned().collect();
                        m.retain(|_, v| *v < cut || *v % 3 == 0);
                        assert_eq!(seen_t, seen_m, "retain asks in key order");
                    }
                }
                assert_eq!(t.len(), m.len());
                let k = key(&mut rng);
                assert_eq!(t.get(k.as_str()), m.get(k.as_str()));
                assert_eq!(t.contains_key(k.as_str()), m.contains_key(k.as_str()));
                let j = key(&mut rng);
                let (lo, hi) = if k <= j { (k.as_str(), j.as_str()) } else { (j.as_str(), k.as_str()) };
                assert!(t
                    .range::<str, _>((Bound::Excluded(lo), Bound::Unbounded))
                    .eq(m.range::<str, _>((Bound::Excluded(lo), Bound::Unbounded))));
                for r in [
                    (Bound::Included(lo), Bound::Excluded(hi)),
                    (Bound::Included(lo), Bound::Included(hi)),
                    (Bound::Excluded(lo), if lo == hi { Bound::Included(hi) } else { Bound::Excluded(hi) }),
                    (Bound::Unbounded, Bound::Excluded(hi)),
                    (Bound::Unbounded, Bound::Included(hi)),
                ] {
                    assert!(t.range::<str, _>(r).eq(m.range::<str, _>(r)), "{r:?}");
                    assert!(t.range::<str, _>(r).rev().eq(m.range::<str, _>(r).rev()), "{r:?}");
                }
            }
            assert!(t.iter().eq(m.iter()), "seed {seed}");
            assert!(t.values().rev().eq(m.values().rev()));
            assert!(t.values_mut().map(|v| *v).eq(m.values().copied()));
            assert_eq!(serde_json::to_string(&t).unwrap(), serde_json::to_string(&m).unwrap());
            let back: Table<String, u32> = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
            assert!(back == t);
            assert!(t.clone().into_iter().eq(m.clone().into_iter()));
            // Every key is found where the index says.
            for (k, v) in &m {
                assert_eq!(t.get(k.as_str()), Some(v));
            }
        }
    }

    #[test]
    fn equal_tables_are_equal_whatever_order_they_were_filled_in_and_later_entries_win() {
        let a: Table<String, u32> =
            [("b", 2), ("a", 1), ("c", 3)].map(|(k, v)| (k.to_string(), v)).into_iter().collect();
        let mut b: Table<String, u32> = Table::new();
        for (k, v) in [("c", 3), ("a", 1), ("b", 9)] {
            b.insert(k.to_string(), v);
        }
        assert!(a != b);
        b.insert("b".into(), 2);
        assert!(a == b);
        let dup: Table<String, u32> = serde_json::from_str(r#"{"x":1,"y":2,"x":3}"#).unwrap();
        assert_eq!(dup.get("x"), Some(&3));
        assert_eq!(dup.len(), 2);
        assert_eq!(serde_json::to_string(&dup).unwrap(), r#"{"x":3,"y":2}"#);
    }
}
