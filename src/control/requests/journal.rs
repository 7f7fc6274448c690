//! The request journal's storage: a bounded ring of entries (at most `--request-journal`
//! entries and [`MAX_BYTES`] bytes, each entry within its own caps), the filters of
//! `/_sim/requests`, and running counts per operation for the integration report.
//!
//! Entry ids are UUIDs made from the seed and a counter, never from the world's generator: a
//! request journaled must not change what the world draws next.

use crate::api::contract;
use crate::clock::{fmt_datetime, Millis};
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// Bytes of a request or response body kept in an entry.
pub const BODY_CAP: usize = 2048;
/// Bytes of a query string kept in an entry.
pub const QUERY_CAP: usize = 2048;
/// Headers kept per entry, and bytes of each value.
pub const HEADERS_CAP: usize = 24;
/// Bytes of one header value kept.
pub const HEADER_VALUE_CAP: usize = 256;
/// Bytes the whole journal is accounted at most, whatever the requests: the oldest entries go
/// first past it.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// One header as shown.
#[derive(Debug, Clone, Serialize)]
pub struct Header<'a> {
    /// Name, lower case.
    pub name: &'a str,
    /// Value (capped; `Authorization` as scheme and account only).
    pub value: &'a str,
}

/// One contract warning as shown.
#[derive(Debug, Clone, Serialize)]
pub struct WarningView<'a> {
    /// Stable code (`PARAM_SPELLING`, ...).
    pub code: &'static str,
    /// What this request did.
    pub message: &'a str,
    /// The documented way.
    pub alternative: &'static str,
}

/// The variable-length parts of an entry, each kept in [`Entry`]'s one text buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// HTTP method (capped at [`HEADER_VALUE_CAP`]).
    Method,
    /// Path as sent (capped at [`QUERY_CAP`]).
    Path,
    /// Raw query string (capped at [`QUERY_CAP`]).
    Query,
    /// Headers, written with [`Entry::add_header`].
    Headers,
    /// Request body (capped at [`BODY_CAP`]); absent when there was none or it was not read.
    Body,
    /// The account the credentials name (whether or not they were right).
    Account,
    /// The cabinet the request concerns.
    Cabinet,
    /// The order the request concerns (O2: the new order).
    Order,
    /// The envelope's `msg` (capped at twice [`HEADER_VALUE_CAP`]).
    Msg,
    /// The answer's body (capped at [`BODY_CAP`]).
    Answer,
}

const PARTS: usize = 10;

impl Part {
    fn cap(self) -> usize {
        match self {
            Part::Path | Part::Query => QUERY_CAP,
            Part::Body | Part::Answer => BODY_CAP,
            Part::Msg => HEADER_VALUE_CAP * 2,
            Part::Headers => usize::MAX,
            Part::Method | Part::Account | Part::Cabinet | Part::Order => HEADER_VALUE_CAP,
        }
    }
}

