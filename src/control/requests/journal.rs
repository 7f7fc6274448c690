//! The request journal's storage: a bounded ring of entries (at most `--request-journal`
//! entries and [`MAX_BYTES`] bytes, each entry within its own caps), the filters of
//! `/_sim/requests`, and running counts per operation for the integration report.
//!
//! Entry ids are UUIDs made from the seed and a counter, never from the world's generator: a
//! request journaled must not change what the world draws next.

use crate::api::contract;
use crate::clock::Millis;
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
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

/// A text cut to at most `cap` bytes (on a character boundary), and whether it was cut.
pub fn capped(text: &str, cap: usize) -> (String, bool) {
    if text.len() <= cap {
        return (text.to_string(), false);
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_string(), true)
}

/// One header as journaled.
#[derive(Debug, Clone, Serialize)]
pub struct Header {
    /// Name, lower case.
    pub name: String,
    /// Value (capped; `Authorization` as scheme and account only).
    pub value: String,
}

/// One contract warning as journaled.
#[derive(Debug, Clone, Serialize)]
pub struct WarningView {
    /// Stable code (`PARAM_SPELLING`, ...).
    pub code: &'static str,
    /// What this request did.
    pub message: String,
    /// The documented way.
    pub alternative: &'static str,
}

impl From<&contract::Warning> for WarningView {
    fn from(w: &contract::Warning) -> Self {
        WarningView { code: w.code.name(), message: w.message.clone(), alternative: w.code.alternative() }
    }
}

/// The answer a request got.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// HTTP status.
    pub http_status: u16,
    /// The envelope's `code` (C4 and S1's string code read as a number), if any.
    pub code: Option<i64>,
    /// The envelope's `msg`, if any.
    pub msg: Option<String>,
    /// The body, capped at [`BODY_CAP`] bytes.
    pub body: String,
    /// Bytes of the whole body.
    pub body_bytes: usize,
    /// Whether `body` is cut.
    pub body_truncated: bool,
}

/// One platform request and its answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// UUID, from the seed and [`Entry::seq`].
    pub id: String,
    /// 1, 2, ... since start (not reset).
    pub seq: u64,
    /// Virtual time the request arrived.
    pub at: String,
    /// Virtual time in milliseconds since the epoch.
    pub at_ms: Millis,
    /// Wall-clock time it arrived (UTC, RFC 3339).
    pub real_time: String,
    /// HTTP method.
    pub method: String,
    /// Path as sent.
    pub path: String,
    /// Operation id (`O1`..`E2`, `A1`), when the path is one.
    pub op: Option<&'static str>,
    /// Raw query string, capped at [`QUERY_CAP`] bytes.
    pub query: String,
    /// Headers (at most [`HEADERS_CAP`]), `Authorization` as scheme and account only.
    pub headers: Vec<Header>,
    /// Request body, capped at [`BODY_CAP`] bytes (`None`: none, or not read).
    pub body: Option<String>,
    /// Bytes of the whole request body.
    pub body_bytes: usize,
    /// Whether `body` is cut.
    pub body_truncated: bool,
    /// The account the credentials name (whether or not they were right).
    pub account: Option<String>,
    /// The cabinet the request concerns.
    pub cabinet: Option<String>,
    /// The order the request concerns (O2: the new order).
    pub order: Option<String>,
    /// What it was answered.
    pub response: Answer,
    /// Real milliseconds from arrival to the answer.
    pub duration_ms: f64,
    /// Whether `--strict` gave the answer instead of the handler.
    pub strict: bool,
    /// Contract warnings.
    pub warnings: Vec<WarningView>,
}

impl Entry {
    fn weight(&self) -> usize {
        // Ids, times, names: a few hundred bytes beside the variable parts.
        256 + self.path.len()
            + self.query.len()
            + self.headers.iter().map(|h| h.name.len() + h.value.len() + 48).sum::<usize>()
            + self.body.as_ref().map_or(0, String::len)
            + self.response.body.len()
            + self.response.msg.as_ref().map_or(0, String::len)
            + self.warnings.iter().map(|w| w.message.len() + 64).sum::<usize>()
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
        self.op.as_ref().is_none_or(|v| e.op.is_some_and(|o| o.eq_ignore_ascii_case(v)))
            && self.method.as_ref().is_none_or(|v| e.method.eq_ignore_ascii_case(v))
            && self.path.as_ref().is_none_or(|v| e.path == *v || e.path.ends_with(v.as_str()))
            && self.agent.as_ref().is_none_or(|v| e.account.as_ref() == Some(v))
            && self.code.is_none_or(|v| e.response.code == Some(v))
            && self.device.as_ref().is_none_or(|v| e.cabinet.as_ref() == Some(v))
            && self.order.as_ref().is_none_or(|v| e.order.as_ref() == Some(v))
            && self.warned.is_none_or(|v| v != e.warnings.is_empty())
            && self.warning.is_none_or(|v| e.warnings.iter().any(|w| w.code == v))
            && self.since_ms.is_none_or(|v| e.at_ms >= v)
            && self.after_seq.is_none_or(|v| e.seq > v)
    }
}

