//! The store: the only owner of the world lock and of the time gate.
//!
//! A `parking_lot::RwLock` rather than an async lock: every critical section is a short,
//! synchronous walk over in-memory maps, never held across an `.await` or around I/O, so a
//! blocking lock is both correct and cheaper. Readers (O1, lists, the dashboard) share it;
//! writers take it exclusively for the few microseconds of a state change. Methods return
//! owned values and the domain events the change produced; callers hand the events to
//! `push/` after the lock is gone.
//!
//! Holds stay short at any fleet size:
//! - time moves in bounded steps ([`Store::step`]): a step runs simulated activity for at
//!   most [`HOLD`] of real time (or [`HOLD_EVENTS`] events), then releases the lock fairly so
//!   waiting requests go first, and reports how far it got; the driver calls it again;
//! - a request that finds the lock taken first spins for it for up to [`SPIN`] (a request's
//!   own hold is tens of microseconds), and only then blocks: `parking_lot` alone yields the
//!   core after a few spins, and on two cores shared with the load generator a worker that
//!   yielded got its core back milliseconds later, with every connection it serves;
//! - a request that finds the lock taken counts itself as waiting; a step (or a piece of a
//!   pass) that sees a write waiting ends after its current task once it has held the lock
//!   for [`HOLD_WHEN_WAITED_FOR`], so writes wait a fraction of a millisecond, not a whole
//!   hold; the steps of a long advance let waiting reads go first too, sooner, and hold
//!   less ([`StepBudget`]);
//! - the passes over the whole world (the invariant check, the copy a snapshot is written
//!   from) run in pieces of at most [`PIECE`] under the read lock, released fairly between
//!   pieces so waiting writers go first (`model/world/chunked.rs` says why a check cut this
//!   way never reports a violation that was not there, and [`Store::copy_at`] which cut of
//!   the world a copy is);
//! - a copy in one piece remains for tests and as the last resort of a copy ("long read":
//!   other readers join it rather than queue behind a waiting writer);
//! - a world replacing this one (reset, snapshot import) is built by the caller outside the
//!   lock and swapped in; the old one is freed after the lock is released.
//!
//! The time gate serialises what moves virtual time (the driver's steps, advances, ticks,
//! resets, imports), so a step never reads the clock of one world and runs on another, and
//! each step hands its events on before the next one starts. It never blocks a request that
//! only reads or writes the world.

use crate::clock::Millis;
use crate::error::Result;
use crate::model::world::{CheckPass, CopyPass, PieceBudget};
use crate::model::{Event, World};
use parking_lot::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Real time one step may hold the world lock.
pub const HOLD: Duration = Duration::from_millis(2);
/// Real time one step of a long advance may hold the world lock, waited for or not. The
/// thread holds it at normal priority (`state::runtime::at_normal_priority`) and yields the
/// core between steps: with 2 ms holds it ran at full priority nearly all the time, and a
/// request's worker or its client waited for the core rather than for the lock. 100,000
/// cabinets, a day advanced beside 60 writes and 100 reads a second (`bench-holds.sh`, four
/// runs): read p99 1.8-2.0 ms during the advance against 0.8-0.9 idle before, 1.0 ms with
/// both this and the yield (1.8-1.9 with this alone); the advance got as far.
pub const HOLD_IN_ADVANCE: Duration = Duration::from_micros(250);
/// Real time one piece of a whole-world pass (check, copy) may hold the read lock.
pub const PIECE: Duration = Duration::from_millis(2);
/// Copies of the world [`Store::copy_at`] takes in pieces before it takes one in a single hold.
const COPY_TRIES: usize = 3;
/// Times [`Store::copy_at`] mends one copy before it takes another.
const MEND_ROUNDS: usize = 4;
/// Events one step may produce before it lets go (bounds the memory of one step's events).
pub const HOLD_EVENTS: usize = 2_000;
/// Real time a step holds the lock at least before it lets a waiting request go first: short
/// enough that a request waits a fraction of a millisecond behind the simulation, long enough
/// that the simulation still moves under a steady load of requests (which always has one
/// waiting).
pub const HOLD_WHEN_WAITED_FOR: Duration = Duration::from_micros(250);
/// The same for the steps of a long advance, which run back to back for minutes while the
/// API is asked to keep answering: a request that waits lets the step go after 50 us. At
/// 100,000 cabinets with a day advanced beside 20 rent/return cycles a second, write p99 went
/// from 3.2-4.4 ms to 2.0-2.4 ms (reads 3.5-3.8 to 2.1-2.8) and the advance moved as far in
/// the same time (BENCHMARKS.md); the driver's steady steps keep 250 us, so the simulation
/// still moves under a stream of writes.
pub const HOLD_WHEN_WAITED_FOR_IN_ADVANCE: Duration = Duration::from_micros(50);

