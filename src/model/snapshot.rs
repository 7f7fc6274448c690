//! The snapshot format of `/_sim/state` and `--state-file`: the whole world plus the virtual
//! time it was taken at, and the checks a snapshot must pass before it replaces the world.

use super::battery::BatteryPlace;
use super::cabinet::Cabinet;
use super::id::CabinetId;
use super::order::OrderStatus;
use super::world::World;
use crate::clock::Millis;
use serde::{Deserialize, Serialize};

mod stream;
pub use stream::{read, ReadError};

/// The format tag written into every snapshot.
pub const SNAPSHOT_FORMAT: &str = "bajie-sim/1";

/// A saved world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a snapshot object (`format`, `now`, `world`)")]
pub struct Snapshot {
    /// Always [`SNAPSHOT_FORMAT`].
    pub format: String,
    /// Virtual time the snapshot was taken at (ms since the epoch); restoring sets the clock.
    pub now: Millis,
    /// The same time as `YYYY-MM-DD HH:mm:ss`, for people reading the file.
    #[serde(default)]
    pub time: String,
    /// The seed the simulator was started with (informational: the generator's state is in
    /// the world).
    #[serde(default)]
    pub seed: u64,
    /// Everything else.
    pub world: World,
}

impl Snapshot {
    /// Every reason this snapshot must not replace the world; empty when it may.
    pub fn problems(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.format != SNAPSHOT_FORMAT {
            v.push(format!("format is '{}', expected '{SNAPSHOT_FORMAT}'", self.format));
        }
        if !(0..=253_402_300_799_000).contains(&self.now) {
            v.push(format!("now {} is not a time between 1970 and 9999", self.now));
        }
        v.extend(self.world.sanity());
        v
    }
}

