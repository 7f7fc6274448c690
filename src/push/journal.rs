//! The bounded journal of every outbound delivery and its attempts (`/_sim/pushes`).

use crate::clock::fmt_datetime;
use crate::model::Event;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// Queued, not yet attempted.
    Pending,
    /// An attempt failed; another is scheduled.
    Retrying,
    /// A receiver answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
    /// Not delivered and never will be: refused at the queue (full, or a fault rule), or
    /// cancelled by a reset or at shutdown.
    Dropped,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Retrying => "retrying",
            Status::Delivered => "delivered",
            Status::Failed => "failed",
            Status::Dropped => "dropped",
        }
    }
}

/// One attempt.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// Virtual time of the attempt.
    pub at: String,
    /// HTTP status the receiver answered, if it answered.
    pub http_status: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// Real milliseconds the attempt took. Kept for logs but not exported: the journal is part
    /// of what determinism promises byte for byte, and wall-clock durations never repeat.
    #[serde(skip_serializing)]
    pub duration_ms: u64,
    /// The start of what the receiver answered (at most 512 bytes), if it answered.
    pub response: Option<String>,
    /// Real milliseconds until the next attempt, when one is scheduled.
    pub retry_in_ms: Option<u64>,
}

/// One delivery.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Journal id.
    pub id: u64,
    /// `event` or `callback`.
    pub kind: &'static str,
    /// Event name, or `RENT_CALLBACK_<status>` for callbacks.
    pub event: String,
    /// Agent account.
    pub agent: String,
    /// Cabinet concerned.
    pub cabinet: Option<String>,
    /// Order concerned.
    pub order: Option<String>,
    /// Receiver.
    pub url: String,
    /// Content type sent.
    pub content_type: &'static str,
    /// Body sent (shared with the queued delivery, not copied).
    pub body: Arc<str>,
    /// Where it stands.
    pub status: Status,
    /// Virtual time the event happened.
    pub created_at: String,
    /// Last error, if any.
    pub error: Option<String>,
    /// Every attempt so far.
    pub attempts: Vec<Attempt>,
}

impl Entry {
    /// A pending entry for `event`.
    pub fn new(
        kind: &'static str,
        name: String,
        e: &Event,
        url: &str,
        content_type: &'static str,
        body: Arc<str>,
    ) -> Self {
        Entry {
            id: 0,
            kind,
            event: name,
            agent: e.agent.clone(),
            cabinet: e.kind.cabinet().map(str::to_string),
            order: e.kind.order().map(str::to_string),
            url: url.to_string(),
            content_type,
            body,
            status: Status::Pending,
            created_at: fmt_datetime(e.at),
            error: None,
            attempts: Vec::new(),
        }
    }

    /// A fresh pending copy, for a resend.
    pub fn copy_for_resend(&self, now: String) -> Self {
        Entry { id: 0, status: Status::Pending, created_at: now, error: None, attempts: Vec::new(), ..self.clone() }
    }
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Event name (`BATTERY_IN`, `RENT_CALLBACK_1`, ...).
    pub event: Option<String>,
    /// `event` or `callback`.
    pub kind: Option<String>,
    /// Cabinet id.
    pub cabinet: Option<String>,
    /// Order id.
    pub order: Option<String>,
    /// Status name.
    pub status: Option<String>,
    /// Agent account.
    pub agent: Option<String>,
    /// Event name to leave out (the dashboard hides the heartbeats' CABINET_STATUS).
    pub exclude_event: Option<String>,
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        self.event.as_ref().is_none_or(|v| *v == e.event)
            && self.kind.as_ref().is_none_or(|v| v == e.kind)
            && self.cabinet.as_ref().is_none_or(|v| e.cabinet.as_ref() == Some(v))
            && self.order.as_ref().is_none_or(|v| e.order.as_ref() == Some(v))
            && self.status.as_ref().is_none_or(|v| v == e.status.name())
            && self.agent.as_ref().is_none_or(|v| *v == e.agent)
            && self.exclude_event.as_ref().is_none_or(|v| *v != e.event)
    }
}

/// Bytes an entry is accounted for besides its body (ids, names, URL, attempts).
const ENTRY_OVERHEAD: usize = 512;

fn weight(e: &Entry) -> usize {
    ENTRY_OVERHEAD + e.body.len() + e.url.len()
}

/// The journal: the latest entries, at most `cap` of them and about `max_bytes` in total, so
/// it stays bounded whatever the receivers do.
#[derive(Debug)]
pub struct Journal {
    cap: usize,
    max_bytes: usize,
    bytes: usize,
    next: u64,
    entries: VecDeque<Entry>,
    totals: Totals,
}

/// Running totals since start (not reset with the journal's entries), for `/_sim/health` and
/// the benchmark's delivery rate.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Deliveries journaled.
    pub queued: u64,
    /// Attempts made.
    pub attempts: u64,
    /// Deliveries a receiver accepted.
    pub delivered: u64,
    /// Deliveries that gave up.
    pub failed: u64,
    /// Deliveries never attempted.
    pub dropped: u64,
}

