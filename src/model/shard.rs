//! Shards: one process owns a disjoint part of the world, chosen by account.
//!
//! Accounts never see each other's data, so an account's whole world (shops, cabinets,
//! batteries, price strategies, orders, push configuration, tokens) can live on one process.
//! `--shard K/S` keeps the accounts whose shard is K: FNV-1a 64 of the account name's bytes,
//! modulo S. The function is stable (it depends on the name and S only) and easy to compute
//! wherever a balancer configuration is generated (`scripts/cluster.sh` does it in bash).
//!
//! What a shard adds to what it issues, so records stay unique across the shards of one seed
//! and a balancer can route them: bearer tokens start with `s{K}-`, and the eight digits after
//! a trade number's time stamp start with K as two digits.

use super::rng::SimRng;
use super::world::{Due, World};
use serde::{Deserialize, Serialize};

/// At most this many shards: a trade number carries the shard as two digits.
pub const MAX_SHARDS: u32 = 100;

/// Shard `index` of `count` (`--shard index/count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This process's shard, from 0.
    pub index: u32,
    /// How many shards share the world.
    pub count: u32,
}

/// FNV-1a 64 of `bytes` (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// The shard of `account` among `count` shards: FNV-1a 64 of the name, modulo `count`.
pub fn shard_of(account: &str, count: u32) -> u32 {
    (fnv1a64(account.as_bytes()) % u64::from(count.max(1))) as u32
}

/// The name of generated account number `n` (from 1): `agent0001`, `agent0002`, ...
pub fn agent_name(n: usize) -> String {
    format!("agent{n:04}")
}

impl Shard {
    /// Parse `K/S` (K from 0, S from 1 to [`MAX_SHARDS`]).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (k, s) = text.trim().split_once('/').ok_or_else(|| format!("'{text}' is not K/S, e.g. 0/3"))?;
        let index: u32 = k.trim().parse().map_err(|_| format!("'{k}' is not a shard number"))?;
        let count: u32 = s.trim().parse().map_err(|_| format!("'{s}' is not a shard count"))?;
        if count == 0 || count > MAX_SHARDS {
            return Err(format!("the shard count must be 1..{MAX_SHARDS}, not {count}"));
        }
        if index >= count {
            return Err(format!("shard {index} does not exist among {count} (shards count from 0)"));
        }
        Ok(Shard { index, count })
    }

    /// Whether this shard owns `account`.
    pub fn owns(&self, account: &str) -> bool {
        shard_of(account, self.count) == self.index
    }

    /// What every bearer token of this shard starts with (a balancer routes on it).
    pub fn token_prefix(&self) -> String {
        format!("s{}-", self.index)
    }

    /// The seed of this shard's own random source: shards of one seed must not draw the same
    /// ids at run time (a filled slot's new battery, a token).
    pub fn rng_seed(&self, seed: u64) -> u64 {
        seed ^ (u64::from(self.index) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl World {
    /// Keep only `shard`'s accounts and everything that belongs to them, and give the world
    /// the shard's own random source. The records kept are unchanged, so the union of the
    /// shards' worlds is the unsharded world.
    pub fn keep_shard(&mut self, shard: Shard, seed: u64) {
        self.agents.retain(|a, _| shard.owns(a));
        let agents = &self.agents;
        self.shops.retain(|_, s| agents.contains_key(&s.agent));
        self.cabinets.retain(|_, c| agents.contains_key(c.agent.as_str()));
        self.batteries.retain(|b| agents.contains_key(b.agent.as_str()));
        self.strategies.retain(|_, p| agents.contains_key(&p.agent));
        self.orders.retain(|_, o| agents.contains_key(o.agent.as_str()));
        self.tokens.retain(|_, t| agents.contains_key(t.account.as_str()));
        let (orders, cabinets) = (&self.orders, &self.cabinets);
        self.due.retain(|(_, d)| match d {
            Due::Eject(t) | Due::EjectWindow(t) | Due::Timeout(t) => orders.contains_key(t.as_str()),
            Due::Reconnect(c) => cabinets.contains_key(c.as_str()),
        });
        // Batteries, cabinets and orders of one account stay together, so the world stays
        // consistent (`World::check`; the tests check every shard of a fleet).
        self.reset_order_index();
        self.rng = SimRng::new(shard.rng_seed(seed));
        self.shard = Some(shard);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_reference_values() {
        // Reference vectors of FNV-1a 64 (the empty string is the offset basis).
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
        // The values docs/scale.md quotes, so a person can check an implementation.
        assert_eq!(shard_of("agent0001", 3), (fnv1a64(b"agent0001") % 3) as u32);
        assert_eq!([shard_of("demo", 2), shard_of("acme", 2)], [DEMO_OF_2, ACME_OF_2]);
    }

    const DEMO_OF_2: u32 = 0;
    const ACME_OF_2: u32 = 1;

    #[test]
    fn shards_parse_and_are_checked() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        assert!(Shard::parse("3/3").unwrap_err().contains("does not exist"));
        assert!(Shard::parse("0/0").unwrap_err().contains("1..100"));
        assert!(Shard::parse("0/101").is_err());
        assert!(Shard::parse("1").unwrap_err().contains("K/S"));
        assert!(Shard::parse("x/3").is_err());
        assert_eq!(Shard::parse("1/4").unwrap().to_string(), "1/4");
        assert_eq!(agent_name(7), "agent0007");
        assert_eq!(agent_name(12345), "agent12345");
    }

    #[test]
    fn every_account_has_exactly_one_shard() {
        for count in 1..=7 {
            for n in 1..=50 {
                let name = agent_name(n);
                let owners = (0..count).filter(|&k| Shard { index: k, count }.owns(&name)).count();
                assert_eq!(owners, 1, "{name} among {count}");
            }
        }
    }
}