/// A map's entries in the order they came (later duplicates included): what a saved map is
/// read into before its table is built in one pass (`Table`), and what the
/// streamed reader's workers parse each batch into.
pub(crate) struct InOrder<K, V>(pub Vec<(K, V)>);

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for InOrder<K, V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<K, V>(std::marker::PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<K, V> {
            type Value = InOrder<K, V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<InOrder<K, V>, A::Error> {
                let mut all = Vec::with_capacity(m.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(entry) = m.next_entry()? {
                    all.push(entry);
                }
                Ok(InOrder(all))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

impl World {
    /// The invariants of [`World::check`] plus the basic sanity an imported world needs: its
    /// records point at agents that exist, values are in range, rules and rates can run.
    ///
    /// The invariant check runs on a second thread meanwhile: a restore at 100,000 cabinets
    /// spent about 1.7 s in it and as long again in the rest.
    pub fn sanity(&self) -> Vec<String> {
        std::thread::scope(|s| {
            let check = s.spawn(|| if self.consistent_at_a_glance() { Vec::new() } else { self.check() });
            let rest = self.sanity_beyond_check();
            let mut v = check.join().unwrap_or_else(|_| vec!["the invariant check failed".into()]);
            v.extend(rest);
            v
        })
    }

    /// True only when [`World::check`] would find nothing, at a fraction of its cost; false
    /// when it might find something (the full check then names it).
    ///
    /// The full check follows every pointer both ways: each slot's battery back to the slot,
    /// and each battery's slot (a cabinet looked up by id in an ordered map, 1.5 million
    /// times at 100,000 cabinets) back to the battery. Counting replaces the second way: when
    /// every cabinet is filed under its own id, two slots cannot both be the place one
    /// battery names, so if every occupied slot's battery names that slot and there are as
    /// many batteries naming a slot as occupied slots, every battery naming a slot is in it.
    /// The same holds for orders in lease and rented batteries.
    fn consistent_at_a_glance(&self) -> bool {
        // The slots are looked at in two halves at once: each look is a walk to a random
        // place in the battery table, so the time goes in waiting for memory, and two
        // threads wait at once.
        let all = &self.cabinets;
        let middle = all.keys().nth(all.len() / 2).cloned();
        let (first, second) = match &middle {
            Some(m) => (all.range::<CabinetId, _>(..m), all.range::<CabinetId, _>(m..)),
            None => (all.range::<CabinetId, _>(..), all.range::<CabinetId, _>(..)),
        };
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| self.slots_held(first));
            let b = if middle.is_some() { self.slots_held(second) } else { Some(0) };
            (a.join().unwrap_or(None), b)
        });
        let (Some(a), Some(b)) = (a, b) else {
            return false;
        };
        let slots_held = a + b;
        let mut leases = 0usize;
        for (k, o) in &self.orders {
            if o.status != OrderStatus::InLease {
                continue;
            }
            if *k != o.trade_no {
                return false;
            }
            match o.battery.as_deref().and_then(|b| self.batteries.get(b)).map(|b| &b.place) {
                Some(BatteryPlace::Rented { order }) if *order == o.trade_no => leases += 1,
                _ => return false,
            }
        }
        let (mut in_slots, mut rented) = (0usize, 0usize);
        for b in self.batteries.values() {
            match b.place {
                BatteryPlace::Slot { .. } => in_slots += 1,
                BatteryPlace::Rented { .. } => rented += 1,
                BatteryPlace::Loose => {}
            }
            if !(0.0..=100.0).contains(&b.level) {
                return false;
            }
        }
        in_slots == slots_held && rented == leases
    }

    /// The occupied slots of `cabinets`, each holding a battery that names it; `None` when
    /// one does not (or a cabinet breaks another rule of the check).
    fn slots_held<'a>(&self, cabinets: impl Iterator<Item = (&'a CabinetId, &'a Cabinet)>) -> Option<usize> {
        let mut held = 0usize;
        for (k, c) in cabinets {
            if *k != c.id || !self.agents.contains_key(c.agent.as_str()) {
                return None;
            }
            if let Some(s) = c.shop.as_deref() {
                if self.shops.get(s).is_none_or(|s| s.agent != c.agent) {
                    return None;
                }
            }
            for (i, s) in c.slots.iter().enumerate() {
                let Some(b) = s.battery.as_deref() else {
                    continue;
                };
                match self.batteries.get(b).map(|b| &b.place) {
                    Some(BatteryPlace::Slot { cabinet, slot }) if *cabinet == c.id && *slot as usize == i + 1 => {
                        held += 1;
                    }
                    _ => return None,
                }
            }
        }
        Some(held)
    }

    /// The part of [`Self::sanity`] that is not [`World::check`].
    fn sanity_beyond_check(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.agents.is_empty() {
            v.push("the world needs at least one agent".into());
        }
        for (k, a) in &self.agents {
            if *k != a.account || a.account.trim().is_empty() || a.password.is_empty() {
                v.push(format!("agent '{k}' has a mismatched or empty account, or an empty password"));
            }
        }
        for (k, c) in &self.cabinets {
            if *k != c.id || c.slots.is_empty() || c.slots.len() > 96 {
                v.push(format!("cabinet '{k}' has a mismatched id or a slot count outside 1..96"));
            }
        }
        // The table files every battery under its own id; a key that differed was noted.
        for k in self.batteries.mismatched_keys() {
            v.push(format!("battery '{k}' has a mismatched id or an unknown agent"));
        }
        for (k, b) in &self.batteries {
            if !self.agents.contains_key(b.agent.as_str()) {
                v.push(format!("battery '{k}' has a mismatched id or an unknown agent"));
            }
        }
        for (k, s) in &self.shops {
            if *k != s.id || !self.agents.contains_key(&s.agent) {
                v.push(format!("shop '{k}' has a mismatched id or an unknown agent"));
            }
        }
        for (k, p) in &self.strategies {
            if *k != p.id || !self.agents.contains_key(&p.agent) {
                v.push(format!("price strategy {k} has a mismatched id or an unknown agent"));
            }
        }
        for (k, o) in &self.orders {
            if *k != o.trade_no || !self.agents.contains_key(o.agent.as_str()) {
                v.push(format!("order '{k}' has a mismatched trade number or an unknown agent"));
            }
        }
        for (t, a) in &self.tokens {
            if !self.agents.contains_key(a.account.as_str()) {
                let a = &a.account;
                v.push(format!("token {}… belongs to unknown agent {a}", t.chars().take(6).collect::<String>()));
            }
        }
        if self.settings.min_rent_vol > 100 || self.settings.eject_delay_ms < 0 || self.settings.restart_ms < 0 {
            v.push("settings: minRentVol must be 0..100, ejectDelayMs and restartMs not negative".into());
        }
        v.extend(self.sim.settings.problems().into_iter().map(|p| format!("sim settings: {p}")));
        v.extend(self.faults.problems());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{load, DEFAULT_FIXTURES};
    use crate::model::id::{BatteryId, CabinetId};
    use crate::model::{Order, OrderOrigin};

    #[test]
    fn a_world_round_trips_through_json_and_a_broken_one_is_named() {
        let w = load(DEFAULT_FIXTURES, 5, 0).unwrap().world;
        let snap = Snapshot { format: SNAPSHOT_FORMAT.into(), now: 0, time: String::new(), seed: 5, world: w };
        assert!(snap.problems().is_empty(), "{:?}", snap.problems());
        let text = serde_json::to_string(&snap).unwrap();
        let back: Snapshot = serde_json::from_str(&text).unwrap();
        assert_eq!(back, snap);
        assert_eq!(serde_json::to_string(&back).unwrap(), text);

        let mut bad = back;
        let id = bad.world.cabinets["BJD60151"].slots[0].battery.clone().unwrap();
        bad.world.cabinets.get_mut("BJD60152").unwrap().slots[0].battery = Some(id);
        assert!(bad.problems().iter().any(|p| p.contains("two places") || p.contains("believes")));
    }

    /// A generated fleet after four simulated hours: orders in lease, returned ones, and
    /// batteries in every kind of place.
    fn lived_in_fleet() -> World {
        let t0 = crate::clock::parse_datetime(crate::config::TEST_START).unwrap();
        let mut w = crate::fixtures::generate_fleet(200, 4, t0).world;
        crate::sim::step(&mut w, t0, &mut Vec::new());
        crate::sim::step(&mut w, t0 + 4 * 3_600_000, &mut Vec::new());
        assert!(w.orders.values().any(|o| o.status == OrderStatus::InLease));
        // Two batteries taken out of their slots for repair.
        for nth in [10, 20] {
            let (c, b, slot) = docked(&w, nth);
            w.cabinets.get_mut(&c).unwrap().slots[slot - 1].battery = None;
            w.batteries.get_mut(&b).unwrap().place = BatteryPlace::Loose;
        }
        assert!(w.check().is_empty(), "{:?}", w.check());
        w
    }

    /// An order in lease.
    fn in_lease(w: &World) -> Order {
        w.orders.values().find(|o| o.status == OrderStatus::InLease).unwrap().clone()
    }

    /// The id of a cabinet holding a battery, that battery, and its slot (1-based).
    fn docked(w: &World, nth: usize) -> (CabinetId, BatteryId, usize) {
        w.cabinets
            .values()
            .flat_map(|c| c.slots.iter().enumerate().map(move |(i, s)| (c, i, s)))
            .filter_map(|(c, i, s)| s.battery.clone().map(|b| (c.id.clone(), b, i + 1)))
            .nth(nth)
            .unwrap()
    }

    #[test]
    fn the_quick_look_passes_no_world_the_full_check_refuses() {
        let w = lived_in_fleet();
        assert!(w.consistent_at_a_glance());
        type Breakage = (&'static str, fn(&mut World));
        let breakages: Vec<Breakage> = vec![
            ("a battery in two slots", |w| {
                let (_, b, _) = docked(w, 0);
                let c = w.cabinets.values_mut().rev().find(|c| c.slots.iter().any(|s| s.battery.is_none())).unwrap();
                c.slots.iter_mut().find(|s| s.battery.is_none()).unwrap().battery = Some(b);
            }),
            ("a battery naming an empty slot", |w| {
                let (c, b, slot) = docked(w, 5);
                w.cabinets.get_mut(&c).unwrap().slots[slot - 1].battery = None;
                assert!(matches!(w.batteries[b.as_str()].place, BatteryPlace::Slot { .. }));
            }),
            ("a loose battery made to name an occupied slot", |w| {
                let (c, _, slot) = docked(w, 7);
                let b = w.batteries.values_mut().find(|b| b.place == BatteryPlace::Loose).unwrap();
                b.place = BatteryPlace::Slot { cabinet: c, slot: slot as u16 };
            }),
            ("a loose battery made to name a lease", |w| {
                let o = in_lease(w);
                let b = w.batteries.values_mut().find(|b| b.place == BatteryPlace::Loose).unwrap();
                b.place = BatteryPlace::Rented { order: o.trade_no.as_str().into() };
            }),
            ("a lease ended under its battery", |w| {
                let o = in_lease(w);
                w.orders.get_mut(&o.trade_no).unwrap().status = OrderStatus::Returned;
            }),
            ("a lease without its battery", |w| {
                let o = in_lease(w);
                w.orders.get_mut(&o.trade_no).unwrap().battery = None;
            }),
            ("a charge out of range", |w| {
                let (_, b, _) = docked(w, 3);
                w.batteries.get_mut(&b).unwrap().level = 150.0;
            }),
            ("a cabinet of an unknown agent", |w| {
                w.cabinets.values_mut().next().unwrap().agent = "nobody".into();
            }),
        ];
        for (name, breaks) in breakages {
            let mut b = w.clone();
            breaks(&mut b);
            assert!(!b.check().is_empty(), "{name}: not a broken world");
            assert!(!b.consistent_at_a_glance(), "{name}: passed the quick look");
            assert!(!b.sanity().is_empty(), "{name}");
        }
        // A cabinet filed twice under two keys passes the full check (each copy agrees with
        // its batteries); the quick look does not vouch for it and the sanity names it.
        let mut twice = w.clone();
        let c = twice.cabinets.values().next().unwrap().clone();
        twice.cabinets.insert("ZZZ99999".into(), c);
        assert!(!twice.consistent_at_a_glance());
        assert!(twice.sanity().iter().any(|p| p.contains("ZZZ99999")), "{:?}", twice.sanity());
    }

    /// A world with something in every field a snapshot carries: batteries in every kind of
    /// place, paused and faulty ones, locked and faulty slots with a reason full of escapes,
    /// advertising, a POS terminal, orders in every state the simulation reaches plus a
    /// pending one with its scheduled eject, tokens, push configuration, fault rules, a
    /// shard, the simulation's schedule and counters.
    fn odd_world() -> World {
        let mut w = lived_in_fleet();
        let t = w.sim.queue.iter().next().map_or(0, |(t, _)| *t);
        let cab = w.cabinets.keys().nth(3).unwrap().clone();
        w.create_order(
            "demo",
            &cab,
            Some("http://127.0.0.1:9/cb?a=1&b=\"2\"".into()),
            OrderOrigin::OpenApi,
            t,
            &mut Vec::new(),
        )
        .or_else(|_| w.create_order("acme", &cab, None, OrderOrigin::Admin, t, &mut Vec::new()))
        .unwrap();
        let (c, b, slot) = docked(&w, 30);
        let cabinet = w.cabinets.get_mut(&c).unwrap();
        cabinet.slots[slot - 1].locked = true;
        cabinet.slots[slot - 1].lock_reason = "repair \"now\" \\ é 😀\n\u{1}".into();
        cabinet.slots.last_mut().unwrap().fault = crate::model::fault_types::SlotFault::NoSuchId;
        cabinet.ads = Some(Box::new(super::super::cabinet::Ads {
            ad_config_list: vec![serde_json::json!({"url": "http://x/é", "n": [1, 2.5, null, -0.0, 1e300], "z": {}})],
            is_restart: true,
            update_time: "2026-03-02 09:00:00".into(),
        }));
        cabinet.pos_device_id = "POS-1".into();
        cabinet.remark = "tab\there".into();
        cabinet.shop = None;
        let battery = w.batteries.get_mut(&b).unwrap();
        battery.charge_paused = true;
        battery.fault = crate::model::fault_types::BatteryFault::CannotCharge;
        battery.level = 100.0 / 3.0;
        w.issue_token("demo", t, Default::default()).unwrap();
        let push =
            super::super::event::PushConfig { push_url: "http://127.0.0.1:9/p".into(), event_subscriptions: vec![] };
        w.set_push_config_all(std::sync::Arc::new(push));
        let rule = serde_json::from_value(
            serde_json::json!({"effect": "error", "code": 5, "msg": "no", "endpoint": "O2", "times": 3}),
        );
        w.add_fault_rule(rule.unwrap()).unwrap();
        w.shard = Some(super::super::shard::Shard::parse("1/2").unwrap());
        let places: Vec<&BatteryPlace> = w.batteries.values().map(|b| &b.place).collect();
        assert!(places.iter().any(|p| matches!(p, BatteryPlace::Slot { .. })));
        assert!(places.iter().any(|p| matches!(p, BatteryPlace::Rented { .. })));
        assert!(places.iter().any(|p| matches!(p, BatteryPlace::Loose)));
        assert!(!w.due.is_empty() && !w.sim.queue.is_empty() && !w.tokens.is_empty());
        w
    }

    #[test]
    fn an_export_read_back_exports_byte_for_byte_the_same() {
        let snap = Snapshot {
            format: SNAPSHOT_FORMAT.into(),
            now: 1_772_442_000_000,
            time: "2026-03-02 09:00:00".into(),
            seed: 7,
            world: odd_world(),
        };
        assert!(snap.problems().is_empty(), "{:?}", snap.problems());
        let text = serde_json::to_string(&snap).unwrap();
        let back = stream::tests::read_every_way(text.as_bytes()).unwrap();
        assert!(back == snap);
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        // The envelope `GET /_sim/state` answers with, pretty-printed too.
        let envelope = format!(r#"{{"msg":"Successful operation","code":0,"data":{text}}}"#);
        let back = stream::tests::read_every_way(envelope.as_bytes()).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        let value: serde_json::Value = serde_json::from_str(&envelope).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let back = stream::tests::read_every_way(pretty.as_bytes()).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }
}