/// The longest prefix of `text` within `cap` bytes that ends on a character boundary.
pub fn prefix(text: &str, cap: usize) -> &str {
    if text.len() <= cap {
        return text;
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// One platform request and its answer, as stored.
///
/// Built for the request path's cost: every text (method, path, query, headers, body, account,
/// cabinet, order, msg, the answer) is copied, within its cap, into one buffer, so an entry is
/// one allocation; the id, the times and every text are formatted only when the entry is
/// shown. A buffer is reused once the entry leaves the ring (see [`Draft`]), so a journal at
/// its steady state allocates and frees nothing per request. The answer is copied rather than
/// shared with the response: a shared answer was freed only when its entry left the ring,
/// ten thousand requests later and long out of the cache, and that free cost more than the
/// copy of a hot kilobyte.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// 1, 2, ... since start (not reset); the UUID is derived from it and the seed.
    pub seq: u64,
    /// Virtual time the request arrived.
    pub at_ms: Millis,
    /// Wall-clock time it arrived, milliseconds since the epoch.
    pub real_ms: i64,
    /// Operation id (`O1`..`E2`, `A1`), when the path is one.
    pub op: Option<&'static str>,
    /// Bytes the request declared or carried.
    pub body_bytes: usize,
    /// HTTP status answered.
    pub http_status: u16,
    /// The envelope's `code` (C4 and S1's string code read as a number), if any.
    pub code: Option<i64>,
    /// Bytes of the answer's body (its first [`BODY_CAP`] are kept, [`Part::Answer`]).
    pub response_bytes: usize,
    /// Real microseconds from arrival to the answer.
    pub duration_us: u64,
    /// Whether `--strict` gave the answer instead of the handler.
    pub strict: bool,
    /// Contract warnings.
    pub warnings: Vec<contract::Warning>,
    /// The texts, one after the other ([`Part`]); headers as length-prefixed name and value.
    text: Vec<u8>,
    /// Where each part lies in `text`; `None`: absent.
    spans: [Option<(u32, u32)>; PARTS],
    /// Headers written.
    headers: u8,
}

impl Entry {
    /// Forget everything but the buffer's allocation.
    fn reset(&mut self) {
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        let mut warnings = std::mem::take(&mut self.warnings);
        warnings.clear();
        *self = Entry { text, warnings, ..Entry::default() };
    }

    /// Set `part` to `value`, cut to the part's cap on a character boundary. A part is set
    /// once; a second set keeps the first text and shows the second.
    pub fn set(&mut self, part: Part, value: &str) {
        self.set_bytes(part, prefix(value, part.cap()).as_bytes());
    }

    /// Set `part` to the raw `value` cut to the part's cap (a body need not be UTF-8).
    pub fn set_bytes(&mut self, part: Part, value: &[u8]) {
        let value = &value[..value.len().min(part.cap())];
        let start = self.text.len();
        self.text.extend_from_slice(value);
        self.spans[part as usize] = Some((start as u32, self.text.len() as u32));
    }

    /// Append a header (at most [`HEADERS_CAP`]; the name and the value each cut to
    /// [`HEADER_VALUE_CAP`]). Headers are written one after the other, before any other part
    /// that follows them in the buffer.
    pub fn add_header(&mut self, name: &str, value: &[&str]) {
        if usize::from(self.headers) >= HEADERS_CAP {
            return;
        }
        let start = match self.spans[Part::Headers as usize] {
            Some((s, e)) if e as usize == self.text.len() => s,
            Some(_) => return,
            None => self.text.len() as u32,
        };
        let name = prefix(name, HEADER_VALUE_CAP);
        self.text.extend_from_slice(&(name.len() as u32).to_le_bytes());
        self.text.extend_from_slice(name.as_bytes());
        // The value may come in pieces (`Basic ` and the account): cut as a whole.
        let at = self.text.len();
        self.text.extend_from_slice(&[0; 4]);
        let mut room = HEADER_VALUE_CAP;
        for piece in value {
            let piece = prefix(piece, room);
            self.text.extend_from_slice(piece.as_bytes());
            room -= piece.len();
        }
        let len = (HEADER_VALUE_CAP - room) as u32;
        self.text[at..at + 4].copy_from_slice(&len.to_le_bytes());
        self.headers += 1;
        self.spans[Part::Headers as usize] = Some((start, self.text.len() as u32));
    }

    fn bytes(&self, part: Part) -> Option<&[u8]> {
        self.spans[part as usize].and_then(|(s, e)| self.text.get(s as usize..e as usize))
    }

    /// The text of `part`, if set (every part but the body is written from UTF-8 text, cut on
    /// a character boundary).
    pub fn get(&self, part: Part) -> Option<&str> {
        self.bytes(part).map(|b| std::str::from_utf8(b).unwrap_or_default())
    }

    fn text_of(&self, part: Part) -> &str {
        self.get(part).unwrap_or_default()
    }

    /// The headers, in the order sent.
    pub fn headers(&self) -> Vec<Header<'_>> {
        let mut out = Vec::with_capacity(usize::from(self.headers));
        let mut rest = self.bytes(Part::Headers).unwrap_or_default();
        fn next<'a>(rest: &mut &'a [u8]) -> Option<&'a str> {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let len = u32::from_le_bytes(*len) as usize;
            let (text, tail) = tail.split_at_checked(len)?;
            *rest = tail;
            std::str::from_utf8(text).ok()
        }
        while !rest.is_empty() {
            let (Some(name), Some(value)) = (next(&mut rest), next(&mut rest)) else { break };
            out.push(Header { name, value });
        }
        out
    }

    /// The entry as shown; its id is derived from `seed` and its sequence number.
    pub fn view(&self, seed: u64) -> EntryView<'_> {
        let body = self.bytes(Part::Body);
        let answer = self.bytes(Part::Answer).unwrap_or_default();
        EntryView {
            id: entry_id(seed, self.seq).to_string(),
            seq: self.seq,
            at: fmt_datetime(self.at_ms),
            at_ms: self.at_ms,
            real_time: chrono::DateTime::<chrono::Utc>::from_timestamp_millis(self.real_ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            method: self.text_of(Part::Method),
            path: self.text_of(Part::Path),
            op: self.op,
            query: self.text_of(Part::Query),
            headers: self.headers(),
            // A cut may split a UTF-8 sequence; the lossy reading shows it as one replacement char.
            body: body.map(|b| String::from_utf8_lossy(b).into_owned()),
            body_bytes: self.body_bytes,
            body_truncated: body.is_some_and(|b| b.len() < self.body_bytes),
            account: self.get(Part::Account),
            cabinet: self.get(Part::Cabinet),
            order: self.get(Part::Order),
            response: AnswerView {
                http_status: self.http_status,
                code: self.code,
                msg: self.get(Part::Msg),
                body: String::from_utf8_lossy(answer).into_owned(),
                body_bytes: self.response_bytes,
                body_truncated: answer.len() < self.response_bytes,
            },
            duration_ms: self.duration_us as f64 / 1000.0,
            strict: self.strict,
            warnings: self
                .warnings
                .iter()
                .map(|w| WarningView { code: w.code.name(), message: &w.message, alternative: w.code.alternative() })
                .collect(),
        }
    }

    fn weight(&self) -> usize {
        // Times, numbers, spans: a few hundred bytes beside the buffer, the answer and warnings.
        256 + self.text.capacity() + self.warnings.iter().map(|w| w.message.len() + 64).sum::<usize>()
    }
}

