//! What the threads that move virtual time share with the rest of the simulator: how the world
//! keeps up with the clock ([`Pace`]), the running advance ([`AdvanceJob`]) and the threads'
//! handles ([`Runtime`]). The threads themselves are in `driver`.

use crate::clock::Millis;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::watch;

/// How the world keeps up with the clock, as the driver last measured it.
#[derive(Debug, Default)]
pub struct Pace {
    /// Virtual milliseconds the world is behind the clock (written by the driver).
    pub(crate) lag_ms: AtomicI64,
    /// `f64` bits of virtual seconds per real second over the last window.
    pub(crate) speed_effective: AtomicU64,
    /// Whether the clock is being held back now.
    pub(crate) braking: AtomicBool,
}

impl Pace {
    /// Virtual milliseconds the world is behind the clock.
    pub fn lag_ms(&self) -> Millis {
        self.lag_ms.load(Ordering::Relaxed)
    }

    /// Virtual seconds that passed per real second over the last couple of seconds.
    pub fn speed_effective(&self) -> f64 {
        f64::from_bits(self.speed_effective.load(Ordering::Relaxed))
    }

    /// Whether the clock is held back because the world cannot keep up.
    pub fn braking(&self) -> bool {
        self.braking.load(Ordering::Relaxed)
    }
}

/// One advance of the clock, run on a thread of its own.
#[derive(Debug)]
pub struct AdvanceJob {
    /// Virtual milliseconds asked for.
    pub total_ms: Millis,
    /// Virtual milliseconds the world has been brought through (written by the job's thread).
    pub(crate) done_ms: AtomicI64,
    /// Events the span produced so far.
    pub(crate) events: AtomicUsize,
    cancelled: AtomicBool,
    /// Why it was cancelled, when it was.
    reason: Mutex<Option<String>>,
    /// Set when the job has ended.
    pub(crate) finished: watch::Sender<bool>,
}

/// Where an advance stands.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvanceProgress {
    /// Whether it is still running.
    pub running: bool,
    /// Virtual seconds asked for.
    pub total_seconds: f64,
    /// Virtual seconds the world has been brought through.
    pub done_seconds: f64,
    /// Events the span produced so far.
    pub events: usize,
    /// Why it stopped early, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<String>,
}

impl AdvanceJob {
    /// A job for a span of `total_ms`, not started.
    pub(crate) fn new(total_ms: Millis) -> Self {
        AdvanceJob {
            total_ms,
            done_ms: AtomicI64::new(0),
            events: AtomicUsize::new(0),
            cancelled: AtomicBool::new(false),
            reason: Mutex::new(None),
            finished: watch::Sender::new(false),
        }
    }

    /// Ask the job to stop at its next step.
    pub fn cancel(&self, why: &str) {
        if !self.cancelled.swap(true, Ordering::AcqRel) {
            *self.reason.lock() = Some(why.to_string());
        }
    }

    /// Whether it has been asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Whether it has ended (done or cancelled).
    pub fn is_finished(&self) -> bool {
        *self.finished.borrow()
    }

    /// Wait up to `timeout` for the job to end; whether it did.
    pub async fn wait(&self, timeout: Duration) -> bool {
        let mut rx = self.finished.subscribe();
        let done = tokio::time::timeout(timeout, rx.wait_for(|f| *f)).await.is_ok();
        done
    }

    /// Where it stands.
    pub fn progress(&self) -> AdvanceProgress {
        let done = self.done_ms.load(Ordering::Acquire);
        let finished = self.is_finished();
        AdvanceProgress {
            running: !finished,
            total_seconds: self.total_ms as f64 / 1000.0,
            done_seconds: done as f64 / 1000.0,
            events: self.events.load(Ordering::Acquire),
            cancelled: if done < self.total_ms { self.reason.lock().clone() } else { None },
        }
    }
}

/// The driver's and the advances' shared state, kept in [`super::AppState`].
#[derive(Debug, Default)]
pub struct Runtime {
    /// How the world keeps up with the clock.
    pub pace: Pace,
    /// Set when the driver is asked to stop.
    pub(crate) stop: AtomicBool,
    /// The driver's thread, once started.
    pub(crate) driver: Mutex<Option<JoinHandle<()>>>,
    /// The latest advance and its thread.
    pub(crate) advance: Mutex<Option<(Arc<AdvanceJob>, JoinHandle<()>)>>,
}

impl Runtime {
    /// The latest advance, running or ended.
    pub fn advance(&self) -> Option<Arc<AdvanceJob>> {
        self.advance.lock().as_ref().map(|(j, _)| j.clone())
    }

    /// Cancel the running advance, if any; returns it.
    pub fn cancel_advance(&self, why: &str) -> Option<Arc<AdvanceJob>> {
        let job = self.advance().filter(|j| !j.is_finished())?;
        job.cancel(why);
        Some(job)
    }

    /// Ask the driver to stop, without waiting for it.
    pub fn stop_soon(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(j) = self.advance() {
            j.cancel("the simulator is shutting down");
        }
        if let Some(h) = self.driver.lock().as_ref() {
            h.thread().unpark();
        }
    }

    /// Stop the driver and wait for it (and for a running advance, cancelled).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.cancel_advance("the simulator is shutting down");
        if let Some(h) = self.driver.lock().take() {
            h.thread().unpark();
            let _ = h.join();
        }
        if let Some((_, h)) = self.advance.lock().take() {
            let _ = h.join();
        }
    }
}

/// Nice value of the threads that move time (the driver, advances): CPU-bound for as long as
/// the world is behind, they would otherwise take a core from the HTTP workers on a small
/// machine (on 2 cores, requests during a long advance took 4-10 times as long at p99). At
/// a lower priority the scheduler runs a worker as soon as a request arrives; the world
/// then moves with what is left, and the clock's brake keeps the lag bounded.
pub const TIME_NICE: i32 = 10;

/// Lower the calling thread's scheduling priority to [`TIME_NICE`] (Linux; elsewhere a no-op).
/// A failure only leaves the priority as it was.
pub fn yield_cpu_to_requests() {
    if set_nice(TIME_NICE) {
        NICED.set(true);
    } else {
        log::debug!(
            "cannot lower the priority of {:?}: {}",
            std::thread::current().name(),
            std::io::Error::last_os_error()
        );
    }
}

thread_local! {
    /// Whether this thread runs at [`TIME_NICE`] (a thread that moves time).
    static NICED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Set the calling thread's nice value; whether it could.
fn set_nice(nice: i32) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority and gettid only read their integer arguments; on Linux
        // PRIO_PROCESS with a thread id changes that one thread.
        unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, nice) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = nice;
        false
    }
}

/// Run `f` at normal priority when the calling thread is a niced time mover, back at
/// [`TIME_NICE`] after. For the world lock's holds: a niced thread descheduled while it holds
/// the lock makes every request wait for it (on 2 cores with a load beside it, steps of 2 ms
/// of work took 25-50 ms of wall time, 8% of them). Between its holds the thread stays niced,
/// so requests still win the CPU. Raising a priority back needs the right to (root, or
/// `CAP_SYS_NICE`, or `RLIMIT_NICE`); without it the thread simply stays niced.
pub fn at_normal_priority<R>(f: impl FnOnce() -> R) -> R {
    if !NICED.get() {
        return f();
    }
    if !set_nice(0) {
        // Not allowed: do not try again on this thread.
        NICED.set(false);
        return f();
    }
    let r = f();
    set_nice(TIME_NICE);
    r
}
