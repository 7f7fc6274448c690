//! The bounded journal of every outbound delivery and its attempts (`/_sim/pushes`).

use crate::clock::fmt_datetime;
use crate::model::Event;
use serde::Serialize;
use std::collections::VecDeque;

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
    /// Never attempted (queue full or a fault rule).
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
    /// Body sent.
    pub body: String,
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
        body: String,
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
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        self.event.as_ref().is_none_or(|v| *v == e.event)
            && self.kind.as_ref().is_none_or(|v| v == e.kind)
            && self.cabinet.as_ref().is_none_or(|v| e.cabinet.as_ref() == Some(v))
            && self.order.as_ref().is_none_or(|v| e.order.as_ref() == Some(v))
            && self.status.as_ref().is_none_or(|v| v == e.status.name())
            && self.agent.as_ref().is_none_or(|v| *v == e.agent)
    }
}

/// The journal: latest `cap` entries.
#[derive(Debug)]
pub struct Journal {
    cap: usize,
    next: u64,
    entries: VecDeque<Entry>,
}

impl Journal {
    /// An empty journal keeping `cap` entries.
    pub fn new(cap: usize) -> Self {
        Journal { cap: cap.max(1), next: 1, entries: VecDeque::new() }
    }

    /// Append; returns the entry's id.
    pub fn push(&mut self, mut e: Entry) -> u64 {
        e.id = self.next;
        self.next += 1;
        if self.entries.len() >= self.cap {
            self.entries.pop_front();
        }
        self.entries.push_back(e);
        self.next - 1
    }

    /// The id given to the latest entry.
    pub fn last_id(&self) -> u64 {
        self.next - 1
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
        if let Some(e) = self.find(id) {
            e.error = a.error.clone();
            e.attempts.push(a);
            e.status = status;
        }
    }

    /// Entries matching `f`, oldest first.
    pub fn matching(&self, f: &Filter) -> Vec<Entry> {
        self.entries.iter().filter(|e| f.matches(e)).cloned().collect()
    }

    /// Drop every entry (ids keep counting).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