/// The answer a request got, as shown.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerView<'a> {
    http_status: u16,
    code: Option<i64>,
    msg: Option<&'a str>,
    body: String,
    body_bytes: usize,
    body_truncated: bool,
}

/// An entry as shown by `/_sim/requests`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryView<'a> {
    id: String,
    seq: u64,
    at: String,
    at_ms: Millis,
    real_time: String,
    method: &'a str,
    path: &'a str,
    op: Option<&'static str>,
    query: &'a str,
    headers: Vec<Header<'a>>,
    body: Option<String>,
    body_bytes: usize,
    body_truncated: bool,
    account: Option<&'a str>,
    cabinet: Option<&'a str>,
    order: Option<&'a str>,
    response: AnswerView<'a>,
    duration_ms: f64,
    strict: bool,
    warnings: Vec<WarningView<'a>>,
}

/// Evicted entries a thread keeps for its next requests. More than one, because requests
/// whose handlers wait (a body, a latency profile) are written side by side on one worker.
/// Bounded: at most this many entries, each within its caps, per worker thread.
const SPARES: usize = 16;

thread_local! {
    /// The entries this thread last evicted, when nobody else held them: its next requests
    /// write into them instead of allocating (actix runs each worker on one thread).
    static SPARE: std::cell::RefCell<Vec<Arc<Entry>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An entry being written by the request it records, pushed with [`Requests::push`].
///
/// Written through one borrow from [`Draft::begin`]: each way to an `Arc`'s contents for
/// writing is an atomic compare-and-swap, and each one waited for the stores before it, most
/// of them into the spare's buffer, last written ten thousand requests earlier and long out of
/// the cache. With one per write access, they were 1.4 % of the server's time on O1 over a
/// 100,000-cabinet fleet (perf).
#[derive(Debug)]
pub struct Draft(Arc<Entry>);

impl Draft {
    /// An entry to write: one of this thread's spares (its buffer reused) or a new one.
    pub fn new() -> Self {
        Draft(SPARE.with_borrow_mut(Vec::pop).unwrap_or_default())
    }

    /// The entry emptied, to fill in. A spare is held by nobody else (checked when it was
    /// kept), so this never copies.
    pub fn begin(&mut self) -> &mut Entry {
        let e = Arc::make_mut(&mut self.0);
        e.reset();
        e
    }

    /// The entry as written so far, to write more (tests write an entry in several steps).
    #[cfg(test)]
    fn entry(&mut self) -> &mut Entry {
        Arc::make_mut(&mut self.0)
    }
}

impl Default for Draft {
    fn default() -> Self {
        Draft::new()
    }
}

/// Which entries a list, count or wait is about. Every field is optional.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Operation id.
    pub op: Option<String>,
    /// HTTP method (case-insensitive).
    pub method: Option<String>,
    /// The path, or its end (`/rent/order/create`).
    pub path: Option<String>,
    /// Account.
    pub agent: Option<String>,
    /// Envelope code (401, 404 for those answers).
    pub code: Option<i64>,
    /// Cabinet.
    pub device: Option<String>,
    /// Order.
    pub order: Option<String>,
    /// `true`: only entries with warnings; `false`: only entries without.
    pub warned: Option<bool>,
    /// Only entries with this warning code.
    pub warning: Option<&'static str>,
    /// Only entries at or after this virtual time.
    pub since_ms: Option<Millis>,
    /// Only entries after the one with this sequence number.
    pub after_seq: Option<u64>,
}

