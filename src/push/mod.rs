//! Outbound deliveries: event pushes and rent callbacks (docs/event-push.md).
//!
//! Events from the store become deliveries here, outside the world lock, and are delivered by
//! background tasks, never inside a request handler:
//! - events are re-sorted by the sequence number the store gave them under the world lock,
//!   so two handlers finishing in the other order cannot swap two pushes about one cabinet;
//! - one FIFO per ordering key (the cabinet for event pushes, the order for callbacks), so
//!   pushes about one cabinet arrive in the order they happened while keys proceed in
//!   parallel; a delivery being retried holds back only its own key;
//! - each attempt has a timeout; failures are retried on the configured schedule (capped
//!   exponential by default) with +-20 % jitter; the schedule runs on real time, because
//!   receivers are real;
//! - at most `PER_HOST` attempts run at once per receiving host and `GLOBAL` overall, so a
//!   receiver that hangs holds only its own share of connections;
//! - memory is bounded: queued deliveries are capped overall, per receiving host (so one dead
//!   receiver cannot crowd out the others) and in bytes; past a cap new deliveries are
//!   journaled as dropped. The journal keeps the latest entries within its own caps;
//! - delivery tasks run on the runtime the hub was built on, not on the HTTP workers, so a
//!   stopped server does not kill them and a flood of deliveries does not queue behind (or in
//!   front of) API requests on a worker;
//! - `clear` (reset) cancels everything queued or in flight; `drain_for` (shutdown) skips
//!   the remaining back-off waits and gives what is left a bounded grace period.

pub mod journal;
pub mod payload;

use crate::clock::{fmt_datetime, Clock};
use crate::model::{Event, EventKind, PushFault, SimRng};
use journal::{Attempt, Entry, Filter, Journal, Status};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::sync::{watch, Notify, Semaphore};

/// Concurrent attempts per receiving host.
const PER_HOST: usize = 32;
/// Concurrent attempts overall.
const GLOBAL: usize = 1024;
/// How long a gap in the event sequence may hold later events back. A gap means a caller
/// has not handed its events over yet (normally microseconds) or never will (a bug); after
/// this wait the gap is skipped.
const GAP_WAIT: Duration = Duration::from_millis(100);
/// Bytes of a receiver's answer kept in the journal.
const RESPONSE_SNIPPET: usize = 512;
/// Host entries kept before idle ones are forgotten (callback URLs can name many hosts).
const MAX_HOSTS: usize = 1024;

/// Delivery settings.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// Per-attempt timeout (connect, send, answer).
    pub timeout: Duration,
    /// Delay before each retry; its length is the number of retries.
    pub retries: Vec<Duration>,
    /// Queued deliveries beyond which new ones are dropped.
    pub max_pending: usize,
    /// Queued deliveries to one receiving host beyond which new ones to it are dropped.
    pub max_pending_per_host: usize,
    /// Bytes of queued bodies beyond which new deliveries are dropped.
    pub max_pending_bytes: usize,
    /// Journal entries kept.
    pub journal_cap: usize,
    /// Approximate bytes the journal may hold.
    pub journal_bytes: usize,
}

impl Default for PushSettings {
    /// 5 s per attempt; retries after 1, 2, 4, 8 and 16 s; 100,000 queued deliveries (20,000
    /// per host, 64 MiB of bodies); a journal of 20,000 entries within 64 MiB.
    fn default() -> Self {
        PushSettings {
            timeout: Duration::from_secs(5),
            retries: [1, 2, 4, 8, 16].into_iter().map(Duration::from_secs).collect(),
            max_pending: 100_000,
            max_pending_per_host: 20_000,
            max_pending_bytes: 64 << 20,
            journal_cap: 20_000,
            journal_bytes: 64 << 20,
        }
    }
}

/// One delivery to make.
#[derive(Debug, Clone)]
struct Job {
    id: u64,
    epoch: u64,
    url: String,
    /// `url` parsed, when it parses: reqwest would parse the text again at every attempt.
    parsed: Option<reqwest::Url>,
    host: String,
    content_type: &'static str,
    body: Arc<str>,
    /// Metric labels: `event` or `callback`, and the event name.
    labels: (&'static str, &'static str),
}

/// A delivery built from an event, waiting for its turn in the sequence.
struct Delivery {
    key: String,
    entry: Entry,
    /// What a fault rule does to it, if anything.
    fault: Option<PushFault>,
}