/// How a step shares the world lock: how long it may hold it, and after how long, and for
/// which waiting requests, it lets go early.
#[derive(Debug, Clone, Copy)]
pub struct StepBudget {
    hold: Duration,
    yield_after: Duration,
    /// Whether waiting reads end the step early too (writes always do).
    reads_too: bool,
}

impl StepBudget {
    /// The driver's steady steps (and catching up before a snapshot): [`HOLD`], and
    /// [`HOLD_WHEN_WAITED_FOR`] for waiting writes only. Under a load test's stream of reads
    /// one nearly always waits, and steps cut short for them came eight times as often, each a
    /// write acquisition that new reads queue behind (O1 p99 at `--speed 60` rose from 7 to
    /// 12 ms). A read waits for at most one such step.
    pub const STEADY: StepBudget = StepBudget { hold: HOLD, yield_after: HOLD_WHEN_WAITED_FOR, reads_too: false };
    /// The steps of a long advance, which run back to back for minutes while the API is asked
    /// to keep answering: [`HOLD_IN_ADVANCE`], and [`HOLD_WHEN_WAITED_FOR_IN_ADVANCE`] for any
    /// waiting request.
    pub const ADVANCE: StepBudget =
        StepBudget { hold: HOLD_IN_ADVANCE, yield_after: HOLD_WHEN_WAITED_FOR_IN_ADVANCE, reads_too: true };
}

/// Try `take` on a spinning core for up to [`SPIN`], or until `long` says the lock is held
/// for longer than a spin; `None` when the lock stayed taken.
fn spin<G>(mut take: impl FnMut() -> Option<G>, long: impl Fn() -> bool) -> Option<G> {
    if let Some(g) = take() {
        return Some(g);
    }
    let start = Instant::now();
    loop {
        if long() {
            return None;
        }
        for _ in 0..32 {
            std::hint::spin_loop();
        }
        if let Some(g) = take() {
            return Some(g);
        }
        if start.elapsed() >= SPIN {
            return None;
        }
    }
}

/// How long a request spins for a taken lock before it blocks: longer than a request's own
/// hold (an O2 or a return holds the write lock 10-30 us). The mixed workload at 100,000
/// cabinets (the A/B in BENCHMARKS.md), p99 over a bare handler's in the same round:
/// 1.01-1.47 (median 1.25) with the spin, 1.26-1.52 (median 1.40) without.
///
/// A step of the simulation or a piece of a whole-world pass (up to 2 ms) is not spun for: it
/// says so in `Store::long_hold`, and the request blocks at once rather than spend 50 us of a
/// core the step needs. (At `--speed 60`, three rounds side by side, O1's p99 over the fleet
/// did not differ measurably with or without either.)
const SPIN: Duration = Duration::from_micros(50);

/// The world behind its lock.
///
/// No copy of the world as loaded is kept for `/_sim/reset`: at fleet scale that copy doubled
/// the resident size (1.5 GB at 100,000 cabinets). A reset rebuilds the world from the
/// configuration instead (`AppState::reset`), which gives the same world for the same seed.
#[derive(Debug)]
pub struct Store {
    world: RwLock<World>,
    /// The time gate (see the module header).
    gate: Mutex<()>,
    /// Virtual time the world has been brought to: every due action and simulated task up
    /// to it has run. Changed under the world's write lock (or, when nothing was due, to a
    /// time at which the world is the same), so a read under the lock sees a consistent pair.
    reached: AtomicI64,
    /// Long reads in progress; while there are any, readers do not queue behind writers.
    long_reads: AtomicUsize,
    /// Writes blocked on the world lock now (only those that found it taken: the fast path
    /// does not count). A step sees it and lets them go first ([`HOLD_WHEN_WAITED_FOR`]).
    waiting: AtomicUsize,
    /// Reads blocked on the world lock now, counted the same way.
    waiting_reads: AtomicUsize,
    /// Set while a step or a piece of a whole-world pass holds the lock: requests that find
    /// it taken then block at once instead of spinning ([`SPIN`]).
    long_hold: AtomicBool,
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

/// How a pass in pieces went: logged at debug level (`RUST_LOG=bajie_sim::store=debug`), for
/// `scripts/bench-holds.sh` and anyone asking how long the lock was held.
struct Pieces {
    started: Instant,
    count: usize,
    longest: Duration,
}

impl Pieces {
    fn new() -> Self {
        Pieces { started: Instant::now(), count: 0, longest: Duration::ZERO }
    }

