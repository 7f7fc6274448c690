//! Operations that configure the world rather than act in it: the shard it serves as, the
//! eject delay, the simulation's settings, every account's event-push wiring at once, the
//! fault rules cleared at once (one account's wiring is E1, `model/push_config.rs`). Used while a world is loaded (`app.rs`) and by the control API; like
//! every operation on the world, each validates before it changes anything.

use super::event::PushConfig;
use super::shard::Shard;
use super::sim_state::SimSettings;
use super::world::World;
use crate::clock::Millis;
use crate::error::{Error, Result};
use std::sync::Arc;

impl World {
    /// Serve as shard `shard` (`None`: the whole world): tokens and trade numbers carry it.
    pub fn set_shard(&mut self, shard: Option<Shard>) {
        self.shard = shard;
    }

    /// Time between an accepted rent and the cabinet's eject.
    pub fn set_eject_delay(&mut self, ms: Millis) {
        self.settings.eject_delay_ms = ms;
    }

    /// Replace the simulation's settings, refused whole when any value is unusable; when the
    /// simulation has started, its fleet-wide processes are re-drawn from `now`.
    pub fn set_sim_settings(&mut self, settings: SimSettings, now: Millis) -> Result<()> {
        self.load_sim_settings(settings)?;
        if self.sim.started {
            super::sim::reschedule(self, now);
        }
        Ok(())
    }

    /// Set the simulation's settings of a world being loaded (fixtures, snapshot) from the
    /// command line's overrides, refused when a value is unusable. Its schedule, as loaded,
    /// stays: a restored world goes on exactly as it was saved.
    pub fn load_sim_settings(&mut self, settings: SimSettings) -> Result<()> {
        let problems = settings.problems();
        if !problems.is_empty() {
            return Err(Error::bad_body(format!("simulation settings: {}", problems.join("; "))));
        }
        self.sim.settings = settings;
        Ok(())
    }

    /// Wire the event pushes of every account to one configuration.
    pub fn set_push_config_all(&mut self, config: Arc<PushConfig>) {
        for agent in self.agents.values_mut() {
            agent.push = Some(config.clone());
        }
    }

    /// Remove every fault rule; returns how many there were.
    pub fn clear_fault_rules(&mut self) -> usize {
        std::mem::take(&mut self.faults.rules).len()
    }
}
