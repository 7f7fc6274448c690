//! Loading a world from the configuration: a generated fleet, a fixture file or the embedded
//! default world, with the command line's overrides. Used at start and by a reset, which
//! loads the same world again.

use crate::clock::{self, parse_datetime, Millis};
use crate::config::Config;
use crate::fixtures;
use crate::latency::{self, Profile};
use crate::model::event::{EventName, Subscription};
use crate::model::{PushConfig, SimSettings, World};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Load the world the configuration asks for, starting now (or when it is pinned).
pub fn load_world(config: &Config, seed: u64) -> Result<(World, Millis), String> {
    load_world_at(config, seed, clock::wall_start(config.utc_offset_s))
}

/// Load the world the configuration asks for, as if the wall clock read `wall`. The virtual
/// start is `--start`, else the fixture file's `start`, else `wall`; the world's cabinets are
/// registered then.
pub fn load_world_at(config: &Config, seed: u64, wall: Millis) -> Result<(World, Millis), String> {
    if config.agents.is_some() && config.fleet.is_none() {
        return Err("--agents names the accounts of a generated fleet: give --fleet N too".into());
    }
    let pinned = match config.start.as_deref() {
        Some(s) => Some(parse_datetime(s).ok_or_else(|| format!("--start: '{s}' is not a time"))?),
        None => None,
    };
    let loaded = match (&config.fleet, &config.fixtures) {
        (Some(n), _) => fixtures::generate_fleet_for(
            fixtures::FleetSpec { cabinets: *n, agents: config.agents, shard: config.shard },
            seed,
            pinned.unwrap_or(wall),
        ),
        (None, Some(path)) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read fixtures {}: {e}", path.display()))?;
            fixtures::load_with(&text, seed, wall, pinned).map_err(|e| format!("{}: {e}", path.display()))?
        }
        (None, None) => fixtures::load_with(fixtures::DEFAULT_FIXTURES, seed, wall, pinned)
            .map_err(|e| format!("embedded fixtures: {e}"))?,
    };
    let start = pinned.or(loaded.start).unwrap_or(wall);
    let mut world = loaded.world;
    // A fixture world is split after loading (a fleet shard is generated split already).
    if let Some(shard) = config.shard.filter(|_| world.shard().is_none()) {
        world.keep_shard(shard, seed);
    }
    if let Some(shard) = config.shard.filter(|_| world.agents().is_empty()) {
        return Err(format!("shard {shard} owns none of the world's accounts; use fewer shards or more --agents"));
    }
    world.set_eject_delay(config.eject_delay_s as Millis * 1000);
    let mut settings = match loaded.sim {
        Some(sim) => serde_json::from_value::<SimSettings>(sim).map_err(|e| format!("fixtures: sim: {e}"))?,
        None => world.sim().settings.clone(),
    };
    apply_sim_flags(config, &mut settings);
    world.load_sim_settings(settings).map_err(|e| e.to_string())?;
    // Part of the world as loaded, so a reset (which reloads) keeps the wiring of a demo.
    if let Some(url) = &config.push_url {
        let all = PushConfig {
            push_url: url.clone(),
            event_subscriptions: EventName::ALL
                .map(|event| Subscription { event, push_url: String::new(), enable: true })
                .to_vec(),
        };
        world.set_push_config_all(Arc::new(all));
    }
    world.warm_indexes();
    Ok((world, start))
}

/// The virtual start time: `--start`, else the world file's, else the wall clock.
pub fn configured_start(config: &Config, from_file: Option<Millis>, wall: Millis) -> Result<Millis, String> {
    match config.start.as_deref() {
        Some(s) => parse_datetime(s).ok_or_else(|| format!("--start: '{s}' is not a time")),
        None => Ok(from_file.unwrap_or(wall)),
    }
}

/// Command-line overrides of the simulation's rates.
pub fn apply_sim_flags(config: &Config, s: &mut SimSettings) {
    if let Some(r) = config.rent_rate {
        s.rents_per_cabinet_hour = r;
    }
    if let Some(url) = &config.customer_callback_url {
        s.customer_callback_url = Some(url.clone());
    }
}

/// The profiles a simulator starts with (and a reset returns to): the fixture file's
/// `latency` object, overridden per operation by `--latency`. A generated fleet has no
/// fixture file; the flag alone applies.
pub fn start_profiles(config: &Config) -> Result<BTreeMap<String, Profile>, String> {
    /// Only the one field; the world loader validates the rest of the file.
    #[derive(Deserialize)]
    struct LatencyOnly {
        #[serde(default)]
        latency: Option<serde_json::Value>,
    }
    let text = match (&config.fleet, &config.fixtures) {
        (Some(_), _) => None,
        (None, Some(path)) => {
            Some(std::fs::read_to_string(path).map_err(|e| format!("cannot read fixtures {}: {e}", path.display()))?)
        }
        (None, None) => Some(fixtures::DEFAULT_FIXTURES.to_string()),
    };
    let mut out = BTreeMap::new();
    if let Some(text) = text {
        let file: LatencyOnly = serde_json::from_str(&text).map_err(|e| format!("fixture file is not valid: {e}"))?;
        if let Some(v) = file.latency {
            out = latency::parse_fixture(&v)?;
        }
    }
    if let Some(spec) = config.latency.as_deref() {
        out.extend(latency::parse_spec(spec).map_err(|e| format!("--latency: {e}"))?);
    }
    Ok(out)
}
