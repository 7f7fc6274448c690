//! Domain events: what happened in the world, in the past tense, with every fact an outbound
//! push or callback needs, captured at the moment it happened.
//!
//! A store operation returns its events after the world lock is released; `push/` turns them
//! into deliveries. Events carry the agent's push subscription as it was at that moment, so
//! routing needs no second look at the world.

use super::fault_types::{BatteryFault, RentalFailure, SlotFault};
use crate::clock::Millis;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The platform's nine push events (docs/event-push.md), in the documented order. On the
/// wire, in snapshots and in subscriptions they are the upper-case names (`BATTERY_IN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventName {
    /// A cabinet connected to the platform.
    CabinetOnline,
    /// A cabinet lost its connection.
    CabinetOffline,
    /// A cabinet reported its status (a heartbeat, or asked for).
    CabinetStatus,
    /// A battery was returned into a slot.
    BatteryIn,
    /// A battery left its slot for an order, or the eject failed.
    BatteryBorrowOut,
    /// A battery or a slot developed a fault.
    BatteryAbnormalWarning,
    /// A battery was popped out by a repair or an operation command.
    BatteryPopup,
    /// The back office created an order (an eject by rent for an order it did not know).
    AdminRentalOrder,
    /// A cabinet's POS terminal went online or offline.
    PosInfoStatus,
}

impl EventName {
    /// Every event, in the documented order.
    pub const ALL: [EventName; 9] = [
        EventName::CabinetOnline,
        EventName::CabinetOffline,
        EventName::CabinetStatus,
        EventName::BatteryIn,
        EventName::BatteryBorrowOut,
        EventName::BatteryAbnormalWarning,
        EventName::BatteryPopup,
        EventName::AdminRentalOrder,
        EventName::PosInfoStatus,
    ];

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventName::CabinetOnline => "CABINET_ONLINE",
            EventName::CabinetOffline => "CABINET_OFFLINE",
            EventName::CabinetStatus => "CABINET_STATUS",
            EventName::BatteryIn => "BATTERY_IN",
            EventName::BatteryBorrowOut => "BATTERY_BORROW_OUT",
            EventName::BatteryAbnormalWarning => "BATTERY_ABNORMAL_WARNING",
            EventName::BatteryPopup => "BATTERY_POPUP",
            EventName::AdminRentalOrder => "ADMIN_RENTAL_ORDER",
            EventName::PosInfoStatus => "POS_INFO_STATUS",
        }
    }

    /// The event named `name`, exact spelling (upper case), as the platform matches them.
    pub fn from_name(name: &str) -> Option<EventName> {
        EventName::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// Every name, comma-separated (for messages).
    pub fn list() -> String {
        EventName::ALL.map(EventName::as_str).join(", ")
    }
}

/// A string of the nine names, written where it is used (like the fault numbers).
impl JsonSchema for EventName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EventName".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "enum": EventName::ALL.map(EventName::as_str) })
    }
}

impl std::fmt::Display for EventName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One subscription of an agent's event-push configuration (E1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// The event.
    pub event: EventName,
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
    pub fn target(&self, event: EventName) -> Option<&str> {
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
    /// The platform event it is pushed as, `None` for rent callbacks.
    pub fn push_name(&self) -> Option<EventName> {
        Some(match self {
            EventKind::RentCallback { .. } => return None,
            EventKind::BatteryBorrowed { .. } | EventKind::BorrowFailed { .. } => EventName::BatteryBorrowOut,
            EventKind::BatteryReturned { .. } => EventName::BatteryIn,
            EventKind::BatteryPopped { .. } => EventName::BatteryPopup,
            EventKind::FaultRaised { .. } => EventName::BatteryAbnormalWarning,
            EventKind::AdminOrderCreated { .. } => EventName::AdminRentalOrder,
            EventKind::CabinetOnline { .. } => EventName::CabinetOnline,
            EventKind::CabinetOffline { .. } => EventName::CabinetOffline,
            EventKind::CabinetStatus { .. } => EventName::CabinetStatus,
            EventKind::PosStatus { .. } => EventName::PosInfoStatus,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_serialise_as_the_wire_names() {
        for e in EventName::ALL {
            assert_eq!(EventName::from_name(e.as_str()), Some(e));
            assert_eq!(serde_json::to_string(&e).unwrap(), format!("\"{e}\""));
        }
        assert_eq!(EventName::from_name("battery_in"), None);
        assert_eq!(EventName::from_name("BATTERY_RETURN"), None);
    }
}