impl Filter {
    /// Whether `e` passes.
    pub fn matches(&self, e: &Entry) -> bool {
        let path = e.text_of(Part::Path);
        self.op.as_ref().is_none_or(|v| e.op.is_some_and(|o| o.eq_ignore_ascii_case(v)))
            && self.method.as_ref().is_none_or(|v| e.text_of(Part::Method).eq_ignore_ascii_case(v))
            && self.path.as_ref().is_none_or(|v| path == v || path.ends_with(v.as_str()))
            && self.agent.as_ref().is_none_or(|v| e.get(Part::Account) == Some(v))
            && self.code.is_none_or(|v| e.code == Some(v))
            && self.device.as_ref().is_none_or(|v| e.get(Part::Cabinet) == Some(v))
            && self.order.as_ref().is_none_or(|v| e.get(Part::Order) == Some(v))
            && self.warned.is_none_or(|v| v != e.warnings.is_empty())
            && self.warning.is_none_or(|v| e.warnings.iter().any(|w| w.code.name() == v))
            && self.since_ms.is_none_or(|v| e.at_ms >= v)
            && self.after_seq.is_none_or(|v| e.seq > v)
    }
}

/// Counts of one operation since start or the last clear (not bounded by the ring).
#[derive(Debug, Clone, Default)]
pub struct OpStats {
    /// Requests.
    pub calls: u64,
    /// Answers by envelope code (`None` when the answer had none).
    pub codes: BTreeMap<Option<i64>, u64>,
    /// Answers by HTTP status.
    pub http: BTreeMap<u16, u64>,
    /// Warnings by code.
    pub warnings: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Default)]
struct Ring {
    next: u64,
    bytes: usize,
    evicted: u64,
    /// Entries and the bytes each is accounted for.
    entries: VecDeque<(Arc<Entry>, usize)>,
    /// Keyed by operation id; unknown endpoints under `"unknown"`.
    stats: BTreeMap<&'static str, OpStats>,
}

/// The request journal shared by the pipeline step and the routes.
#[derive(Debug)]
pub struct Requests {
    cap: usize,
    seed: u64,
    ring: Mutex<Ring>,
    changed: Notify,
    /// Waits in progress: a push wakes them only when there is one (the wake-up takes a lock
    /// of its own, which every journaled request would otherwise pay).
    waiting: AtomicUsize,
}

/// SplitMix64: the UUID's bits from the seed and the counter.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The id of entry `seq` under `seed` (a version-4-shaped UUID).
pub fn entry_id(seed: u64, seq: u64) -> uuid::Uuid {
    let hi = mix(seed ^ 0x5245_5155_4553_5453 ^ seq.rotate_left(32));
    let lo = mix(hi ^ seq);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A snapshot of the journal's size, for the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Size {
    /// Entries kept at most (0: off).
    pub capacity: usize,
    /// Entries kept now.
    pub held: usize,
    /// Entries dropped from the ring to stay within its caps since the last clear.
    pub evicted: u64,
    /// Bytes the kept entries are accounted for.
    pub bytes: usize,
}

