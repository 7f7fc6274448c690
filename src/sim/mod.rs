//! The simulation loop: a pure step over the world, driven by a thin timer in `app`.
//!
//! `step` is synchronous and deterministic: given the same world and `now` it makes the same
//! changes and returns the same events. Every change goes through the world's domain
//! operations, so simulated activity produces the same pushes and callbacks as API requests.

use crate::clock::Millis;
use crate::model::{Event, World};

/// Advance the world's autonomous activity to `now`, appending what happened to `out`.
pub fn step(world: &mut World, now: Millis, out: &mut Vec<Event>) {
    world.run_due(now, out);
}
