//! Outbound deliveries: event pushes and rent callbacks.
//!
//! Events from the store become deliveries here, outside the world lock, and are delivered by
//! background tasks, never inside a request handler:
//! - one FIFO per ordering key (the cabinet for event pushes, the order for callbacks), so
//!   pushes about one cabinet arrive in the order they happened, while keys proceed in
//!   parallel;
//! - each attempt has a timeout; failures are retried on a capped schedule with jitter;
//! - at most `PER_HOST` attempts run at once per receiving host and `GLOBAL` overall, so a
//!   receiver that hangs holds only its own share and slows nothing else;
//! - memory is bounded: past `max_pending` queued deliveries new ones are dropped (and
//!   journaled as dropped), and the journal keeps the latest `journal_cap` entries.

pub mod journal;
pub mod payload;

use crate::clock::{fmt_datetime, Clock};
use crate::model::{Event, EventKind, PushFault, SimRng};
use journal::{Attempt, Entry, Filter, Journal, Status};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};

/// Concurrent attempts per receiving host.
const PER_HOST: usize = 32;
/// Concurrent attempts overall.
const GLOBAL: usize = 1024;

/// Delivery settings.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Delay before each retry; its length is the number of retries.
    pub retries: Vec<Duration>,
    /// Queued deliveries beyond which new ones are dropped.
    pub max_pending: usize,
    /// Journal entries kept.
    pub journal_cap: usize,
}

/// One delivery to make.
#[derive(Debug, Clone)]
struct Job {
    id: u64,
    url: String,
    content_type: &'static str,
    body: String,
}

#[derive(Default)]
struct Queues {
    by_key: HashMap<String, VecDeque<Job>>,
    pending: usize,
}

struct Inner {
    settings: PushSettings,
    clock: Arc<Clock>,
    client: reqwest::Client,
    queues: Mutex<Queues>,
    journal: Mutex<Journal>,
    changed: Notify,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    global: Arc<Semaphore>,
    jitter: Mutex<SimRng>,
}

