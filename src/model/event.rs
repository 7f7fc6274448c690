//! Domain events: what happened in the world, in the past tense, with every fact an outbound
//! push or callback needs, captured at the moment it happened.
//!
//! A store operation returns its events after the world lock is released; `push/` turns them
//! into deliveries. Events carry the agent's push subscription as it was at that moment, so
//! routing needs no second look at the world.

use super::fault_types::{BatteryFault, RentalFailure, SlotFault};
use crate::clock::Millis;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One subscription of an agent's event-push configuration (E1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Event name (`CABINET_ONLINE`, ...).
    pub event: String,
    /// Per-event URL; empty means the default URL.
    pub push_url: String,
    /// Whether the event is pushed.
    pub enable: bool,
}

/// An agent's event-push configuration (E1/E2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushConfig {
    /// Default receiving URL.
    pub push_url: String,
    /// Subscriptions.
    pub event_subscriptions: Vec<Subscription>,
}

impl PushConfig {
    /// Where `event` goes, or `None` when it is not subscribed or disabled.
    pub fn target(&self, event: &str) -> Option<&str> {
        let sub = self.event_subscriptions.iter().find(|s| s.event == event)?;
        if !sub.enable {
            return None;
        }
        let url = if sub.push_url.trim().is_empty() { &self.push_url } else { &sub.push_url };
        (!url.trim().is_empty()).then_some(url.as_str())
    }
}

/// The state of one slot at the moment of a status event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotReport {
    /// 1-based slot.
    pub slot: u16,
    /// Battery in it.
    pub battery: Option<String>,
    /// Its charge.
    pub vol: u8,
    /// Slot fault type.
    pub slot_fault: SlotFault,
    /// Battery fault type.
    pub battery_fault: BatteryFault,
}

/// A cabinet's status at the moment of an event (CABINET_STATUS and warnings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CabinetReport {
    /// Cabinet id.
    pub cabinet: String,
    /// Connected.
    pub online: bool,
    /// Slot count.
    pub total: usize,
    /// Rentable batteries.
    pub rentable: usize,
    /// Free slots for returns.
    pub returnable: usize,
    /// SIM number.
    pub iccid: String,
    /// Modem IP.
    pub ip: String,
    /// Modem port.
    pub port: u16,
    /// Signal 0-31.
    pub signal: String,
    /// Occupied and faulty slots.
    pub slots: Vec<SlotReport>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum EventKind {
    /// A rent callback is due (`status` 0 failed, 1 taken out, 2 returned).
    RentCallback { url: String, trade_no: String, status: u8, cabinet: String },
    /// A battery left a cabinet for an order (BATTERY_BORROW_OUT).
    BatteryBorrowed { cabinet: String, order: String, battery: String, slot: u16 },
    /// A rent eject failed (BATTERY_BORROW_OUT with a fault).
    BorrowFailed { cabinet: String, order: String, slot: Option<u16>, fault_type: RentalFailure, fault_cause: String },
    /// A battery was docked (BATTERY_IN).
    BatteryReturned { cabinet: String, battery: String, slot: u16, order: Option<String> },
    /// A repair or operation pop (BATTERY_POPUP).
    BatteryPopped { cabinet: String, battery: Option<String>, slot: u16, ok: bool, description: String },
    /// A battery or slot developed a fault (BATTERY_ABNORMAL_WARNING).
    FaultRaised { battery: Option<String>, slot: u16, report: CabinetReport },
    /// The back office created an order (ADMIN_RENTAL_ORDER).
    AdminOrderCreated { cabinet: String, order: String, battery: Option<String>, slot: Option<u16> },
    /// A cabinet connected (CABINET_ONLINE).
    CabinetOnline { cabinet: String, ip: String, port: u16 },
    /// A cabinet dropped (CABINET_OFFLINE).
    CabinetOffline { cabinet: String },
    /// A status report (CABINET_STATUS).
    CabinetStatus { report: CabinetReport },
    /// A POS terminal went online or offline (POS_INFO_STATUS).
    PosStatus { cabinet: String, pos_sn: String, online: bool },
}

impl EventKind {
    /// The platform event name, `None` for rent callbacks.
    pub fn push_name(&self) -> Option<&'static str> {
        Some(match self {
            EventKind::RentCallback { .. } => return None,
            EventKind::BatteryBorrowed { .. } | EventKind::BorrowFailed { .. } => "BATTERY_BORROW_OUT",
            EventKind::BatteryReturned { .. } => "BATTERY_IN",
            EventKind::BatteryPopped { .. } => "BATTERY_POPUP",
            EventKind::FaultRaised { .. } => "BATTERY_ABNORMAL_WARNING",
            EventKind::AdminOrderCreated { .. } => "ADMIN_RENTAL_ORDER",
            EventKind::CabinetOnline { .. } => "CABINET_ONLINE",
            EventKind::CabinetOffline { .. } => "CABINET_OFFLINE",
            EventKind::CabinetStatus { .. } => "CABINET_STATUS",
            EventKind::PosStatus { .. } => "POS_INFO_STATUS",
        })
    }

    /// The cabinet the event concerns, if any (the ordering key of event pushes).
    pub fn cabinet(&self) -> Option<&str> {
        match self {
            EventKind::RentCallback { cabinet, .. } => Some(cabinet),
            EventKind::BatteryBorrowed { cabinet, .. }
            | EventKind::BorrowFailed { cabinet, .. }
            | EventKind::BatteryReturned { cabinet, .. }
            | EventKind::BatteryPopped { cabinet, .. }
            | EventKind::AdminOrderCreated { cabinet, .. }
            | EventKind::CabinetOnline { cabinet, .. }
            | EventKind::CabinetOffline { cabinet }
            | EventKind::PosStatus { cabinet, .. } => Some(cabinet),
            EventKind::FaultRaised { report, .. } | EventKind::CabinetStatus { report } => Some(&report.cabinet),
        }
    }

    /// The order the event concerns, if any.
    pub fn order(&self) -> Option<&str> {
        match self {
            EventKind::RentCallback { trade_no, .. } => Some(trade_no),
            EventKind::BatteryBorrowed { order, .. }
            | EventKind::BorrowFailed { order, .. }
            | EventKind::AdminOrderCreated { order, .. } => Some(order),
            EventKind::BatteryReturned { order, .. } => order.as_deref(),
            _ => None,
        }
    }
}

/// A domain event with its time and agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Virtual time it happened.
    pub at: Millis,
    /// Agent whose world it happened in.
    pub agent: String,
    /// What happened.
    pub kind: EventKind,
    /// The agent's push subscription at that moment (not for callbacks).
    #[serde(skip)]
    pub push: Option<Arc<PushConfig>>,
    /// Position in the world's history, stamped by the store under the world lock (0 when
    /// not stamped); the delivery engine uses it to queue pushes in the order they happened.
    #[serde(skip)]
    pub seq: u64,
    /// What a fault rule does to its delivery, if anything (`/_sim/faults`).
    #[serde(skip)]
    pub fault: Option<super::fault::PushFault>,
}