/// Re-sorts items numbered by the store back into sequence order. Items numbered 0 (not
/// from the store) or older than the sequence point pass straight through.
#[derive(Debug)]
struct Staging<T> {
    next: u64,
    held: BTreeMap<u64, T>,
}

impl<T> Staging<T> {
    fn new() -> Self {
        Staging { next: 1, held: BTreeMap::new() }
    }

    /// Take `item` numbered `seq`; append to `ready` everything now in sequence.
    fn offer(&mut self, seq: u64, item: T, ready: &mut Vec<T>) {
        if seq == 0 || seq < self.next {
            ready.push(item);
            return;
        }
        self.held.insert(seq, item);
        self.release(ready);
    }

    fn release(&mut self, ready: &mut Vec<T>) {
        while let Some(item) = self.held.remove(&self.next) {
            self.next += 1;
            ready.push(item);
        }
    }

    /// Give up on the missing numbers before the first held item.
    fn skip_gap(&mut self, ready: &mut Vec<T>) {
        if let Some((&first, _)) = self.held.first_key_value() {
            log::debug!("push: events {}..{} were never handed over; not waiting for them", self.next, first);
            self.next = first;
            self.release(ready);
        }
    }

    fn waiting(&self) -> bool {
        !self.held.is_empty()
    }
}

struct Sequencer {
    staging: Staging<Option<Delivery>>,
    timer_armed: bool,
}

#[derive(Default)]
struct Queues {
    /// Present exactly while a drain task runs for the key; its front job is the one the
    /// task is delivering.
    by_key: HashMap<String, VecDeque<Job>>,
    pending: usize,
    bytes: usize,
    per_host: HashMap<String, usize>,
}

impl Queues {
    fn release(&mut self, job: &Job) {
        self.pending = self.pending.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(job.body.len());
        if let Some(n) = self.per_host.get_mut(&job.host) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_host.remove(&job.host);
            }
        }
    }
}

struct Inner {
    settings: PushSettings,
    clock: Arc<Clock>,
    client: reqwest::Client,
    runtime: Option<Handle>,
    sequencer: Mutex<Sequencer>,
    queues: Mutex<Queues>,
    journal: Mutex<Journal>,
    changed: Notify,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    global: Semaphore,
    jitter: Mutex<SimRng>,
    /// Bumped to cancel every queued and in-flight delivery (reset, end of shutdown).
    epoch: watch::Sender<u64>,
    /// Why the last cancellation happened, for the journal.
    cancel_reason: Mutex<&'static str>,
    /// Set at shutdown: no more back-off waits.
    closing: watch::Sender<bool>,
    /// Outcomes by event, for `/_sim/metrics`.
    metrics: crate::metrics::PushMetrics,
    /// Whether the queue is refusing deliveries now (drops are logged once per episode).
    refusing: AtomicBool,
    /// Deliveries refused at a full queue since the episode began.
    refused_in_episode: AtomicU64,
    /// When a line about drops was last logged (at most one a minute).
    drop_logged: Mutex<Option<Instant>>,
    /// The last URL queued and what it parsed to: a load test's callbacks and pushes go to
    /// one or two receivers, and parsing the URL was a quarter of what queueing a delivery
    /// cost the request that made it.
    last_target: Mutex<Option<(String, Target)>>,
    /// Ends the delivery thread, when the hub has one, as the hub goes away.
    _stop_thread: Option<tokio::sync::oneshot::Sender<()>>,
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

/// What one attempt came to.
struct Outcome {
    ok: bool,
    http_status: Option<u16>,
    error: Option<String>,
    response: Option<String>,
    /// No point in retrying (the URL can never work).
    permanent: bool,
    /// Real milliseconds on the wire (not counting the wait for a connection slot).
    duration_ms: u64,
}

/// A URL parsed, and its `host:port`, the unit of the per-host limits ("" when it does not
/// parse).
#[derive(Clone)]
struct Target {
    parsed: Option<reqwest::Url>,
    host: String,
}

impl Target {
    fn of(url: &str) -> Self {
        let parsed = reqwest::Url::parse(url).ok();
        let host = parsed
            .as_ref()
            .map(|u| format!("{}:{}", u.host_str().unwrap_or(""), u.port_or_known_default().unwrap_or(0)))
            .unwrap_or_default();
        Target { parsed, host }
    }
}

impl Hub {
    /// A hub delivering with `settings`, stamping journal entries with `clock`. Delivery
    /// tasks run on the Tokio runtime current at this call (when there is one).
    pub fn new(settings: PushSettings, clock: Arc<Clock>, seed: u64) -> Self {
        Self::with_runtime(settings, clock, seed, Handle::try_current().ok(), None)
    }

