//! The battery table: every battery of the world, looked up by id.
//!
//! A 100,000-cabinet fleet has about 1.5 million batteries, and O1, O6, lists and every
//! simulation step look them up one by one, so the table is built for size and look-up speed:
//!
//! - The batteries sit in one dense `Vec`, and a hash table of `u32` positions finds them by
//!   id. A `HashMap<BatteryId, Battery>` stored each id twice (key and `Battery::id`) in
//!   2^21 buckets of 128 bytes, about a third of them empty (270 MB at 1.5 million); here the
//!   batteries take 104 bytes each, only as many as there are, and the index 5 bytes a bucket
//!   (about 170 MB together).
//! - The hasher is FxHash (`rustc-hash`): the ids are the simulator's own (a fleet's, a
//!   fixture's, a snapshot's), not keys an attacker picks to collide, so SipHash's flood
//!   resistance buys nothing and costs a few times more per short id; it has no random seed, so
//!   a run does not depend on the process.
//! - A `BTreeMap` (the other tables' choice) was rejected: each of its look-ups walks ~8 nodes
//!   at this size.
//!
//! Nothing in the simulation depends on the iteration order (the few walks over every battery
//! count, check or sort); snapshots write the batteries as a map in id order, the format an
//! ordered map of id to battery had.

use super::battery::Battery;
use super::id::BatteryId;
use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use rustc_hash::FxHasher;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::atomic::{AtomicU32, Ordering};

/// Where a slot's battery last sat in the table: a guess that spares a hash look-up.
///
/// O1, list rows and the simulation look up every docked battery of a cabinet; over a large
/// fleet each hash look-up is two or three cache misses (the index, then the battery), most of
/// a fresh O1 answer's own cost. A slot remembers the position its battery was found at, and a
/// look-up through the slot checks that position first ([`Batteries::get_hinted`]). The guess
/// is never trusted: the battery there must carry the id asked for, else the hash look-up runs
/// and the guess is corrected. So a stale guess (the battery moved on a removal, another
/// battery was docked) costs one compare, and nothing else has to keep guesses up to date.
///
/// It is an atomic so that readers under the shared lock can correct it (relaxed: any value
/// is as good as another, correctness comes from the id check). Not saved, not compared:
/// two slots with different guesses are the same slot.
#[derive(Default)]
pub struct PositionHint(AtomicU32);

impl PositionHint {
    fn get(&self) -> usize {
        // Zero for a fresh hint: position 0 is as good a first guess as any.
        self.0.load(Ordering::Relaxed) as usize
    }

    fn set(&self, at: usize) {
        self.0.store(u32::try_from(at).unwrap_or(u32::MAX), Ordering::Relaxed);
    }
}

/// Whether two ids are the same bytes: ids of 8 to 16 bytes (every generated battery id) as
/// two 8-byte words each, without a call to `memcmp`. A device page checks some 300 guesses
/// (`get_hinted`); the call, and the registers the inlined look-up saved around it, were 8 %
/// of the page's instructions.
fn same_id(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    if (8..=16).contains(&n) {
        // The first and the last eight bytes: together they cover all of them (overlapping
        // below 16).
        let word = |s: &[u8], at: usize| s.get(at..at + 8).and_then(|w| w.try_into().ok()).map(u64::from_ne_bytes);
        return word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8);
    }
    a == b
}

impl Clone for PositionHint {
    fn clone(&self) -> Self {
        PositionHint(AtomicU32::new(self.0.load(Ordering::Relaxed)))
    }
}

impl PartialEq for PositionHint {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for PositionHint {}

impl fmt::Debug for PositionHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("_")
    }
}

/// Batteries by id (see the module comment for the layout).
#[derive(Clone, Default)]
pub struct Batteries {
    /// The batteries, in no particular order.
    all: Vec<Battery>,
    /// Positions in `all`, hashed by the id of the battery there.
    index: HashTable<u32>,
    /// Keys of a loaded snapshot that differed from the id of the battery saved under them
    /// (the battery is filed under its own id); `/_sim/check` and snapshot checks name them.
    mismatched: Vec<String>,
}

fn hash_of(id: &str) -> u64 {
    BuildHasherDefault::<FxHasher>::default().hash_one(id)
}

impl Batteries {
    /// An empty table with room for `n` batteries.
    pub fn with_capacity(n: usize) -> Self {
        Batteries { all: Vec::with_capacity(n), index: HashTable::with_capacity(n), mismatched: Vec::new() }
    }

