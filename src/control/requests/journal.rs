//! The request journal's storage: a bounded ring of entries (at most `--request-journal`
//! entries and [`MAX_BYTES`] bytes, each entry within its own caps), the filters of
//! `/_sim/requests`, and running counts per operation for the integration report.
//!
//! Entry ids are UUIDs made from the seed and a counter, never from the world's generator: a
//! request journaled must not change what the world draws next.

use crate::api::contract;
use crate::clock::{fmt_datetime, Millis};
use actix_web::web::Bytes;
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

/// A text cut to at most `cap` bytes (on a character boundary), in place.
pub fn cut(mut text: String, cap: usize) -> String {
    if text.len() > cap {
        let mut end = cap;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

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

/// A body as kept: the whole body when it is within [`BODY_CAP`] (shared with the answer, not
/// copied), else a copy of its first [`BODY_CAP`] bytes.
#[derive(Debug, Clone, Default)]
pub struct Kept {
    /// The bytes kept.
    pub bytes: Bytes,
    /// Bytes of the whole body.
    pub len: usize,
}

impl Kept {
    /// Keep `body` within the cap. A small body is shared; a prefix is copied so that an entry
    /// never holds a large buffer alive.
    pub fn of(body: &Bytes) -> Self {
        let bytes = if body.len() <= BODY_CAP { body.clone() } else { Bytes::copy_from_slice(&body[..BODY_CAP]) };
        Kept { bytes, len: body.len() }
    }

    /// A copy of the first [`BODY_CAP`] bytes (for buffers that may belong to something larger).
    pub fn copy(body: &[u8]) -> Self {
        Kept { bytes: Bytes::copy_from_slice(&body[..body.len().min(BODY_CAP)]), len: body.len() }
    }

    fn text(&self) -> String {
        // A cut may split a UTF-8 sequence; the lossy reading shows it as one replacement char.
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// One platform request and its answer, as stored (texts are formatted when shown).
#[derive(Debug, Clone)]
pub struct Entry {
    /// UUID, from the seed and [`Entry::seq`].
    pub id: uuid::Uuid,
    /// 1, 2, ... since start (not reset).
    pub seq: u64,
    /// Virtual time the request arrived.
    pub at_ms: Millis,
    /// Wall-clock time it arrived, milliseconds since the epoch.
    pub real_ms: i64,
    /// HTTP method.
    pub method: String,
    /// Path as sent (capped).
    pub path: String,
    /// Operation id (`O1`..`E2`, `A1`), when the path is one.
    pub op: Option<&'static str>,
    /// Raw query string, capped at [`QUERY_CAP`] bytes.
    pub query: String,
    /// Headers (at most [`HEADERS_CAP`]), `Authorization` as scheme and account only.
    pub headers: Vec<Header>,
    /// Request body (`None`: none, or not read).
    pub body: Option<Kept>,
    /// Bytes the request declared or carried.
    pub body_bytes: usize,
    /// The account the credentials name (whether or not they were right).
    pub account: Option<String>,
    /// The cabinet the request concerns.
    pub cabinet: Option<String>,
    /// The order the request concerns (O2: the new order).
    pub order: Option<String>,
    /// HTTP status answered.
    pub http_status: u16,
    /// The envelope's `code` (C4 and S1's string code read as a number), if any.
    pub code: Option<i64>,
    /// The envelope's `msg`, if any.
    pub msg: Option<String>,
    /// The answer's body.
    pub response: Kept,
    /// Real microseconds from arrival to the answer.
    pub duration_us: u64,
    /// Whether `--strict` gave the answer instead of the handler.
    pub strict: bool,
    /// Contract warnings.
    pub warnings: Vec<contract::Warning>,
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
    headers: &'a [Header],
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

impl Entry {
    /// The entry as shown.
    pub fn view(&self) -> EntryView<'_> {
        EntryView {
            id: self.id.to_string(),
            seq: self.seq,
            at: fmt_datetime(self.at_ms),
            at_ms: self.at_ms,
            real_time: chrono::DateTime::<chrono::Utc>::from_timestamp_millis(self.real_ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            method: &self.method,
            path: &self.path,
            op: self.op,
            query: &self.query,
            headers: &self.headers,
            body: self.body.as_ref().map(Kept::text),
            body_bytes: self.body_bytes,
            body_truncated: self.body.as_ref().is_some_and(|b| b.bytes.len() < b.len),
            account: self.account.as_deref(),
            cabinet: self.cabinet.as_deref(),
            order: self.order.as_deref(),
            response: AnswerView {
                http_status: self.http_status,
                code: self.code,
                msg: self.msg.as_deref(),
                body: self.response.text(),
                body_bytes: self.response.len,
                body_truncated: self.response.bytes.len() < self.response.len,
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
        // Ids, times, numbers: a few hundred bytes beside the variable parts.
        256 + self.method.len()
            + self.path.len()
            + self.query.len()
            + self.headers.iter().map(|h| h.name.len() + h.value.len() + 48).sum::<usize>()
            + self.body.as_ref().map_or(0, |b| b.bytes.len())
            + self.response.bytes.len()
            + self.msg.as_ref().map_or(0, String::len)
            + [&self.account, &self.cabinet, &self.order]
                .iter()
                .map(|o| o.as_ref().map_or(0, String::len))
                .sum::<usize>()
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
            && self.code.is_none_or(|v| e.code == Some(v))
            && self.device.as_ref().is_none_or(|v| e.cabinet.as_ref() == Some(v))
            && self.order.as_ref().is_none_or(|v| e.order.as_ref() == Some(v))
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
        let mut evicted = Vec::new();
        {
            let mut r = self.ring.lock();
            e.seq = r.next;
            r.next += 1;
            e.id = entry_id(self.seed, e.seq);
            let s = r.stats.entry(e.op.unwrap_or("unknown")).or_default();
            s.calls += 1;
            *s.codes.entry(e.code).or_default() += 1;
            *s.http.entry(e.http_status).or_default() += 1;
            for w in &e.warnings {
                *s.warnings.entry(w.code.name()).or_default() += 1;
            }
            let weight = e.weight();
            r.bytes += weight;
            r.entries.push_back((Arc::new(e), weight));
            while r.entries.len() > 1 && (r.entries.len() > self.cap || r.bytes > MAX_BYTES) {
                if let Some((old, w)) = r.entries.pop_front() {
                    r.bytes = r.bytes.saturating_sub(w);
                    r.evicted += 1;
                    evicted.push(old);
                }
            }
        }
        // Freed after the lock is released: the other workers do not wait for it.
        drop(evicted);
        self.changed.notify_waiters();
    }

    /// The latest `limit` entries matching `f`, newest first.
    pub fn list(&self, f: &Filter, limit: usize) -> Vec<Arc<Entry>> {
        self.ring.lock().entries.iter().rev().map(|(e, _)| e).filter(|e| f.matches(e)).take(limit).cloned().collect()
    }

    /// How many entries match `f`.
    pub fn count(&self, f: &Filter) -> usize {
        self.ring.lock().entries.iter().filter(|(e, _)| f.matches(e)).count()
    }

    /// The entry with UUID `id`.
    pub fn get(&self, id: &str) -> Option<Arc<Entry>> {
        let id = uuid::Uuid::parse_str(id.trim()).ok()?;
        self.ring.lock().entries.iter().rev().map(|(e, _)| e).find(|e| e.id == id).cloned()
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
            id: uuid::Uuid::nil(),
            seq: 0,
            at_ms: 0,
            real_ms: 0,
            method: "GET".into(),
            path: "/x".into(),
            op: Some(op),
            query: String::new(),
            headers: Vec::new(),
            body: Some(Kept::copy("x".repeat(body).as_bytes())),
            body_bytes: body,
            account: Some("demo".into()),
            cabinet: None,
            order: None,
            http_status: 200,
            code: Some(0),
            msg: None,
            response: Kept::default(),
            duration_us: 0,
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
        assert_eq!(j.get(&all[0].id.to_string()).unwrap().seq, 5);
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
        let big = entry("O1", BODY_CAP).weight();
        for _ in 0..(MAX_BYTES / big + 100) {
            j.push(entry("O1", BODY_CAP));
        }
        assert!(j.size().bytes <= MAX_BYTES);
        assert!(j.size().evicted >= 100);
        assert_eq!(capped("héllo", 2), ("h".to_string(), true));
    }
}