    /// A hub whose deliveries run on a thread of their own (a single-threaded runtime): the
    /// simulation driver and the HTTP workers never run delivery tasks, and a flood of
    /// deliveries never delays them (nor they it). The thread ends when the hub is dropped.
    pub fn on_own_thread(settings: PushSettings, clock: Arc<Clock>, seed: u64) -> std::io::Result<Self> {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new().name("bajie-sim-push".into()).spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = handle_tx.send(Err(e));
                    return;
                }
            };
            let _ = handle_tx.send(Ok(rt.handle().clone()));
            // Runs the delivery tasks until the hub is dropped (the sender goes with it).
            rt.block_on(async move {
                let _ = stop_rx.await;
            });
        })?;
        let handle = handle_rx.recv().map_err(|e| std::io::Error::other(e.to_string()))??;
        Ok(Self::with_runtime(settings, clock, seed, Some(handle), Some(stop_tx)))
    }

    fn with_runtime(
        settings: PushSettings,
        clock: Arc<Clock>,
        seed: u64,
        runtime: Option<Handle>,
        stop_thread: Option<tokio::sync::oneshot::Sender<()>>,
    ) -> Self {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .pool_max_idle_per_host(PER_HOST)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bajie-sim/", env!("CARGO_PKG_VERSION")))
            .build()
            // Fails only when the TLS backend cannot start: a default client would silently
            // drop the timeouts, so the process stops instead.
            .expect("the push client builds (fixed settings, rustls)");
        Hub {
            inner: Arc::new(Inner {
                journal: Mutex::new(Journal::new(settings.journal_cap, settings.journal_bytes)),
                settings,
                clock,
                client,
                runtime,
                sequencer: Mutex::new(Sequencer { staging: Staging::new(), timer_armed: false }),
                queues: Mutex::new(Queues::default()),
                changed: Notify::new(),
                hosts: Mutex::new(HashMap::new()),
                global: Semaphore::new(GLOBAL),
                jitter: Mutex::new(SimRng::new(seed ^ 0x5055_5348)),
                epoch: watch::Sender::new(0),
                cancel_reason: Mutex::new("cancelled"),
                closing: watch::Sender::new(false),
                metrics: Default::default(),
                refusing: AtomicBool::new(false),
                refused_in_episode: AtomicU64::new(0),
                drop_logged: Mutex::new(None),
                last_target: Mutex::new(None),
                _stop_thread: stop_thread,
            }),
        }
    }

    fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        match &self.inner.runtime {
            Some(h) => {
                h.spawn(fut);
            }
            None => {
                tokio::spawn(fut);
            }
        }
    }

    /// Queue one delivery, as a fault rule (`/_sim/faults`) may have decided: dropped
    /// (journaled, never sent), delayed (queued after real milliseconds) or sent twice.
    ///
    /// Journal entries this evicts are put in `evicted`, for the caller to drop once its
    /// locks are released (see `Journal::push`).
    fn deliver_with_fault(&self, key: String, mut entry: Entry, fault: Option<PushFault>, evicted: &mut Vec<Entry>) {
        match fault {
            None => {
                self.enqueue(key, entry, evicted);
            }
            Some(PushFault::Drop) => {
                entry.status = Status::Dropped;
                self.inner.metrics.count(entry.kind, crate::metrics::event_label(&entry.event), Status::Dropped);
                entry.error = Some("dropped by a fault rule".into());
                let (_, old) = self.inner.journal.lock().push(entry);
                evicted.extend(old);
                self.inner.changed.notify_waiters();
            }
            Some(PushFault::Duplicate) => {
                self.enqueue(key.clone(), entry.clone(), evicted);
                self.enqueue(key, entry, evicted);
            }
            Some(PushFault::Delay(ms)) => {
                let hub = self.clone();
                self.spawn(async move {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    // No lock is held here: what the push evicts is dropped with the task.
                    hub.enqueue(key, entry, &mut Vec::new());
                });
            }
        }
    }

    /// Turn domain events into deliveries and queue them in the order they happened. Never
    /// blocks on the network.
    pub fn publish(&self, events: Vec<Event>) {
        // Bodies are built before the sequencer lock: only the queueing is serialised.
        let built: Vec<(u64, Option<Delivery>)> = events.into_iter().map(|e| (e.seq, delivery_for(&e))).collect();
        let mut evicted = Vec::new();
        let mut seq = self.inner.sequencer.lock();
        let mut ready = Vec::new();
        for (n, d) in built {
            seq.staging.offer(n, d, &mut ready);
        }
        // Queued under the sequencer lock, so two publishers cannot interleave their batches.
        for d in ready.into_iter().flatten() {
            self.deliver_with_fault(d.key, d.entry, d.fault, &mut evicted);
        }
        self.arm_gap_timer(&mut seq);
        drop(seq);
        // The journal entries these deliveries pushed out, freed outside both locks.
        drop(evicted);
    }

    /// Make sure held-back events go out within [`GAP_WAIT`] even if the gap never fills.
    fn arm_gap_timer(&self, seq: &mut Sequencer) {
        if seq.staging.waiting() && !seq.timer_armed {
            seq.timer_armed = true;
            let hub = self.clone();
            self.spawn(async move {
                tokio::time::sleep(GAP_WAIT).await;
                hub.skip_gap();
            });
        }
    }

    fn skip_gap(&self) {
        let mut evicted = Vec::new();
        let mut seq = self.inner.sequencer.lock();
        seq.timer_armed = false;
        let mut ready = Vec::new();
        seq.staging.skip_gap(&mut ready);
        for d in ready.into_iter().flatten() {
            self.deliver_with_fault(d.key, d.entry, d.fault, &mut evicted);
        }
        // A second gap further on gets its own wait.
        self.arm_gap_timer(&mut seq);
        drop(seq);
        drop(evicted);
    }

    /// Journal `entry` and queue its delivery behind `key`; returns its journal id. The
    /// journal entry this evicts goes into `evicted`, to be dropped outside the caller's locks.
    fn enqueue(&self, key: String, entry: Entry, evicted: &mut Vec<Entry>) -> u64 {
        let inner = &self.inner;
        let target = {
            let mut last = inner.last_target.lock();
            match &*last {
                Some((url, t)) if *url == entry.url => t.clone(),
                _ => {
                    let t = Target::of(&entry.url);
                    *last = Some((entry.url.clone(), t.clone()));
                    t
                }
            }
        };
        let job = Job {
            id: 0,
            epoch: *inner.epoch.borrow(),
            url: entry.url.clone(),
            parsed: target.parsed,
            host: target.host,
            content_type: entry.content_type,
            body: entry.body.clone(),
            labels: (entry.kind, crate::metrics::event_label(&entry.event)),
        };
        let (id, old) = inner.journal.lock().push(entry);
        evicted.extend(old);
        let job = Job { id, ..job };
        let labels = job.labels;
        let (refused, spawn, low) = {
            let mut q = inner.queues.lock();
            let s = &inner.settings;
            let host_pending = q.per_host.get(&job.host).copied().unwrap_or(0);
            let refused = if q.pending >= s.max_pending {
                Some(format!("delivery queue full ({} queued)", q.pending))
            } else if host_pending >= s.max_pending_per_host {
                Some(format!("delivery queue for {} full ({host_pending} queued)", job.host))
            } else if q.bytes + job.body.len() > s.max_pending_bytes {
                Some(format!("delivery queue full ({} bytes queued)", q.bytes))
            } else {
                None
            };
            // Below half of every cap: the end of a refusal episode (half, so a queue that
            // hovers at its cap does not start and end an episode per delivery).
            let low = q.pending * 2 < s.max_pending
                && host_pending * 2 < s.max_pending_per_host
                && q.bytes * 2 < s.max_pending_bytes;
            if refused.is_some() {
                (refused, false, low)
            } else {
                q.pending += 1;
                q.bytes += job.body.len();
                *q.per_host.entry(job.host.clone()).or_default() += 1;
                let fresh = !q.by_key.contains_key(&key);
                q.by_key.entry(key.clone()).or_default().push_back(job);
                (None, fresh, low)
            }
        };
        if let Some(why) = refused {
            inner.metrics.count(labels.0, labels.1, Status::Dropped);
            // Counted (journal totals, `/_sim/health`), not logged one by one: a receiver
            // that cannot keep up would otherwise produce a line per event.
            inner.refused_in_episode.fetch_add(1, Ordering::Relaxed);
            if !inner.refusing.swap(true, Ordering::AcqRel) && self.may_log() {
                log::warn!(
                    "deliveries are being dropped: {why}; drops are counted in /_sim/health (pushDropped) and \
                     the journal, not logged one by one (at most one line a minute)"
                );
            }
            inner.journal.lock().mark(id, Status::Dropped, why);
        } else if low && inner.refusing.load(Ordering::Acquire) {
            self.end_refusal_episode();
        }
        inner.changed.notify_waiters();
        if spawn {
            let hub = self.clone();
            self.spawn(async move { hub.drain(key).await });
        }
        id
    }

    /// The queue accepts again: say how many were dropped meanwhile, once.
    fn end_refusal_episode(&self) {
        let inner = &self.inner;
        if inner.refusing.swap(false, Ordering::AcqRel) {
            let n = inner.refused_in_episode.swap(0, Ordering::AcqRel);
            if self.may_log() {
                log::warn!("the delivery queue accepts again; {n} delivery(ies) were dropped while it was full");
            }
        }
    }

    /// Whether a line about drops may be logged now (one a minute at most).
    fn may_log(&self) -> bool {
        let mut last = self.inner.drop_logged.lock();
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(60)) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// Deliver one key's queue in order, then retire the key.
    async fn drain(self, key: String) {
        loop {
            let job = {
                let mut q = self.inner.queues.lock();
                match q.by_key.get(&key).and_then(|d| d.front().cloned()) {
                    Some(j) => j,
                    None => {
                        q.by_key.remove(&key);
                        return;
                    }
                }
            };
            self.deliver(&job).await;
            let mut q = self.inner.queues.lock();
            let Some(d) = q.by_key.get_mut(&key) else {
                return;
            };
            if d.front().is_some_and(|j| j.id == job.id) {
                d.pop_front();
                q.release(&job);
            }
            if q.by_key.get(&key).is_some_and(VecDeque::is_empty) {
                q.by_key.remove(&key);
                drop(q);
                self.inner.changed.notify_waiters();
                return;
            }
            drop(q);
            self.inner.changed.notify_waiters();
        }
    }

    fn host_limit(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = self.inner.hosts.lock();
        if hosts.len() >= MAX_HOSTS && !hosts.contains_key(host) {
            // Forget hosts no delivery is using right now (only the map holds them).
            hosts.retain(|_, s| Arc::strong_count(s) > 1);
        }
        hosts.entry(host.to_string()).or_insert_with(|| Arc::new(Semaphore::new(PER_HOST))).clone()
    }

    /// One attempt: wait for a connection slot, POST, read the start of the answer.
    async fn attempt(&self, job: &Job, host: &Semaphore) -> Outcome {
        let inner = &self.inner;
        let (Ok(_h), Ok(_g)) = (host.acquire().await, inner.global.acquire().await) else {
            return Outcome {
                ok: false,
                http_status: None,
                error: Some("delivery engine closed".into()),
                response: None,
                permanent: true,
                duration_ms: 0,
            };
        };
        let started = Instant::now();
        let request = match &job.parsed {
            Some(url) => inner.client.post(url.clone()),
            // Refused by reqwest as it refused the text before: the attempt's error says why.
            None => inner.client.post(&job.url),
        };
        let res = request.header("content-type", job.content_type).body(job.body.as_bytes().to_vec()).send().await;
        match res {
            Ok(mut r) => {
                let status = r.status();
                // Read at most a snippet: a receiver streaming a huge answer costs nothing.
                let mut snippet = Vec::new();
                let mut read_error = None;
                while snippet.len() < RESPONSE_SNIPPET {
                    match r.chunk().await {
                        Ok(Some(c)) => snippet.extend_from_slice(&c[..c.len().min(RESPONSE_SNIPPET - snippet.len())]),
                        Ok(None) => break,
                        Err(e) => {
                            read_error = Some(describe(&e));
                            break;
                        }
                    }
                }
                let response = (!snippet.is_empty()).then(|| String::from_utf8_lossy(&snippet).into_owned());
                let error = if !status.is_success() {
                    Some(format!("receiver answered HTTP {}", status.as_u16()))
                } else {
                    read_error.map(|e| format!("answer cut short: {e}"))
                };
                Outcome {
                    ok: error.is_none(),
                    http_status: Some(status.as_u16()),
                    error,
                    response,
                    permanent: false,
                    duration_ms: started.elapsed().as_millis() as u64,
                }
            }
            Err(e) => Outcome {
                ok: false,
                http_status: None,
                error: Some(describe(&e)),
                response: None,
                permanent: e.is_builder(),
                duration_ms: started.elapsed().as_millis() as u64,
            },
        }
    }

    async fn deliver(&self, job: &Job) {
        let inner = &self.inner;
        let mut epoch = inner.epoch.subscribe();
        let mut closing = inner.closing.subscribe();
        let host = self.host_limit(&job.host);
        let tries = inner.settings.retries.len() + 1;
        for n in 0..tries {
            if *epoch.borrow_and_update() != job.epoch {
                return self.cancelled(job);
            }
            let outcome = tokio::select! {
                o = self.attempt(job, &host) => o,
                _ = epoch.changed() => return self.cancelled(job),
            };
            let last = n + 1 == tries || outcome.permanent;
            let delay = if outcome.ok || last {
                None
            } else {
                // +-20 % jitter so many failing receivers do not retry in lock-step.
                let factor = 0.8 + 0.4 * inner.jitter.lock().unit();
                Some(inner.settings.retries[n].mul_f64(factor))
            };
            let status = match (outcome.ok, last) {
                (true, _) => Status::Delivered,
                (false, true) => Status::Failed,
                (false, false) => Status::Retrying,
            };
            let attempt = Attempt {
                at: fmt_datetime(inner.clock.now()),
                http_status: outcome.http_status,
                error: outcome.error,
                duration_ms: outcome.duration_ms,
                response: outcome.response,
                retry_in_ms: delay.map(|d| d.as_millis() as u64),
            };
            inner.metrics.count(job.labels.0, job.labels.1, status);
            inner.journal.lock().record(job.id, attempt, status);
            inner.changed.notify_waiters();
            let Some(delay) = delay else {
                return;
            };
            if !*closing.borrow_and_update() {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    // At shutdown the grace period is better spent trying than waiting.
                    _ = closing.wait_for(|c| *c) => {}
                    _ = epoch.changed() => return self.cancelled(job),
                }
            }
        }
    }

    fn cancelled(&self, job: &Job) {
        let why = *self.inner.cancel_reason.lock();
        self.inner.metrics.count(job.labels.0, job.labels.1, Status::Dropped);
        self.inner.journal.lock().mark(job.id, Status::Dropped, why);
        self.inner.changed.notify_waiters();
    }

    /// Journal entries matching `filter`, oldest first; only the latest `limit` when given.
    pub fn list(&self, filter: &Filter, limit: Option<usize>) -> Vec<Entry> {
        self.inner.journal.lock().matching(filter, limit)
    }

    /// Number of journal entries matching `filter`, copying none (the dashboard's counter).
    pub fn count(&self, filter: &Filter) -> usize {
        self.inner.journal.lock().count(filter)
    }

    /// Wait until at least `count` entries match `filter`, or `timeout` passes. Returns the
    /// matching entries and whether the count was reached.
    pub async fn wait(&self, filter: &Filter, count: usize, timeout: Duration) -> (Vec<Entry>, bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Counting copies nothing; entries are copied once, when the wait ends.
            if self.inner.journal.lock().count(filter) >= count {
                return (self.list(filter, None), true);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let found = self.list(filter, None);
                let ok = found.len() >= count;
                return (found, ok);
            }
        }
    }

    /// Queue a journaled delivery again (`POST /_sim/pushes/{id}/resend`); the new entry's id.
    /// The copy goes to the same URL with the same body, in a queue of its own.
    pub fn resend(&self, id: u64) -> Option<u64> {
        let old = self.inner.journal.lock().get(id)?;
        let entry = old.copy_for_resend(fmt_datetime(self.inner.clock.now()));
        Some(self.enqueue(format!("resend:{id}"), entry, &mut Vec::new()))
    }

    /// Running delivery totals since start.
    pub fn totals(&self) -> journal::Totals {
        self.inner.journal.lock().totals()
    }

    /// The engine's counters by event and outcome (registered with `/_sim/metrics`).
    pub fn metrics(&self) -> &crate::metrics::PushMetrics {
        &self.inner.metrics
    }

    /// Deliveries queued or in flight.
    pub fn pending(&self) -> usize {
        self.inner.queues.lock().pending
    }

    /// Deliveries queued or in flight, and the bytes of their bodies.
    pub fn queued(&self) -> (usize, usize) {
        let q = self.inner.queues.lock();
        (q.pending, q.bytes)
    }

    fn cancel_all(&self, why: &'static str) {
        *self.inner.cancel_reason.lock() = why;
        self.inner.epoch.send_modify(|e| *e += 1);
        // Queued jobs behind each key's front are dropped now; the front belongs to its drain
        // task, which sees the new epoch and retires it.
        let mut q = self.inner.queues.lock();
        let mut dropped = Vec::new();
        for d in q.by_key.values_mut() {
            dropped.extend(d.drain(1..));
        }
        for j in &dropped {
            q.release(j);
        }
        drop(q);
        let mut journal = self.inner.journal.lock();
        for j in &dropped {
            self.inner.metrics.count(j.labels.0, j.labels.1, Status::Dropped);
            journal.mark(j.id, Status::Dropped, why);
        }
    }

    /// Forget the journal and cancel every queued or in-flight delivery (`/_sim/reset`).
    pub fn clear(&self) {
        {
            // Events held back by a sequence gap belong to the world being reset.
            let mut seq = self.inner.sequencer.lock();
            if let Some((&last, _)) = seq.staging.held.last_key_value() {
                seq.staging.next = last + 1;
                seq.staging.held.clear();
            }
        }
        self.cancel_all("cancelled by a reset of the simulator");
        self.inner.journal.lock().clear();
        self.inner.changed.notify_waiters();
    }

    /// Shutdown: stop waiting between retries, give queued deliveries up to `grace` to
    /// finish, then cancel what is left (journaled as dropped, and logged).
    pub async fn drain_for(&self, grace: Duration) {
        self.inner.closing.send_replace(true);
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.pending() == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                break;
            }
        }
        let left = self.pending();
        if left == 0 {
            return;
        }
        log::warn!("shutdown: {left} push(es) or callback(s) not delivered within {grace:?}; abandoned");
        self.cancel_all("abandoned at shutdown after the grace period");
        // In-flight attempts stop at once when cancelled; give their tasks a moment to
        // journal it, without letting a wedged task hold shutdown up.
        let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
        while self.pending() > 0 {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.pending() == 0 || tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }
}