    fn log(&self, what: &str) {
        log::debug!(
            "{what}: {} pieces in {:.1} ms, longest hold {:.3} ms",
            self.count,
            self.started.elapsed().as_secs_f64() * 1e3,
            self.longest.as_secs_f64() * 1e3
        );
    }
}

/// Proof that the caller holds the time gate ([`Store::gate`]); dropping it opens the gate.
pub struct TimeGate<'a>(#[allow(dead_code)] MutexGuard<'a, ()>);

impl std::fmt::Debug for TimeGate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TimeGate")
    }
}

/// What one bounded step did.
#[derive(Debug, Default)]
pub struct Stepped {
    /// The events it produced, numbered.
    pub events: Vec<Event>,
    /// Virtual time the world has been brought to (the target when it got there).
    pub reached: Millis,
}

impl Store {
    /// A store holding `world`, brought up to virtual time `now`.
    pub fn new(world: World, now: Millis) -> Self {
        Store {
            world: RwLock::new(world),
            gate: Mutex::new(()),
            reached: AtomicI64::new(now),
            long_reads: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            waiting_reads: AtomicUsize::new(0),
            long_hold: AtomicBool::new(false),
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

    /// The read lock for a request: at once when it is free, else counted in `waiting_reads`
    /// while blocked (only steps of a long advance let reads go first: see [`Self::step`]).
    fn read_for_request(&self) -> RwLockReadGuard<'_, World> {
        if self.long_reads.load(Ordering::Acquire) > 0 {
            // A long read holds the lock: join it rather than queue behind the writer that
            // waits for it (the lock would otherwise be fair to that writer, and every short
            // read would wait as long as the long one).
            return self.world.read_recursive();
        }
        if let Some(g) = spin(|| self.world.try_read(), || self.long_hold.load(Ordering::Relaxed)) {
            return g;
        }
        self.waiting_reads.fetch_add(1, Ordering::AcqRel);
        let g = self.world.read();
        self.waiting_reads.fetch_sub(1, Ordering::AcqRel);
        g
    }

    /// The write lock for a request: at once when it is free, else counted in `waiting` while
    /// blocked, so a step or a piece of a pass in progress lets go early.
    fn write_for_request(&self) -> RwLockWriteGuard<'_, World> {
        if let Some(g) = spin(|| self.world.try_write(), || self.long_hold.load(Ordering::Relaxed)) {
            return g;
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let g = self.world.write();
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        g
    }

    /// Run a read-only view over the world. `f` must be short and must not block.
    pub fn read<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&self.read_for_request())
    }

    /// Like [`Self::read`], also returning the stamp of the world `f` saw.
    pub fn read_stamped<R>(&self, f: impl FnOnce(&World) -> R) -> (R, Stamp) {
        let world = self.read_for_request();
        // No writer holds the lock now, so the version cannot move under `f`.
        let stamp = self.stamp();
        (f(&world), stamp)
    }

    /// A read over the whole world (check, copy). Writers wait for it; readers do not.
    fn read_long<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        self.long_reads.fetch_add(1, Ordering::AcqRel);
        // Decremented however `f` ends.
        struct Done<'a>(&'a AtomicUsize);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _done = Done(&self.long_reads);
        f(&self.world.read())
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
    /// events it appended are discarded. Operations validate everything before they change
    /// anything, so a refused one leaves the world as it was (tests compare whole worlds).
    pub fn write<R>(&self, f: impl FnOnce(&mut World, &mut Vec<Event>) -> Result<R>) -> Result<(R, Vec<Event>)> {
        let mut events = Vec::new();
        let mut world = self.write_for_request();
        // Bumped whether or not `f` succeeds: a refused operation changes nothing, but one
        // spurious miss of a response cache costs less than proving that here.
        self.bump();
        let r = f(&mut world, &mut events)?;
        self.finish(&mut world, &mut events);
        drop(world);
        Ok((r, events))
    }

    /// Stamp push faults and number the events of a change; called with the write lock held.
    fn finish(&self, world: &mut World, events: &mut [Event]) {
        // Push fault rules decide each delivery's fate here, where the world's generator is.
        world.stamp_push_faults(events);
        self.number_events(events);
    }

    /// Close the time gate: until the guard is dropped, nothing else moves virtual time.
    /// Never held across an `.await`.
    pub fn gate(&self) -> TimeGate<'_> {
        TimeGate(self.gate.lock())
    }

    /// Virtual time the world has been brought to.
    pub fn reached(&self) -> Millis {
        self.reached.load(Ordering::Acquire)
    }

    /// Bring the world towards `now` within `budget` (at most [`HOLD_EVENTS`] events too): the
    /// world's due actions (ejects, buy-outs, reconnects) and, when `sim` is on, its
    /// simulated activity, in time order. Returns the events and how far it got; call again
    /// until `reached == now`. The lock is released fairly, so requests waiting for it go
    /// before the next step.
    pub fn step(&self, _gate: &TimeGate<'_>, now: Millis, sim: bool, budget: StepBudget) -> Stepped {
        let next = |w: &World| {
            if sim {
                crate::sim::next_at(w)
            } else {
                w.next_due()
            }
        };
        // Cheap check under the read lock first: the driver calls this many times a second.
        // (Not `read`: the step is not a request, and must not count as one waiting.)
        if next(&self.world.read()).is_none_or(|t| t > now) {
            // Nothing is due up to `now`: the world at `now` is the world as it is.
            self.reached.fetch_max(now, Ordering::AcqRel);
            return Stepped { events: Vec::new(), reached: self.reached() };
        }
        let started = Instant::now();
        let mut events = Vec::new();
        let mut world = self.world.write();
        self.long_hold.store(true, Ordering::Relaxed);
        self.bump();
        let reached = if sim {
            let mut tasks = 0u32;
            let mut enough = |events: usize| {
                tasks += 1;
                // A clock read costs tens of nanoseconds; one every few tasks is plenty, and
                // after every task while a request waits for the lock.
                events >= HOLD_EVENTS
                    || (tasks.is_multiple_of(8) && started.elapsed() >= budget.hold)
                    || (self.someone_waits(budget.reads_too) && started.elapsed() >= budget.yield_after)
            };
            crate::sim::step_within(&mut world, now, &mut events, &mut enough)
        } else {
            world.run_due(now, &mut events);
            now
        };
        self.finish(&mut world, &mut events);
        self.reached.fetch_max(reached, Ordering::AcqRel);
        self.long_hold.store(false, Ordering::Relaxed);
        RwLockWriteGuard::unlock_fair(world);
        Stepped { events, reached: self.reached() }
    }

    /// Replace the world (snapshot restore, reset) with one brought up to `now`. The caller
    /// builds the new world outside the lock; the swap is all that happens under it, and the
    /// old world is dropped after the lock is released, so readers do not wait for a large
    /// world to be freed.
    pub fn replace(&self, _gate: &TimeGate<'_>, world: World, now: Millis) -> World {
        let mut guard = self.world.write();
        let old = std::mem::replace(&mut *guard, world);
        self.bump();
        self.reached.store(now, Ordering::Release);
        drop(guard);
        old
    }

    /// A copy of the whole world (snapshots, determinism checks). Readers go on meanwhile.
    pub fn snapshot(&self) -> World {
        self.read_long(World::clone)
    }

    /// One piece of a whole-world pass under the read lock, released fairly so writers that
    /// came meanwhile go before the next piece.
    /// Whether a write (or, with `reads`, any request) waits for the world lock now.
    fn someone_waits(&self, reads: bool) -> bool {
        self.waiting.load(Ordering::Acquire) > 0 || (reads && self.waiting_reads.load(Ordering::Acquire) > 0)
    }

    /// The budget of one piece of a whole-world pass: [`PIECE`], or [`HOLD_WHEN_WAITED_FOR`]
    /// once a request waits for the lock.
    fn piece(&self) -> PieceBudget<'_> {
        PieceBudget { max: PIECE, waiting: Some((&self.waiting, HOLD_WHEN_WAITED_FOR)) }
    }

    fn read_piece<R>(&self, pieces: &mut Pieces, f: impl FnOnce(&World) -> R) -> R {
        let world = self.world.read();
        self.long_hold.store(true, Ordering::Relaxed);
        let held = Instant::now();
        let r = f(&world);
        self.long_hold.store(false, Ordering::Relaxed);
        RwLockReadGuard::unlock_fair(world);
        pieces.count += 1;
        pieces.longest = pieces.longest.max(held.elapsed());
        r
    }

    /// A copy of the world and the virtual time it has been brought to, for a snapshot,
    /// without a long hold: taken in pieces of at most [`PIECE`] while requests go on
    /// between them. The caller holds the time gate, so the simulation and every other
    /// mover of time stand still: virtual time is one instant for the whole copy.
    ///
    /// Which cut of the world it is:
    /// - when no request changed the world while the copy was taken (the version did not
    ///   move), it is exactly the world at that instant;
    /// - otherwise every record in it (cabinet, battery, order, ...) is whole, as it was at
    ///   one instant during the copy, and a request answered meanwhile may be in it only in
    ///   part. The copy is then checked ([`World::check`], outside the lock) and mended: the
    ///   records a violation names (a battery a return moved from a cabinet not yet copied
    ///   to one already copied, ...), those they point to and those orders' scheduled work
    ///   are copied again in one short hold ([`World::recopy`]), until the check passes (at
    ///   most [`MEND_ROUNDS`] rounds). Records that refer to each other then agree, as they
    ///   did at the instant of the last mend. A copy that cannot be mended is taken again,
    ///   and after [`COPY_TRIES`] tries in one hold, as a long read.
    pub fn copy_at(&self, _gate: &TimeGate<'_>) -> (Millis, World) {
        for _ in 0..COPY_TRIES {
            let before = self.version.load(Ordering::Acquire);
            let mut pass = CopyPass::default();
            let mut pieces = Pieces::new();
            while !self.read_piece(&mut pieces, |w| w.copy_piece(&mut pass, self.piece())) {}
            let mut copy = pass.into_world();
            if self.version.load(Ordering::Acquire) == before {
                pieces.log("copy (exact)");
                return (self.reached(), copy);
            }
            for round in 0..=MEND_ROUNDS {
                // Checked outside the lock: the copy is this thread's own.
                let mut check = CheckPass::default();
                while !copy.check_piece(&mut check, Duration::MAX) {}
                if check.violations().is_empty() {
                    pieces.log(&format!("copy (checked, {round} mend(s))"));
                    return (self.reached(), copy);
                }
                if round == MEND_ROUNDS || check.involved().is_empty() {
                    log::debug!("a copy of the world taken in pieces stays inconsistent ({})", check.violations()[0]);
                    break;
                }
                self.read_piece(&mut pieces, |w| w.recopy(&mut copy, check.involved()));
            }
        }
        log::debug!("copy: {COPY_TRIES} copies in pieces were inconsistent; copying in one hold");
        self.read_long(|w| (self.reached(), w.clone()))
    }

    /// Broken invariants, empty when all hold. Checked in pieces of at most [`PIECE`] under
    /// the read lock, so writers wait at most that long; each violation reported held at
    /// one instant (`model/world/chunked.rs`).
    pub fn check(&self) -> Vec<String> {
        let mut pass = CheckPass::default();
        let mut pieces = Pieces::new();
        while !self.read_piece(&mut pieces, |w| w.check_piece(&mut pass, self.piece())) {}
        pieces.log("check");
        pass.into_violations()
    }

    /// The whole check in one hold (writers wait for all of it), for comparison.
    pub fn check_whole(&self) -> Vec<String> {
        self.read_long(World::check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spin_takes_the_lock_once_it_is_free_and_gives_up_after_its_time() {
        let mut tries = 0;
        assert_eq!(
            spin(
                || {
                    tries += 1;
                    (tries == 3).then_some(tries)
                },
                || false
            ),
            Some(3)
        );
        let start = Instant::now();
        assert_eq!(spin(|| None::<()>, || false), None);
        assert!(start.elapsed() >= SPIN);
    }

    #[test]
    fn a_long_hold_is_not_spun_for() {
        let mut tries = 0;
        let r = spin(
            || {
                tries += 1;
                None::<()>
            },
            || true,
        );
        assert_eq!((r, tries), (None, 1));
    }

    #[test]
    fn a_request_that_spun_out_still_gets_the_lock_when_the_holder_lets_go() {
        let store = std::sync::Arc::new(Store::new(World::empty(1), 0));
        let held = store.world.write();
        let reader = {
            let store = store.clone();
            std::thread::spawn(move || store.read(|w| w.orders().len()))
        };
        // The reader spins, then blocks, counted as waiting; it finishes once the lock is free.
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.waiting_reads.load(Ordering::Acquire) == 0 {
            assert!(Instant::now() < deadline, "the reader never blocked");
            std::thread::yield_now();
        }
        drop(held);
        assert_eq!(reader.join().unwrap(), 0);
    }
}
