//! The threads that move virtual time: the simulation driver and long advances.
//!
//! The driver is a thread of its own, not a task on an async runtime: stepping a large world
//! is CPU work, and on a runtime thread it would starve whatever shares that thread (it used
//! to share one with the delivery engine and the accept loop). It brings the world up to the
//! clock in bounded steps (`store::Store::step`, a few milliseconds each, the lock released
//! between them), hands each step's events to the delivery engine, and keeps the clock's
//! brake a bounded distance ahead of the world: when the machine cannot simulate as fast as
//! the requested speed, virtual time slows to what it sustains instead of running away from
//! the world ([`Pace`], reported in `/_sim/health`, logged once per episode).
//!
//! A long advance (`POST /_sim/clock?advance=S`) runs on a thread of its own as a job
//! ([`AdvanceJob`]): it moves the clock in chunks and brings the world up after each, in the
//! same bounded steps, so requests keep being answered; it reports its progress and stops
//! between two steps when cancelled (`?cancel=true`, a later clock request, a reset).

use crate::clock::{Millis, MINUTE};
use crate::state::runtime::AdvanceJob;
use crate::state::AppState;
use crate::store::StepBudget;
use actix_web::web;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One virtual hour.
const HOUR: Millis = 60 * MINUTE;
/// Real time the driver sleeps when the world has caught up with the clock.
const PERIOD: Duration = Duration::from_millis(20);
/// Real time the driver steps before it looks at the brake and its figures again.
const SLICE: Duration = Duration::from_millis(50);
/// How far (in real time at the requested speed) the clock may run ahead of the world before
/// it is held back: the bound of the lag.
const MAX_LAG_REAL_MS: f64 = 1_000.0;
/// Real time over which the effective speed is measured.
const SPEED_WINDOW: Duration = Duration::from_secs(2);
/// Real time between two log lines about the clock being held back.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// The virtual milliseconds the clock may run ahead of the world at `speed`.
pub fn max_lag(speed: f64) -> Millis {
    ((speed * MAX_LAG_REAL_MS) as Millis).max(1_000)
}

/// Start the driver thread.
pub fn start(state: web::Data<AppState>) -> std::io::Result<()> {
    let st = state.clone();
    let handle = std::thread::Builder::new().name("bajie-sim-driver".into()).spawn(move || {
        crate::state::runtime::yield_cpu_to_requests();
        drive(&st)
    })?;
    *state.runtime.driver.lock() = Some(handle);
    Ok(())
}

/// The driver's loop (see the module header).
fn drive(state: &AppState) {
    let rt = &state.runtime;
    let mut window = (Instant::now(), state.clock.now());
    let mut last_log: Option<Instant> = None;
    let mut episode_start: Option<Instant> = None;
    while !rt.stop.load(Ordering::Acquire) {
        let reading = state.clock.reading();
        let mut behind = false;
        if !reading.frozen {
            let slice = Instant::now();
            loop {
                let (reached, now) = state.step_to_clock();
                behind = reached < now;
                if !behind || slice.elapsed() >= SLICE || rt.stop.load(Ordering::Acquire) {
                    break;
                }
            }
        }
        let reading = state.clock.reading();
        let reached = state.store.reached();
        let bound = max_lag(reading.speed);
        if !reading.frozen {
            state.clock.hold_below(reached + bound);
        }
        let lag = (reading.now - reached).max(0);
        rt.pace.lag_ms.store(lag, Ordering::Relaxed);
        // Held back when the clock stands at (or within a step of) its brake.
        let braking = !reading.frozen && behind && lag * 10 >= bound * 9;
        let was = rt.pace.braking.swap(braking, Ordering::Relaxed);
        if braking && !was {
            episode_start = Some(Instant::now());
            if last_log.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
                last_log = Some(Instant::now());
                log::warn!(
                    "the simulation cannot keep up with speed {}: virtual time is held within {} s of the world \
                     and slows to what this machine sustains (see speedEffective in /_sim/health); logged at \
                     most once a minute",
                    reading.speed,
                    bound / 1000
                );
            }
        } else if was && !braking {
            if let Some(t) = episode_start.take().filter(|t| t.elapsed() >= LOG_EVERY) {
                log::info!("the simulation keeps up with the clock again after {} s", t.elapsed().as_secs());
            }
        }
        let elapsed = window.0.elapsed();
        if elapsed >= SPEED_WINDOW || reading.frozen {
            let speed = if reading.frozen {
                0.0
            } else {
                ((reading.now - window.1) as f64 / elapsed.as_secs_f64().max(1e-3) / 1000.0).max(0.0)
            };
            rt.pace.speed_effective.store(speed.to_bits(), Ordering::Relaxed);
            window = (Instant::now(), reading.now);
        }
        if behind {
            std::thread::yield_now();
        } else {
            std::thread::park_timeout(PERIOD);
        }
    }
}

/// Start advancing the clock by `ms` on a thread of its own, after cancelling (and waiting
/// for) the advance that runs, if any.
pub fn start_advance(state: web::Data<AppState>, ms: Millis) -> std::io::Result<Arc<AdvanceJob>> {
    let job = Arc::new(AdvanceJob::new(ms.max(0)));
    let mut slot = state.runtime.advance.lock();
    let previous = slot.take();
    if let Some((j, _)) = &previous {
        j.cancel("cancelled by a later clock request");
    }
    let (st, j) = (state.clone(), job.clone());
    let handle = std::thread::Builder::new().name("bajie-sim-advance".into()).spawn(move || {
        crate::state::runtime::yield_cpu_to_requests();
        if let Some((_, h)) = previous {
            let _ = h.join();
        }
        run_advance(&st, &j);
        j.finished.send_replace(true);
    })?;
    *slot = Some((job.clone(), handle));
    Ok(job)
}

/// Move the clock by the job's span in chunks, bringing the world up after each.
fn run_advance(state: &AppState, job: &AdvanceJob) {
    // The clock jumps a chunk ahead and the world follows in bounded steps: chunks of at
    // most an hour keep the clock (and the times of requests served meanwhile) close to the
    // world; at most ~2000 of them for shorter spans, as each costs a little.
    let chunk = state.step_ms().max((job.total_ms / 2000).min(HOUR)).max(1);
    let mut left = job.total_ms;
    let mut done = 0;
    while left > 0 && !job.is_cancelled() {
        let d = left.min(chunk);
        let target = state.clock_advance(d);
        loop {
            let (reached, now, events) = state.step_to_clock_counted(StepBudget::ADVANCE);
            job.events.fetch_add(events, Ordering::AcqRel);
            // Progress within the chunk: how far the world got towards its end.
            job.done_ms.store(done + (d - (target - reached).max(0)).clamp(0, d), Ordering::Release);
            if reached >= now {
                break;
            }
            if job.is_cancelled() {
                return;
            }
            // Give the core to whatever waits for it (a request's worker, its client) before
            // the next step takes the lock at normal priority again (`StepBudget::ADVANCE`);
            // with nothing else to run this returns at once.
            std::thread::yield_now();
        }
        left -= d;
        done += d;
        job.done_ms.store(done, Ordering::Release);
    }
}
