//! Cabinets (charging stations) and their 1-based slots.

use super::batteries::PositionHint;
pub use super::fault_types::SlotFault;
use super::id::{AgentId, BatteryId, CabinetId, ShopId};
use crate::clock::Millis;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Deref;

/// Text that is nearly always empty: a slot's lock reason, as an optional boxed `str` (16
/// bytes, no allocation while empty) rather than a `String` (24 bytes and a capacity nobody
/// needs). A 100,000-cabinet fleet has 2.3 million slots, and with the battery id inline this
/// brings a `Slot` from 56 to 48 bytes. Saved and compared as the plain string.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RareText(Option<Box<str>>);

impl RareText {
    /// The text, empty when none.
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }
    /// Forget the text.
    pub fn clear(&mut self) {
        self.0 = None;
    }
}

impl From<&str> for RareText {
    fn from(s: &str) -> Self {
        RareText((!s.is_empty()).then(|| s.into()))
    }
}

impl Deref for RareText {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for RareText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for RareText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RareText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(RareText((!s.is_empty()).then(|| s.into_boxed_str())))
    }
}

/// One slot of a cabinet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Slot {
    /// The battery docked here, if any.
    pub battery: Option<BatteryId>,
    /// Slot fault type, 0 when healthy.
    pub fault: SlotFault,
    /// Locked by an operator (`lock` operation): nothing is ejected from or returned into it.
    pub locked: bool,
    /// Why it was locked.
    pub lock_reason: RareText,
    /// Where the docked battery was last found in the battery table (a guess checked on
    /// each use; not saved). Fits in the padding: a `Slot` stays 48 bytes.
    #[serde(skip)]
    pub battery_at: PositionHint,
}

/// A cabinet's advertising as C11 or C13 last set it. Saved in snapshots under these names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ads {
    /// The advertising items, each kept as the client sent it (validated by the API).
    pub ad_config_list: Vec<serde_json::Value>,
    /// Whether the cabinets were asked to restart to show them.
    pub is_restart: bool,
    /// When they were set, `YYYY-MM-DD HH:mm:ss` virtual time.
    pub update_time: String,
}

impl Slot {
    /// The fault type the cabinet reports for this slot: its fault, or 8 (manually locked)
    /// for a locked slot with no fault of its own (status reports, C5, C8, C9).
    pub fn reported_fault(&self) -> SlotFault {
        if self.locked && self.fault.is_none() {
            SlotFault::ManuallyLocked
        } else {
            self.fault
        }
    }
}

impl Slot {
    /// Whether a battery may be ejected from (or docked into) this slot.
    pub fn usable(&self) -> bool {
        self.fault.is_none() && !self.locked
    }

    /// Whether a returned battery can go into this slot: empty and usable. The one
    /// definition behind `returnableCount`, `pAlso`, a shop's `canReturnNum` and where a
    /// return docks.
    pub fn is_returnable(&self) -> bool {
        self.battery.is_none() && self.usable()
    }
}

/// A charging cabinet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cabinet {
    /// Device id: 3 upper-case letters + 5 digits; also its QR code.
    pub id: CabinetId,
    /// Owning agent.
    pub agent: AgentId,
    /// Shop it stands in, if bound.
    pub shop: Option<ShopId>,
    /// Slots, index 0 is slot 1.
    #[serde(deserialize_with = "exact_vec")]
    pub slots: Vec<Slot>,
    /// Connected to the platform.
    pub online: bool,
    /// Public IP of its modem. (This and the other short texts are inline `CompactString`s:
    /// no heap allocation each at 100,000 cabinets.)
    pub ip: CompactString,
    /// Source port of its connection.
    pub port: u16,
    /// GPRS signal quality 0-31, as text.
    pub signal: CompactString,
    /// SIM card number.
    pub iccid: CompactString,
    /// Free-text remark.
    pub remark: CompactString,
    /// POS terminal id, empty when none.
    pub pos_device_id: CompactString,
    /// Whether the POS terminal is online.
    pub pos_online: bool,
    /// When it was registered.
    pub registered_at: Millis,
    /// Last heartbeat (handshake) time.
    pub last_seen: Millis,
    /// Number of handshakes with the platform.
    pub handshakes: u64,
    /// Advertising configuration last bound or published (C11, C13), boxed: few cabinets have
    /// any, and an inline one made every cabinet larger.
    pub ads: Option<Box<Ads>>,
}

/// A vector read without spare room: read as it grows (4, 8, 16, 32, ...), a cabinet's 24
/// slots kept room for 32, a fifth of the slots' memory of a restored fleet for nothing.
fn exact_vec<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    let mut v = Vec::<T>::deserialize(d)?;
    v.shrink_to_fit();
    Ok(v)
}

impl Cabinet {
    /// Number of slots.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }
    /// Number of batteries present (`busySlots`).
    pub fn battery_count(&self) -> usize {
        self.slots.iter().filter(|s| s.battery.is_some()).count()
    }
    /// Slot `n` (1-based).
    pub fn slot(&self, n: u16) -> Option<&Slot> {
        (n as usize).checked_sub(1).and_then(|i| self.slots.get(i))
    }
    /// Slot `n` (1-based), mutable.
    pub fn slot_mut(&mut self, n: u16) -> Option<&mut Slot> {
        (n as usize).checked_sub(1).and_then(move |i| self.slots.get_mut(i))
    }
    /// Number of slots a battery can be returned into.
    pub fn returnable_count(&self) -> usize {
        self.slots.iter().filter(|s| s.is_returnable()).count()
    }
    /// First empty, usable slot, for a return.
    pub fn free_slot(&self) -> Option<u16> {
        self.slots.iter().position(Slot::is_returnable).map(|i| i as u16 + 1)
    }
}
