//! The running simulator's shared state: what every handler, the driver and the delivery
//! engine reach through `web::Data<AppState>`. It sits below the wire layer, the control API
//! and the driver, which all use it, and above the world's store, the clock and the delivery
//! engine, which it holds; `app::build` creates it and wires the rest around it.

pub mod load;
pub mod runtime;

use crate::clock::{Clock, Millis};
use crate::config::Config;
use crate::model::{Event, Snapshot, World};
use crate::push::Hub;
use crate::store::{StepBudget, Store};
use runtime::Runtime;
use std::sync::Arc;

/// Everything a handler needs: the world, the clock, the delivery engine.
#[derive(Debug)]
pub struct AppState {
    /// The world behind its lock, and the time gate.
    pub store: Store,
    /// Virtual time.
    pub clock: Arc<Clock>,
    /// Outbound deliveries.
    pub push: Hub,
    /// The configuration it was started with.
    pub config: Config,
    /// The seed in use.
    pub seed: u64,
    /// Virtual time the world starts at (for reset).
    pub start: Millis,
    /// Wall-clock time the world was first loaded at: a reset rebuilds it with the same
    /// registration times, so the rebuilt world equals the loaded one.
    pub loaded_at: Millis,
    /// The simulation driver, long advances and how the world keeps up with the clock.
    pub runtime: Runtime,
    /// Prometheus metrics (`/_sim/metrics`).
    pub metrics: crate::metrics::Metrics,
    /// Answer-time profiles (`/_sim/latency`).
    pub latency: crate::latency::Latency,
}

impl AppState {
    /// Hand events to the delivery engine.
    pub fn publish(&self, events: Vec<Event>) {
        if !events.is_empty() {
            self.push.publish(events);
        }
    }

    /// Unix-epoch milliseconds of virtual time `t` (virtual time counts on the wall clock of
    /// `--utc-offset`; the control API's `nowMs` is the epoch reading).
    pub fn epoch_ms(&self, t: Millis) -> Millis {
        t - i64::from(self.config.utc_offset_s) * 1000
    }

    /// Virtual milliseconds of one simulation step: `--tick-ms`. `POST /_sim/tick?n=N` moves
    /// the clock by N steps; an advance moves it in chunks of at least this size.
    pub fn step_ms(&self) -> Millis {
        self.config.tick_ms.max(1) as Millis
    }

    /// One bounded step of the world towards the clock (`store::Store::step`), its events
    /// handed on before the time gate opens again. Returns the time reached and the clock's
    /// time it aimed at.
    pub fn step_to_clock(&self) -> (Millis, Millis) {
        let (reached, now, _) = self.step_to_clock_counted(StepBudget::STEADY);
        (reached, now)
    }

    /// Like [`Self::step_to_clock`] within `budget` (`StepBudget::ADVANCE` for a long
    /// advance), also returning the number of events.
    pub fn step_to_clock_counted(&self, budget: StepBudget) -> (Millis, Millis, usize) {
        let gate = self.store.gate();
        let now = self.clock.now();
        let started = std::time::Instant::now();
        let stepped = runtime::at_normal_priority(|| self.store.step(&gate, now, !self.config.no_sim, budget));
        let n = stepped.events.len();
        if n > 0 {
            self.metrics.observe_step(started.elapsed(), n);
        }
        self.publish(stepped.events);
        drop(gate);
        (stepped.reached, now, n)
    }

    /// Bring the world up to the clock, step by step; returns the number of events.
    pub fn catch_up(&self) -> usize {
        let mut count = 0;
        loop {
            let (reached, now, n) = self.step_to_clock_counted(StepBudget::STEADY);
            count += n;
            if reached >= now {
                return count;
            }
        }
    }

    /// Move the clock forward by `ms` (the world follows at its next steps); the new now.
    pub fn clock_advance(&self, ms: Millis) -> Millis {
        let _gate = self.store.gate();
        self.clock.advance(ms)
    }

    /// Run `n` simulation steps, each moving virtual time forward by [`Self::step_ms`];
    /// returns the number of events.
    pub fn tick(&self, n: u64) -> usize {
        let step = self.step_ms();
        let mut count = 0;
        for _ in 0..n {
            self.clock_advance(step);
            count += self.catch_up();
        }
        count
    }

    /// The world brought up to the clock, and the time it was brought to (snapshots). The
    /// copy is a long read: requests that read go on meanwhile.
    pub fn caught_up_world(&self) -> (Millis, World) {
        let gate = self.store.gate();
        let now = self.clock.now();
        loop {
            let stepped = self.store.step(&gate, now, !self.config.no_sim, StepBudget::STEADY);
            self.publish(stepped.events);
            if stepped.reached >= now {
                break;
            }
        }
        // Copied with the gate closed, in pieces (`Store::copy_at`): virtual time stands
        // still for the copy, requests go on between its pieces.
        let copy = self.store.copy_at(&gate);
        drop(gate);
        copy
    }

    /// Replace the world with a (validated) snapshot and set the clock to its time; the
    /// journal is kept. `reset` still returns to the loaded fixtures. The new world's
    /// indexes are built before the swap; the old world is freed after it, by the caller's
    /// thread, outside every lock.
    pub fn restore(&self, snap: Snapshot) -> Result<(), crate::error::Error> {
        self.runtime.cancel_advance("cancelled by a snapshot import");
        let mut world = snap.world;
        // The process's shard, not the snapshot's, stamps the tokens and trade numbers it issues.
        world.set_shard(self.config.shard);
        let mut settings = world.sim().settings.clone();
        load::apply_sim_flags(&self.config, &mut settings);
        // Refused like a bad snapshot if the command line's rates make its settings unusable;
        // the world stays as it was.
        world.load_sim_settings(settings)?;
        world.warm_indexes();
        let gate = self.store.gate();
        let old = self.store.replace(&gate, world, snap.now);
        self.clock.set(snap.now);
        drop(gate);
        drop(old);
        Ok(())
    }

    /// Back to the loaded world and start time; the journal is emptied. The world is rebuilt
    /// from the configuration (same seed, same load time) rather than copied from a kept
    /// original, which would double the memory of a large fleet; it is built before the time
    /// gate closes, so only the swap stops time, and requests are answered meanwhile.
    pub fn reset(&self) {
        self.runtime.cancel_advance("cancelled by a reset");
        let rebuilt = load::load_world_at(&self.config, self.seed, self.loaded_at);
        let gate = self.store.gate();
        let old = match rebuilt {
            Ok((world, _)) => Some(self.store.replace(&gate, world, self.start)),
            // It loaded at start, so it loads again; if the file changed on disk meanwhile,
            // keep the current world rather than serve half of one.
            Err(e) => {
                log::error!("reset: cannot reload the world: {e}");
                None
            }
        };
        self.clock.set(self.start);
        self.push.clear();
        self.latency.reset();
        drop(gate);
        drop(old);
        // The simulation starts again from the start time.
        self.catch_up();
    }
}