impl Totals {
    fn count(&mut self, status: Status) {
        match status {
            Status::Delivered => self.delivered += 1,
            Status::Failed => self.failed += 1,
            Status::Dropped => self.dropped += 1,
            _ => {}
        }
    }
}

impl Journal {
    /// An empty journal keeping at most `cap` entries and about `max_bytes` bytes.
    pub fn new(cap: usize, max_bytes: usize) -> Self {
        Journal { cap: cap.max(1), max_bytes, bytes: 0, next: 1, entries: VecDeque::new(), totals: Totals::default() }
    }

    /// Append, evicting the oldest entries past the limits; returns the entry's id and the
    /// first entry evicted, for the caller to drop once its locks are released.
    ///
    /// A full journal evicts one entry a push. An entry is mostly allocated by whichever
    /// thread built it (a worker, the delivery thread) and glibc frees a block into its
    /// allocating thread's arena, under that arena's lock: freed here, the wait for it was
    /// spent holding the journal's mutex and the sequencer's, stalling the other worker's
    /// publish (seen in a scheduler trace of the mixed workload). Entries past the first
    /// (only when the byte budget is crossed by a large body) are dropped here.
    #[must_use = "the evicted entry is meant to be dropped outside the journal's lock"]
    pub fn push(&mut self, mut e: Entry) -> (u64, Option<Entry>) {
        e.id = self.next;
        self.next += 1;
        self.totals.queued += 1;
        self.totals.count(e.status);
        self.bytes += weight(&e);
        self.entries.push_back(e);
        let mut evicted = None;
        // The newest entry always stays, even when it alone is over the byte budget.
        while self.entries.len() > 1 && (self.entries.len() > self.cap || self.bytes > self.max_bytes) {
            if let Some(old) = self.entries.pop_front() {
                self.bytes = self.bytes.saturating_sub(weight(&old));
                if evicted.is_none() {
                    evicted = Some(old);
                }
            }
        }
        (self.next - 1, evicted)
    }

    fn find(&mut self, id: u64) -> Option<&mut Entry> {
        // Ids are consecutive, so the position is arithmetic unless entries were evicted.
        let first = self.entries.front()?.id;
        let idx = id.checked_sub(first)? as usize;
        self.entries.get_mut(idx).filter(|e| e.id == id)
    }

    /// A copy of entry `id`.
    pub fn get(&mut self, id: u64) -> Option<Entry> {
        self.find(id).cloned()
    }

    /// Record an attempt and the new status.
    pub fn record(&mut self, id: u64, a: Attempt, status: Status) {
        self.totals.attempts += 1;
        self.totals.count(status);
        if let Some(e) = self.find(id) {
            e.error = a.error.clone();
            e.attempts.push(a);
            e.status = status;
        }
    }

    /// Set an entry's status and error without an attempt (dropped, cancelled).
    pub fn mark(&mut self, id: u64, status: Status, error: impl Into<String>) {
        self.totals.count(status);
        if let Some(e) = self.find(id) {
            e.status = status;
            e.error = Some(error.into());
        }
    }

    /// The latest `limit` entries matching `f` (all when `None`), oldest first.
    pub fn matching(&self, f: &Filter, limit: Option<usize>) -> Vec<Entry> {
        let limit = limit.unwrap_or(usize::MAX);
        let mut v: Vec<Entry> = self.entries.iter().rev().filter(|e| f.matches(e)).take(limit).cloned().collect();
        v.reverse();
        v
    }

    /// How many entries match `f` (no copies: `/_sim/pushes/wait` polls this).
    pub fn count(&self, f: &Filter) -> usize {
        self.entries.iter().filter(|e| f.matches(e)).count()
    }

    /// Running totals since start.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Drop every entry (ids keep counting).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, EventKind};

    fn entry(body: &str) -> Entry {
        let e = Event {
            at: 0,
            agent: "demo".into(),
            kind: EventKind::CabinetOffline { cabinet: "C".into() },
            push: None,
            seq: 0,
            fault: None,
        };
        Entry::new("event", "CABINET_OFFLINE".into(), &e, "http://x/", "application/json", Arc::from(body))
    }

    #[test]
    fn the_journal_stays_within_its_entry_and_byte_limits() {
        let mut j = Journal::new(3, usize::MAX);
        for n in 1..=5u64 {
            // The entry a push evicts is handed back, the oldest first.
            let (id, evicted) = j.push(entry("{}"));
            assert_eq!(id, n);
            assert_eq!(evicted.map(|e| e.id), n.checked_sub(3).filter(|&k| k > 0));
        }
        let all = j.matching(&Filter::default(), None);
        assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(j.matching(&Filter::default(), Some(1))[0].id, 5);
        let mut j = Journal::new(100, 3 * (ENTRY_OVERHEAD + 1000 + 9));
        for _ in 0..10 {
            let _ = j.push(entry(&"x".repeat(1000)));
        }
        assert_eq!(j.count(&Filter::default()), 3);
        j.mark(10, Status::Dropped, "cancelled");
        assert_eq!(j.get(10).unwrap().status, Status::Dropped);
    }
}