/// The delivery engine. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub delivering with `settings`, stamping journal entries with `clock`.
    pub fn new(settings: PushSettings, clock: Arc<Clock>, seed: u64) -> Self {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .pool_max_idle_per_host(PER_HOST)
            .user_agent(concat!("bajie-sim/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Hub {
            inner: Arc::new(Inner {
                journal: Mutex::new(Journal::new(settings.journal_cap)),
                settings,
                clock,
                client,
                queues: Mutex::new(Queues::default()),
                changed: Notify::new(),
                hosts: Mutex::new(HashMap::new()),
                global: Arc::new(Semaphore::new(GLOBAL)),
                jitter: Mutex::new(SimRng::new(seed ^ 0x5055_5348)),
            }),
        }
    }

    /// Turn domain events into deliveries and queue them. Never blocks on the network.
    pub fn publish(&self, events: Vec<Event>) {
        for e in events {
            let (key, entry) = match &e.kind {
                EventKind::RentCallback { url, trade_no, status } => {
                    let body = payload::callback_form(trade_no, *status);
                    let entry = Entry::new(
                        "callback",
                        format!("RENT_CALLBACK_{status}"),
                        &e,
                        url,
                        "application/x-www-form-urlencoded",
                        body,
                    );
                    (format!("order:{trade_no}"), entry)
                }
                kind => {
                    let Some(name) = kind.push_name() else {
                        continue;
                    };
                    let Some(url) = e.push.as_deref().and_then(|c| c.target(name)) else {
                        continue;
                    };
                    let body = payload::event_body(&e, name);
                    let entry = Entry::new("event", name.to_string(), &e, url, "application/json", body);
                    let key = format!("cabinet:{}", kind.cabinet().unwrap_or(""));
                    (key, entry)
                }
            };
            self.deliver_with_fault(key, entry, e.fault);
        }
    }

    /// Queue one delivery, as a fault rule (`/_sim/faults`) may have decided: dropped
    /// (journaled, never sent), delayed (queued after real milliseconds) or sent twice.
    fn deliver_with_fault(&self, key: String, mut entry: Entry, fault: Option<PushFault>) {
        match fault {
            None => self.enqueue(key, entry),
            Some(PushFault::Drop) => {
                entry.status = Status::Dropped;
                entry.error = Some("dropped by a fault rule".into());
                self.inner.journal.lock().push(entry);
                self.inner.changed.notify_waiters();
            }
            Some(PushFault::Duplicate) => {
                self.enqueue(key.clone(), entry.clone());
                self.enqueue(key, entry);
            }
            Some(PushFault::Delay(ms)) => {
                let hub = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    hub.enqueue(key, entry);
                });
            }
        }
    }

    fn enqueue(&self, key: String, mut entry: Entry) {
        let inner = &self.inner;
        let full = inner.queues.lock().pending >= inner.settings.max_pending;
        if full {
            entry.status = Status::Dropped;
            entry.error = Some("delivery queue full".into());
        }
        let job = Job { id: 0, url: entry.url.clone(), content_type: entry.content_type, body: entry.body.clone() };
        let id = inner.journal.lock().push(entry);
        inner.changed.notify_waiters();
        if full {
            return;
        }
        let job = Job { id, ..job };
        let spawn = {
            let mut q = inner.queues.lock();
            q.pending += 1;
            let fresh = !q.by_key.contains_key(&key);
            q.by_key.entry(key.clone()).or_default().push_back(job);
            fresh
        };
        if spawn {
            let hub = self.clone();
            tokio::spawn(async move { hub.drain(key).await });
        }
    }

    /// Deliver one key's queue in order, then retire the key.
    async fn drain(self, key: String) {
        loop {
            let job = {
                let mut q = self.inner.queues.lock();
                match q.by_key.get_mut(&key).and_then(|d| d.front().cloned()) {
                    Some(j) => j,
                    None => {
                        q.by_key.remove(&key);
                        return;
                    }
                }
            };
            self.deliver(&job).await;
            let mut q = self.inner.queues.lock();
            if let Some(d) = q.by_key.get_mut(&key) {
                d.pop_front();
            }
            q.pending = q.pending.saturating_sub(1);
        }
    }

    fn host_limit(&self, url: &str) -> Arc<Semaphore> {
        let host = reqwest::Url::parse(url)
            .ok()
            .map(|u| format!("{}:{}", u.host_str().unwrap_or(""), u.port_or_known_default().unwrap_or(0)))
            .unwrap_or_default();
        self.inner.hosts.lock().entry(host).or_insert_with(|| Arc::new(Semaphore::new(PER_HOST))).clone()
    }

    async fn deliver(&self, job: &Job) {
        let inner = &self.inner;
        let host = self.host_limit(&job.url);
        let tries = inner.settings.retries.len() + 1;
        for n in 0..tries {
            let outcome = {
                let (Ok(_h), Ok(_g)) = (host.acquire().await, inner.global.acquire().await) else {
                    return;
                };
                let started = Instant::now();
                let res = inner
                    .client
                    .post(&job.url)
                    .header("content-type", job.content_type)
                    .body(job.body.clone())
                    .send()
                    .await;
                let ms = started.elapsed().as_millis() as u64;
                match res {
                    Ok(r) if r.status().is_success() => Ok((r.status().as_u16(), ms)),
                    Ok(r) => {
                        Err((Some(r.status().as_u16()), format!("receiver answered HTTP {}", r.status().as_u16()), ms))
                    }
                    Err(e) => Err((None, describe(&e), ms)),
                }
            };
            let at = fmt_datetime(inner.clock.now());
            let last = n + 1 == tries;
            {
                let mut j = inner.journal.lock();
                match &outcome {
                    Ok((status, ms)) => j.record(
                        job.id,
                        Attempt { at, http_status: Some(*status), error: None, duration_ms: *ms },
                        Status::Delivered,
                    ),
                    Err((status, err, ms)) => {
                        let next = if last { Status::Failed } else { Status::Retrying };
                        j.record(
                            job.id,
                            Attempt { at, http_status: *status, error: Some(err.clone()), duration_ms: *ms },
                            next,
                        )
                    }
                }
            }
            inner.changed.notify_waiters();
            if outcome.is_ok() || last {
                return;
            }
            let base = inner.settings.retries[n];
            // +-20 % jitter so many failing receivers do not retry in lock-step.
            let factor = 0.8 + 0.4 * inner.jitter.lock().unit();
            tokio::time::sleep(base.mul_f64(factor)).await;
        }
    }

    /// Journal entries matching `filter`, oldest first.
    pub fn list(&self, filter: &Filter) -> Vec<Entry> {
        self.inner.journal.lock().matching(filter)
    }

    /// Wait until at least `count` entries match `filter`, or `timeout` passes. Returns the
    /// matching entries and whether the count was reached.
    pub async fn wait(&self, filter: &Filter, count: usize, timeout: Duration) -> (Vec<Entry>, bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let found = self.list(filter);
            if found.len() >= count {
                return (found, true);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let found = self.list(filter);
                let ok = found.len() >= count;
                return (found, ok);
            }
        }
    }

    /// Queue a journaled delivery again (`POST /_sim/pushes/{id}/resend`); the new entry's id.
    pub fn resend(&self, id: u64) -> Option<u64> {
        let old = self.inner.journal.lock().get(id)?;
        let entry = old.copy_for_resend(fmt_datetime(self.inner.clock.now()));
        let key = format!("resend:{}", entry.order.clone().or(entry.cabinet.clone()).unwrap_or_default());
        self.enqueue(key, entry);
        Some(self.inner.journal.lock().last_id())
    }

    /// Deliveries queued or in flight.
    pub fn pending(&self) -> usize {
        self.inner.queues.lock().pending
    }

    /// Forget the journal (`/_sim/reset`); deliveries in flight still finish.
    pub fn clear(&self) {
        self.inner.journal.lock().clear();
        self.inner.changed.notify_waiters();
    }

    /// Wait up to `grace` for queued deliveries to finish (shutdown).
    pub async fn drain_for(&self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        while self.pending() > 0 && tokio::time::Instant::now() < deadline {
            let notified = self.inner.changed.notified();
            let _ = tokio::time::timeout_at(
                deadline.min(tokio::time::Instant::now() + Duration::from_millis(50)),
                notified,
            )
            .await;
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or unreachable".into()
    } else if e.is_builder() {
        "invalid URL".into()
    } else {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            s = format!("{s}: {inner}");
            src = inner.source();
        }
        s
    }
}
