//! The store: the only owner of the world lock.
//!
//! A `parking_lot::RwLock` rather than an async lock: every critical section is a short,
//! synchronous walk over in-memory maps, never held across an `.await` or around I/O, so a
//! blocking lock is both correct and cheaper. Readers (O1, lists, the dashboard) share it;
//! writers take it exclusively for the few microseconds of a state change. Methods return
//! owned values and the domain events the change produced; callers hand the events to
//! `push/` after the lock is gone.

use crate::clock::Millis;
use crate::error::Result;
use crate::model::{Event, World};
use parking_lot::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The world behind its lock.
///
/// No copy of the world as loaded is kept for `/_sim/reset`: at fleet scale that copy doubled
/// the resident size (1.5 GB at 100,000 cabinets). A reset rebuilds the world from the
/// configuration instead (`AppState::reset`), which gives the same world for the same seed.
#[derive(Debug)]
pub struct Store {
    world: RwLock<World>,
    /// Next event sequence number, taken under the world's write lock so numbers follow the
    /// order in which changes really happened (the delivery engine re-sorts by it).
    seq: AtomicU64,
    /// Bumped by every write, under the write lock, before the lock is released: a value read
    /// under a read lock names exactly one state of the world. Response caches compare it to
    /// serve an answer again only while nothing has changed (`api/answer_cache.rs`).
    version: AtomicU64,
    /// Distinct for every store of the process, so caches keyed by version never mix two
    /// simulators (tests run several on the same threads).
    id: u64,
}

/// Source of store identities.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One state of one store's world: equal stamps, equal worlds. Answers remembered outside the
/// lock carry the stamp they were computed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The store (distinct per simulator in the process).
    pub store: u64,
    /// Its world's version.
    pub version: u64,
}

impl Store {
    /// A store holding `world`.
    pub fn new(world: World) -> Self {
        Store {
            world: RwLock::new(world),
            seq: AtomicU64::new(1),
            version: AtomicU64::new(1),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Number `events` in world order; called while the write lock is held.
    fn number_events(&self, events: &mut [Event]) {
        if events.is_empty() {
            return;
        }
        // Relaxed is enough: the world lock already orders the writers.
        let first = self.seq.fetch_add(events.len() as u64, Ordering::Relaxed);
        for (i, e) in events.iter_mut().enumerate() {
            e.seq = first + i as u64;
        }
    }

    /// Run a read-only view over the world. `f` must be short and must not block.
    pub fn read<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&self.world.read())
    }

    /// Like [`Self::read`], also returning the stamp of the world `f` saw.
    pub fn read_stamped<R>(&self, f: impl FnOnce(&World) -> R) -> (R, Stamp) {
        let world = self.world.read();
        // No writer holds the lock now, so the version cannot move under `f`.
        let stamp = self.stamp();
        (f(&world), stamp)
    }

    /// The stamp of the world now, without taking the lock. An answer computed at this stamp
    /// is still the answer: every change bumps the version before its lock is released.
    pub fn stamp(&self) -> Stamp {
        Stamp { store: self.id, version: self.version.load(Ordering::Acquire) }
    }

    /// Mark the world changed; called with the write lock held.
    fn bump(&self) {
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Apply one domain operation. `f` mutates the world and appends events; on error the
    /// events it appended are discarded (operations validate before they change anything).
    pub fn write<R>(&self, f: impl FnOnce(&mut World, &mut Vec<Event>) -> Result<R>) -> Result<(R, Vec<Event>)> {
        let mut events = Vec::new();
        let mut world = self.world.write();
        // Bumped whether or not `f` succeeds: a refused operation changes nothing, but one
        // spurious miss of a response cache costs less than proving that here.
        self.bump();
        let r = f(&mut world, &mut events)?;
        // Push fault rules decide each delivery's fate here, where the world's generator is.
        world.stamp_push_faults(&mut events);
        self.number_events(&mut events);
        drop(world);
        Ok((r, events))
    }

    /// Run the world's due actions (automatic ejects, buy-outs, reconnects) up to `now`.
    pub fn run_due(&self, now: Millis) -> Vec<Event> {
        // Cheap check under the read lock first: the driver calls this many times a second.
        let pending = self.world.read().due.first().is_some_and(|(at, _)| *at <= now);
        if !pending {
            return Vec::new();
        }
        let mut events = Vec::new();
        let mut world = self.world.write();
        self.bump();
        world.run_due(now, &mut events);
        // Push fault rules decide each delivery's fate here, where the world's generator is.
        world.stamp_push_faults(&mut events);
        self.number_events(&mut events);
        drop(world);
        events
    }

    /// Replace the world (snapshot restore, reset). The old world is dropped after the lock
    /// is released, so readers do not wait for a large world to be freed.
    pub fn replace(&self, world: World) {
        let mut guard = self.world.write();
        let old = std::mem::replace(&mut *guard, world);
        self.bump();
        drop(guard);
        drop(old);
    }

    /// A copy of the whole world (snapshots, determinism checks).
    pub fn snapshot(&self) -> World {
        self.world.read().clone()
    }

    /// Broken invariants, empty when all hold.
    pub fn check(&self) -> Vec<String> {
        self.world.read().check()
    }
}