impl Requests {
    /// A journal of at most `cap` entries (0: off), ids derived from `seed`.
    pub fn new(cap: usize, seed: u64) -> Self {
        Requests {
            cap,
            seed,
            ring: Mutex::new(Ring { next: 1, ..Ring::default() }),
            changed: Notify::new(),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Whether entries are kept at all.
    pub fn enabled(&self) -> bool {
        self.cap > 0
    }

    /// The seed entry ids are derived from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Append an entry (its `seq` is assigned here), count it, evict past the caps. The lock
    /// is held for the counts and a pointer move: the entry was written before, and an evicted
    /// one is freed (or kept for one of this thread's next [`Draft`]s) after.
    pub fn push(&self, draft: Draft) {
        if !self.enabled() {
            return;
        }
        let mut arc = draft.0;
        let mut first: Option<Arc<Entry>> = None;
        let mut more: Vec<Arc<Entry>> = Vec::new();
        {
            let mut r = self.ring.lock();
            let e = Arc::make_mut(&mut arc);
            e.seq = r.next;
            r.next += 1;
            let s = r.stats.entry(e.op.unwrap_or("unknown")).or_default();
            s.calls += 1;
            *s.codes.entry(e.code).or_default() += 1;
            *s.http.entry(e.http_status).or_default() += 1;
            for w in &e.warnings {
                *s.warnings.entry(w.code.name()).or_default() += 1;
            }
            let weight = e.weight();
            r.bytes += weight;
            r.entries.push_back((arc, weight));
            while r.entries.len() > 1 && (r.entries.len() > self.cap || r.bytes > MAX_BYTES) {
                if let Some((old, w)) = r.entries.pop_front() {
                    r.bytes = r.bytes.saturating_sub(w);
                    r.evicted += 1;
                    if first.is_none() {
                        first = Some(old);
                    } else {
                        more.push(old);
                    }
                }
            }
        }
        // After the lock: the other workers do not wait for a free or a wake-up.
        if let Some(mut old) = first {
            if Arc::get_mut(&mut old).is_some() {
                SPARE.with_borrow_mut(|spares| {
                    if spares.len() < SPARES {
                        spares.push(old);
                    }
                });
            }
        }
        drop(more);
        self.wake();
    }

    /// The latest `limit` entries matching `f`, newest first.
    pub fn list(&self, f: &Filter, limit: usize) -> Vec<Arc<Entry>> {
        self.ring.lock().entries.iter().rev().map(|(e, _)| e).filter(|e| f.matches(e)).take(limit).cloned().collect()
    }

    /// How many entries match `f`.
    pub fn count(&self, f: &Filter) -> usize {
        self.ring.lock().entries.iter().filter(|(e, _)| f.matches(e)).count()
    }

    /// The entry with UUID `id` (ids are derived, so each kept entry's is computed and compared).
    pub fn get(&self, id: &str) -> Option<Arc<Entry>> {
        let id = uuid::Uuid::parse_str(id.trim()).ok()?;
        let r = self.ring.lock();
        r.entries.iter().rev().map(|(e, _)| e).find(|e| entry_id(self.seed, e.seq) == id).cloned()
    }

    /// The sequence number of the entry with UUID `id`, if still kept.
    pub fn seq_of(&self, id: &str) -> Option<u64> {
        self.get(id).map(|e| e.seq)
    }

    /// Counts per operation since start or the last clear.
    pub fn stats(&self) -> BTreeMap<&'static str, OpStats> {
        self.ring.lock().stats.clone()
    }

    /// How full the journal is.
    pub fn size(&self) -> Size {
        let r = self.ring.lock();
        Size { capacity: self.cap, held: r.entries.len(), evicted: r.evicted, bytes: r.bytes }
    }

    /// Forget every entry and count (ids keep counting, so an old id never names a new entry).
    pub fn clear(&self) {
        let mut r = self.ring.lock();
        let entries = std::mem::take(&mut r.entries);
        r.stats.clear();
        r.bytes = 0;
        r.evicted = 0;
        drop(r);
        // Freed after the lock, like evicted entries.
        drop(entries);
        self.wake();
    }

    /// Wake the waits in progress. Called after the ring's lock is released: a wait counts
    /// itself in `waiting` before it takes the lock to count entries, so a push that reads 0
    /// here released the lock before that wait took it, and the wait sees the new entry.
    fn wake(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.changed.notify_waiters();
        }
    }

