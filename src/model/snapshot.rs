//! The snapshot format of `/_sim/state` and `--state-file`: the whole world plus the virtual
//! time it was taken at, and the checks a snapshot must pass before it replaces the world.

use super::world::World;
use crate::clock::Millis;
use serde::{Deserialize, Serialize};

/// The format tag written into every snapshot.
pub const SNAPSHOT_FORMAT: &str = "bajie-sim/1";

/// A saved world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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

impl World {
    /// The invariants of [`World::check`] plus the basic sanity an imported world needs: its
    /// records point at agents that exist, values are in range, rules and rates can run.
    ///
    /// The invariant check runs on a second thread meanwhile: a restore at 100,000 cabinets
    /// spent about 1.7 s in it and as long again in the rest.
    pub fn sanity(&self) -> Vec<String> {
        std::thread::scope(|s| {
            let check = s.spawn(|| self.check());
            let rest = self.sanity_beyond_check();
            let mut v = check.join().unwrap_or_else(|_| vec!["the invariant check failed".into()]);
            v.extend(rest);
            v
        })
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
}