    /// Number of batteries.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Room for batteries without growing.
    pub fn capacity(&self) -> usize {
        self.all.capacity()
    }

    /// Forget every battery.
    pub fn clear(&mut self) {
        self.all.clear();
        self.index.clear();
        self.mismatched.clear();
    }

    fn position(&self, id: &str) -> Option<usize> {
        let all = &self.all;
        self.index.find(hash_of(id), |&i| all.get(i as usize).is_some_and(|b| b.id == id)).map(|&i| i as usize)
    }

    /// The battery with this id.
    pub fn get(&self, id: &str) -> Option<&Battery> {
        self.position(id).and_then(|i| self.all.get(i))
    }

    /// The battery with this id, trying the position `hint` remembers first and remembering
    /// where it was found (see [`PositionHint`]).
    pub fn get_hinted(&self, id: &str, hint: &PositionHint) -> Option<&Battery> {
        if let Some(b) = self.all.get(hint.get()) {
            if same_id(b.id.as_bytes(), id.as_bytes()) {
                return Some(b);
            }
        }
        self.get_and_hint(id, hint)
    }

    /// Load the batteries a walk is about to visit, each at the position its hint remembers
    /// (unchecked: a wrong guess only loads a line for nothing). The walk's own loop works out
    /// a charge per battery between its loads, so the processor waited for one battery's
    /// memory at a time; a loop that only loads lets it wait for all of them at once.
    pub fn touch_hinted<'a>(&self, hints: impl Iterator<Item = &'a PositionHint>) {
        let mut seen = 0i64;
        for h in hints {
            if let Some(b) = self.all.get(h.get()) {
                // The two fields the walk reads first: the id it compares and the time its
                // charge counts from (a battery may lie across two cache lines).
                seen ^= b.since ^ i64::from(b.id.as_bytes().first().copied().unwrap_or(0));
            }
        }
        std::hint::black_box(seen);
    }

    /// The hash look-up behind a wrong guess, out of line: inlined, its registers were saved
    /// and restored on every call, the right guesses' too.
    #[inline(never)]
    fn get_and_hint(&self, id: &str, hint: &PositionHint) -> Option<&Battery> {
        let at = self.position(id)?;
        hint.set(at);
        self.all.get(at)
    }

    /// The battery with this id, to change. Its `id` must not be changed (the table files it
    /// under that id); remove and insert it again instead.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Battery> {
        self.position(id).and_then(move |i| self.all.get_mut(i))
    }

    /// Whether a battery has this id.
    pub fn contains_key(&self, id: &str) -> bool {
        self.position(id).is_some()
    }

    /// Make room for `n` more batteries (a fleet generator knows about how many).
    pub fn reserve(&mut self, n: usize) {
        self.all.reserve(n);
        let all = &self.all;
        self.index.reserve(n, |&i| all.get(i as usize).map_or(0, |b| hash_of(&b.id)));
    }

    /// File `battery` under its id; returns the battery it replaces, if any.
    pub fn insert(&mut self, battery: Battery) -> Option<Battery> {
        let at = u32::try_from(self.all.len()).unwrap_or(u32::MAX);
        let all = &self.all;
        // One probe finds either the battery to replace or the free place for the new one.
        let entry = self.index.entry(
            hash_of(&battery.id),
            |&i| all.get(i as usize).is_some_and(|b| b.id == battery.id),
            |&i| all.get(i as usize).map_or(0, |b| hash_of(&b.id)),
        );
        match entry {
            Entry::Occupied(e) => {
                let i = *e.get() as usize;
                self.all.get_mut(i).map(|old| std::mem::replace(old, battery))
            }
            Entry::Vacant(v) => {
                v.insert(at);
                self.all.push(battery);
                None
            }
        }
    }

    /// Take the battery with this id out of the table.
    pub fn remove(&mut self, id: &str) -> Option<Battery> {
        let i = self.position(id)?;
        let last = self.all.len() - 1;
        if let Ok(e) = self.index.find_entry(hash_of(id), |&j| j as usize == i) {
            e.remove();
        }
        if i != last {
            // The last battery moves into the gap: point its index entry at the new place.
            let moved = hash_of(&self.all[last].id);
            if let Some(p) = self.index.find_mut(moved, |&j| j as usize == last) {
                *p = i as u32;
            }
        }
        Some(self.all.swap_remove(i))
    }

    /// A table of `all` (later batteries replace earlier ones with the same id, as
    /// [`Self::insert`] one by one would), with the mismatched keys of a loaded snapshot.
    ///
    /// The index is built in one pass at its final size once every battery is read: filing
    /// each battery while reading grew the hash table (rehashing all of it) a dozen times at
    /// 1.5 million batteries, and the vector of batteries with it.
    pub fn from_vec(mut all: Vec<Battery>, mismatched: Vec<String>) -> Batteries {
        all.shrink_to_fit();
        let mut t = Batteries { all, index: HashTable::new(), mismatched };
        if !t.reindex_unique() {
            // The same id twice (only a hand-edited snapshot does that): file them one by one.
            let all = std::mem::take(&mut t.all);
            t.index.clear();
            for b in all {
                t.insert(b);
            }
        }
        t
    }

    /// Build the index from scratch; false (index incomplete) when two batteries share an id.
    fn reindex_unique(&mut self) -> bool {
        self.index.clear();
        self.index.reserve(self.all.len(), |_| 0);
        let all = &self.all;
        for (i, b) in all.iter().enumerate() {
            let entry = self.index.entry(
                hash_of(&b.id),
                |&j| all.get(j as usize).is_some_and(|o| o.id == b.id),
                |&j| all.get(j as usize).map_or(0, |o| hash_of(&o.id)),
            );
            match entry {
                Entry::Occupied(_) => return false,
                Entry::Vacant(v) => {
                    v.insert(i as u32);
                }
            }
        }
        true
    }

    /// Keep only the batteries `keep` says yes to.
    pub fn retain(&mut self, keep: impl FnMut(&Battery) -> bool) {
        let mut keep = keep;
        self.all.retain(|b| keep(b));
        self.reindex();
    }

    fn reindex(&mut self) {
        self.index.clear();
        self.index.reserve(self.all.len(), |_| 0);
        let all = &self.all;
        for (i, b) in all.iter().enumerate() {
            self.index.insert_unique(hash_of(&b.id), i as u32, |&j| all.get(j as usize).map_or(0, |b| hash_of(&b.id)));
        }
    }

    /// Every battery, in no particular order.
    pub fn values(&self) -> std::slice::Iter<'_, Battery> {
        self.all.iter()
    }

    /// Every battery, to change (ids must not be changed), in no particular order.
    pub fn values_mut(&mut self) -> std::slice::IterMut<'_, Battery> {
        self.all.iter_mut()
    }

    /// Every battery with its id, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&BatteryId, &Battery)> {
        self.all.iter().map(|b| (&b.id, b))
    }

    /// Every id, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &BatteryId> {
        self.all.iter().map(|b| &b.id)
    }

    /// Keys of the loaded snapshot that did not match the id of their battery.
    pub fn mismatched_keys(&self) -> &[String] {
        &self.mismatched
    }
}