/// The delivery an event asks for, if any: rent callbacks always, pushes when the agent's
/// configuration (as it was when the event happened) subscribes to the event.
fn delivery_for(e: &Event) -> Option<Delivery> {
    match &e.kind {
        EventKind::RentCallback { url, trade_no, status, .. } => {
            let body = payload::callback_form(trade_no, *status);
            let entry = Entry::new(
                "callback",
                format!("RENT_CALLBACK_{status}"),
                e,
                url,
                "application/x-www-form-urlencoded",
                Arc::from(body),
            );
            Some(Delivery { key: format!("order:{trade_no}"), entry, fault: e.fault })
        }
        kind => {
            let name = kind.push_name()?;
            let url = e.push.as_deref().and_then(|c| c.target(name))?;
            let body = payload::event_body(e, name.as_str());
            let entry = Entry::new("event", name.to_string(), e, url, "application/json", Arc::from(body));
            Some(Delivery { key: format!("cabinet:{}", kind.cabinet().unwrap_or("")), entry, fault: e.fault })
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    use std::fmt::Write as _;
    // One buffer for the chain: a dead receiver fails every attempt, and this runs for each.
    let mut chain = String::new();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        let _ = write!(chain, ": {inner}");
        src = inner.source();
    }
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        format!("connection failed (refused or unreachable){chain}")
    } else if e.is_builder() {
        format!("invalid URL{chain}")
    } else {
        format!("{e}{chain}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_releases_in_sequence_order() {
        let mut s = Staging::new();
        let mut out = Vec::new();
        s.offer(2, "b", &mut out);
        s.offer(3, "c", &mut out);
        assert!(out.is_empty() && s.waiting());
        s.offer(1, "a", &mut out);
        assert_eq!(out, ["a", "b", "c"]);
        s.offer(0, "unnumbered", &mut out);
        assert_eq!(out.last(), Some(&"unnumbered"));
    }

    #[test]
    fn staging_skips_a_gap_that_never_fills() {
        let mut s = Staging::new();
        let mut out = Vec::new();
        s.offer(1, "a", &mut out);
        s.offer(3, "c", &mut out);
        s.offer(4, "d", &mut out);
        assert_eq!(out, ["a"]);
        s.skip_gap(&mut out);
        assert_eq!(out, ["a", "c", "d"]);
        assert!(!s.waiting());
        // The late one still goes out rather than being lost.
        s.offer(2, "late b", &mut out);
        assert_eq!(out.last(), Some(&"late b"));
    }

    use crate::model::event::{PushConfig, Subscription};

    fn hub(settings: PushSettings) -> Hub {
        Hub::new(settings, Arc::new(Clock::new(0, 1.0, true)), 7)
    }

    fn offline(cabinet: &str, url: &str, seq: u64) -> Event {
        let config = PushConfig {
            push_url: url.into(),
            event_subscriptions: vec![Subscription {
                event: crate::model::event::EventName::CabinetOffline,
                push_url: "".into(),
                enable: true,
            }],
        };
        Event {
            at: 0,
            agent: "demo".into(),
            kind: EventKind::CabinetOffline { cabinet: cabinet.into() },
            push: Some(Arc::new(config)),
            seq,
            fault: None,
        }
    }

    /// A receiver that accepts connections (the kernel does) but never answers.
    fn silent() -> (std::net::TcpListener, String) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", l.local_addr().unwrap());
        (l, url)
    }

    #[tokio::test]
    async fn events_handed_over_out_of_order_are_queued_in_world_order() {
        let (_l, url) = silent();
        let h = hub(PushSettings { retries: vec![], ..PushSettings::default() });
        h.publish(vec![offline("B", &url, 2), offline("C", &url, 3)]);
        assert!(h.list(&Filter::default(), None).is_empty(), "seq 1 is missing: held back");
        h.publish(vec![offline("A", &url, 1)]);
        let cabs: Vec<_> = h.list(&Filter::default(), None).into_iter().map(|e| e.cabinet.unwrap()).collect();
        assert_eq!(cabs, ["A", "B", "C"]);
        h.clear();
    }

    #[tokio::test]
    async fn a_gap_that_never_fills_holds_events_back_only_briefly() {
        let (_l, url) = silent();
        let h = hub(PushSettings { retries: vec![], ..PushSettings::default() });
        // Two gaps: 1 and 3 never come.
        h.publish(vec![offline("B", &url, 2), offline("D", &url, 4)]);
        assert!(h.list(&Filter::default(), None).is_empty());
        let (found, ok) =
            h.wait(&Filter { status: Some("pending".into()), ..Filter::default() }, 2, GAP_WAIT * 10).await;
        assert!(ok, "{found:?}");
        let cabs: Vec<_> = found.into_iter().map(|e| e.cabinet.unwrap()).collect();
        assert_eq!(cabs, ["B", "D"]);
        h.clear();
    }

    #[tokio::test]
    async fn a_dead_receiver_fills_only_its_own_share_of_the_queue() {
        let (_a, url_a) = silent();
        let (_b, url_b) = silent();
        let h = hub(PushSettings { retries: vec![], max_pending_per_host: 3, ..PushSettings::default() });
        h.publish((1..=5).map(|i| offline(&format!("C{i}"), &url_a, 0)).collect());
        h.publish(vec![offline("D", &url_b, 0)]);
        let dropped = h.list(&Filter { status: Some("dropped".into()), ..Filter::default() }, None);
        assert_eq!(dropped.len(), 2);
        assert!(dropped[0].error.as_deref().unwrap().starts_with("delivery queue for 127.0.0.1:"), "{dropped:?}");
        assert_eq!(h.pending(), 4);
        assert_eq!(h.list(&Filter { cabinet: Some("D".into()), ..Filter::default() }, None)[0].status, Status::Pending);
        h.clear();
    }

    #[test]
    fn hosts_are_keyed_by_host_and_port() {
        assert_eq!(Target::of("http://127.0.0.1:9000/a?b=c").host, "127.0.0.1:9000");
        assert_eq!(Target::of("http://example.com/x").host, "example.com:80");
        let bad = Target::of("not a url");
        assert_eq!((bad.host.as_str(), bad.parsed.is_none()), ("", true));
        assert_eq!(Target::of("http://h:1/p?q=1").parsed.map(|u| u.to_string()).as_deref(), Some("http://h:1/p?q=1"));
    }
}