/// Counts of one operation since start or the last clear (not bounded by the ring).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpStats {
    /// Requests.
    pub calls: u64,
    /// Answers by envelope code (`"none"` when the answer had none).
    pub codes: BTreeMap<String, u64>,
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
    entries: VecDeque<Arc<Entry>>,
    /// Keyed by operation id; unknown endpoints under `"unknown"`.
    stats: BTreeMap<&'static str, OpStats>,
}

/// The request journal shared by the middleware and the routes.
#[derive(Debug)]
pub struct Requests {
    cap: usize,
    seed: u64,
    ring: Mutex<Ring>,
    changed: Notify,
}

/// SplitMix64: the UUID's bits from the seed and the counter.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The id of entry `seq` under `seed` (a version-4-shaped UUID).
pub fn entry_id(seed: u64, seq: u64) -> String {
    let hi = mix(seed ^ 0x5245_5155_4553_5453 ^ seq.rotate_left(32));
    let lo = mix(hi ^ seq);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
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
        Requests { cap, seed, ring: Mutex::new(Ring { next: 1, ..Ring::default() }), changed: Notify::new() }
    }

    /// Whether entries are kept at all.
    pub fn enabled(&self) -> bool {
        self.cap > 0
    }

    /// Append an entry (its `id` and `seq` are assigned here), count it, evict past the caps.
    pub fn push(&self, mut e: Entry) {
        if !self.enabled() {
            return;
        }
        {
            let mut r = self.ring.lock();
            e.seq = r.next;
            r.next += 1;
            e.id = entry_id(self.seed, e.seq);
            let s = r.stats.entry(e.op.unwrap_or("unknown")).or_default();
            s.calls += 1;
            *s.codes.entry(e.response.code.map_or_else(|| "none".to_string(), |c| c.to_string())).or_default() += 1;
            *s.http.entry(e.response.http_status).or_default() += 1;
            for w in &e.warnings {
                *s.warnings.entry(w.code).or_default() += 1;
            }
            r.bytes += e.weight();
            r.entries.push_back(Arc::new(e));
            while r.entries.len() > 1 && (r.entries.len() > self.cap || r.bytes > MAX_BYTES) {
                if let Some(old) = r.entries.pop_front() {
                    r.bytes = r.bytes.saturating_sub(old.weight());
                    r.evicted += 1;
                }
            }
        }
        self.changed.notify_waiters();
    }

    /// The latest `limit` entries matching `f`, newest first.
    pub fn list(&self, f: &Filter, limit: usize) -> Vec<Arc<Entry>> {
        self.ring.lock().entries.iter().rev().filter(|e| f.matches(e)).take(limit).cloned().collect()
    }

    /// How many entries match `f`.
    pub fn count(&self, f: &Filter) -> usize {
        self.ring.lock().entries.iter().filter(|e| f.matches(e)).count()
    }

    /// The entry with UUID `id`.
    pub fn get(&self, id: &str) -> Option<Arc<Entry>> {
        self.ring.lock().entries.iter().rev().find(|e| e.id.eq_ignore_ascii_case(id)).cloned()
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
        r.entries.clear();
        r.stats.clear();
        r.bytes = 0;
        r.evicted = 0;
        drop(r);
        self.changed.notify_waiters();
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

    pub(crate) fn entry(op: &'static str, body: usize) -> Entry {
        Entry {
            id: String::new(),
            seq: 0,
            at: String::new(),
            at_ms: 0,
            real_time: String::new(),
            method: "GET".into(),
            path: "/x".into(),
            op: Some(op),
            query: String::new(),
            headers: Vec::new(),
            body: Some("x".repeat(body)),
            body_bytes: body,
            body_truncated: false,
            account: Some("demo".into()),
            cabinet: None,
            order: None,
            response: Answer {
                http_status: 200,
                code: Some(0),
                msg: None,
                body: String::new(),
                body_bytes: 0,
                body_truncated: false,
            },
            duration_ms: 0.0,
            strict: false,
            warnings: Vec::new(),
        }
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
        assert_eq!(j.get(&all[0].id).unwrap().seq, 5);
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
        let u = uuid::Uuid::parse_str(&entry_id(7, 9)).unwrap();
        assert_eq!(u.get_version_num(), 4);
    }

    #[test]
    fn the_byte_budget_holds_whatever_the_entries() {
        let j = Requests::new(1_000_000, 1);
        let big = entry("O1", BODY_CAP).weight();
        for _ in 0..(MAX_BYTES / big + 100) {
            j.push(entry("O1", BODY_CAP));
        }
        assert!(j.size().bytes <= MAX_BYTES);
        assert!(j.size().evicted >= 100);
        assert_eq!(capped("héllo", 2), ("h".to_string(), true));
    }
}