impl<'a> IntoIterator for &'a Batteries {
    type Item = (&'a BatteryId, &'a Battery);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, Battery>, fn(&'a Battery) -> (&'a BatteryId, &'a Battery)>;
    fn into_iter(self) -> Self::IntoIter {
        self.all.iter().map(|b| (&b.id, b))
    }
}

impl IntoIterator for Batteries {
    type Item = (BatteryId, Battery);
    type IntoIter = std::iter::Map<std::vec::IntoIter<Battery>, fn(Battery) -> (BatteryId, Battery)>;
    fn into_iter(self) -> Self::IntoIter {
        self.all.into_iter().map(|b| (b.id.clone(), b))
    }
}

impl FromIterator<Battery> for Batteries {
    fn from_iter<I: IntoIterator<Item = Battery>>(iter: I) -> Self {
        let mut t = Batteries::default();
        for b in iter {
            t.insert(b);
        }
        t
    }
}

impl std::ops::Index<&str> for Batteries {
    type Output = Battery;
    /// The battery with this id; panics when there is none (tests and checked callers only).
    fn index(&self, id: &str) -> &Battery {
        match self.get(id) {
            Some(b) => b,
            None => panic!("no battery {id}"),
        }
    }
}

/// Equal when they hold the same batteries, whatever the order.
impl PartialEq for Batteries {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.all.iter().all(|b| other.get(&b.id) == Some(b))
    }
}

