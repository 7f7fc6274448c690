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