    /// Wait until at least `count` entries match `f`, or `timeout` passes; the matching
    /// entries (newest first, at most `limit`) and whether the count was reached.
    pub async fn wait(
        &self,
        f: &Filter,
        count: usize,
        limit: usize,
        timeout: std::time::Duration,
    ) -> (Vec<Arc<Entry>>, usize, bool) {
        /// Counts this wait in `waiting` for as long as it runs, dropped or not.
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let n = self.count(f);
            if n >= count {
                return (self.list(f, limit), n, true);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let n = self.count(f);
                return (self.list(f, limit), n, n >= count);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn entry(op: &'static str, body: usize) -> Draft {
        let mut d = Draft::new();
        let e = d.begin();
        e.set(Part::Method, "GET");
        e.set(Part::Path, "/x");
        e.set(Part::Query, "");
        e.set_bytes(Part::Body, "x".repeat(body).as_bytes());
        e.set(Part::Account, "demo");
        e.op = Some(op);
        e.body_bytes = body;
        e.http_status = 200;
        e.code = Some(0);
        d
    }

    #[test]
    fn the_ring_keeps_the_newest_entries_and_counts_everything() {
        let j = Requests::new(3, 42);
        for _ in 0..5 {
            j.push(entry("O1", 10));
        }
        let all = j.list(&Filter::default(), 100);
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![5, 4, 3]);
        assert_eq!(j.stats()["O1"].calls, 5);
        assert_eq!(j.size().evicted, 2);
        assert_eq!(j.get(&entry_id(42, all[0].seq).to_string()).unwrap().seq, 5);
        j.clear();
        assert_eq!(j.count(&Filter::default()), 0);
        j.push(entry("O1", 10));
        assert_eq!(j.list(&Filter::default(), 1)[0].seq, 6, "ids keep counting after a clear");
        let off = Requests::new(0, 42);
        off.push(entry("O1", 10));
        assert_eq!(off.count(&Filter::default()), 0);
    }

    #[test]
    fn ids_are_uuids_from_the_seed_and_the_counter() {
        assert_eq!(entry_id(42, 1), entry_id(42, 1));
        assert_ne!(entry_id(42, 1), entry_id(42, 2));
        assert_ne!(entry_id(42, 1), entry_id(43, 1));
        assert_eq!(entry_id(7, 9).get_version_num(), 4);
    }

    #[test]
    fn the_byte_budget_holds_whatever_the_entries() {
        let j = Requests::new(1_000_000, 1);
        let big = entry("O1", BODY_CAP).0.weight();
        for _ in 0..(MAX_BYTES / big + 100) {
            j.push(entry("O1", BODY_CAP));
        }
        assert!(j.size().bytes <= MAX_BYTES);
        assert!(j.size().evicted >= 100);
        assert_eq!(prefix("héllo", 2), "h");
    }

    #[test]
    fn an_entry_keeps_its_texts_within_their_caps_and_a_reused_one_nothing_of_before() {
        let j = Requests::new(1, 5);
        let mut d = entry("O1", 10);
        let e = d.entry();
        e.add_header("host", &["example"]);
        e.add_header("authorization", &["Basic ", "demo"]);
        e.add_header(&"n".repeat(1000), &["é".repeat(1000).as_str()]);
        for i in 0..HEADERS_CAP {
            e.add_header("x-more", &[&i.to_string()]);
        }
        e.set(Part::Query, &"é".repeat(QUERY_CAP));
        e.warnings.push(contract::Warning { code: contract::Code::UnknownParam, message: "m".into() });
        let h = e.headers();
        assert_eq!(h.len(), HEADERS_CAP);
        assert_eq!((h[0].name, h[0].value), ("host", "example"));
        assert_eq!(h[1].value, "Basic demo");
        assert_eq!((h[2].name.len(), h[2].value.len()), (HEADER_VALUE_CAP, HEADER_VALUE_CAP));
        assert_eq!(e.get(Part::Query).unwrap().len(), QUERY_CAP);
        assert_eq!(e.get(Part::Cabinet), None);
        let shown = serde_json::to_value(e.view(5)).unwrap();
        assert_eq!(shown["body"], "x".repeat(10));
        assert_eq!(shown["account"], "demo");
        assert_eq!(shown["id"], entry_id(5, 0).to_string());
        j.push(d);
        // The first entry leaves the ring; this thread reuses it for the next one.
        j.push(entry("O2", 0));
        let mut d = Draft::new();
        let e = d.begin();
        assert!(e.text.capacity() > 0, "the evicted entry's buffer is reused");
        let shown = serde_json::to_value(e.view(5)).unwrap();
        assert_eq!(shown["headers"], serde_json::json!([]));
        assert_eq!(shown["warnings"], serde_json::json!([]));
        assert_eq!((shown["body"].is_null(), shown["account"].is_null(), shown["op"].is_null()), (true, true, true));
    }
}