impl fmt::Debug for Batteries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A map of id to battery, in id order.
impl Serialize for Batteries {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut sorted: Vec<&Battery> = self.all.iter().collect();
        sorted.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        s.collect_map(sorted.into_iter().map(|b| (&b.id, b)))
    }
}

impl<'de> Deserialize<'de> for Batteries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Map;
        impl<'de> Visitor<'de> for Map {
            type Value = Batteries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of battery id to battery")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Batteries, A::Error> {
                let mut all = Vec::with_capacity(m.size_hint().unwrap_or(0));
                let mut mismatched = Vec::new();
                while let Some((key, b)) = m.next_entry::<BatteryId, Battery>()? {
                    if key != b.id {
                        mismatched.push(key.to_string());
                    }
                    all.push(b);
                }
                Ok(Batteries::from_vec(all, mismatched))
            }
        }
        d.deserialize_map(Map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BatteryPlace;

    #[test]
    fn ids_compare_word_by_word_as_byte_by_byte() {
        let ids: Vec<Vec<u8>> = (0..=20)
            .flat_map(|n| {
                let base: Vec<u8> = (0..n).map(|i| b'A' + i as u8).collect();
                // The same, and one byte changed at each place (first and last words included).
                let mut v = vec![base.clone()];
                for at in 0..n {
                    let mut c = base.clone();
                    c[at] ^= 1;
                    v.push(c);
                }
                v
            })
            .collect();
        for a in &ids {
            for b in &ids {
                assert_eq!(same_id(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    fn battery(id: &str) -> Battery {
        Battery {
            id: id.into(),
            agent: "a".into(),
            place: BatteryPlace::Loose,
            level: 50.0,
            since: 0,
            fault: Default::default(),
            charge_paused: false,
        }
    }

    #[test]
    fn insert_get_remove_and_retain_keep_the_index_right() {
        let mut t = Batteries::default();
        let ids: Vec<String> = (0..500).map(|i| format!("{:010X}", i * 7919)).collect();
        for id in &ids {
            assert!(t.insert(battery(id)).is_none());
        }
        assert_eq!(t.len(), 500);
        let mut again = battery(&ids[3]);
        again.level = 7.0;
        assert_eq!(t.insert(again).map(|b| b.level), Some(50.0));
        assert_eq!(t.len(), 500);
        assert_eq!(t[ids[3].as_str()].level, 7.0);
        // Removing from the middle moves the last battery; both stay reachable.
        for id in ids.iter().step_by(3) {
            assert_eq!(t.remove(id).map(|b| b.id.to_string()), Some(id.clone()));
            assert!(t.get(id).is_none());
        }
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(t.contains_key(id), i % 3 != 0, "{id}");
        }
        t.retain(|b| b.id.ends_with('1'));
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(t.get(id).is_some(), i % 3 != 0 && id.ends_with('1'), "{id}");
        }
        assert!(t.remove("nothing").is_none());
    }

    #[test]
    fn saved_in_id_order_and_mismatched_keys_are_kept_for_the_checks() {
        let t: Batteries = ["C", "A", "B"].into_iter().map(battery).collect();
        let text = serde_json::to_string(&t).unwrap();
        assert!(text.starts_with("{\"A\":{\"id\":\"A\""), "{text}");
        let back: Batteries = serde_json::from_str(&text).unwrap();
        assert_eq!(back, t);
        assert!(back.mismatched_keys().is_empty());
        let odd: Batteries = serde_json::from_str(&text.replacen("{\"A\":", "{\"X\":", 1)).unwrap();
        assert_eq!(odd.mismatched_keys(), ["X"]);
        assert!(odd.get("A").is_some());
    }

    #[test]
    fn a_table_read_whole_keeps_the_last_of_two_batteries_with_one_id() {
        let mut later = battery("B");
        later.level = 9.0;
        let t = Batteries::from_vec(vec![battery("A"), battery("B"), battery("C"), later], Vec::new());
        assert_eq!(t.len(), 3);
        assert_eq!(t["B"].level, 9.0);
        assert!(t.get("A").is_some() && t.get("C").is_some());
        let text = r#"{"A":{"id":"A","agent":"a","place":{"kind":"loose"},"level":1.0,"since":0,"fault":0},
                       "A":{"id":"A","agent":"a","place":{"kind":"loose"},"level":2.0,"since":0,"fault":0}}"#;
        let read: Batteries = serde_json::from_str(text).unwrap();
        assert_eq!((read.len(), read["A"].level), (1, 2.0));
    }
}
