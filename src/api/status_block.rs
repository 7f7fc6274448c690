//! The cabinet status block: the one wire view of a cabinet's status report. The
//! CABINET_STATUS and BATTERY_ABNORMAL_WARNING pushes carry it as their `eventData`, and C5
//! answers it as the cabinet's `subDeviceStatusReport`, so both read the same fields with the
//! same types from one place.
//!
//! Keys are in alphabetical order, as in the platform's documented push example (its JSON
//! serialiser sorts them). Heartbeats of a large fleet build thousands of these a second, so
//! the view borrows the report rather than copying it.

use crate::model::event::CabinetReport;
use crate::model::fault_types::{BatteryFault, SlotFault};
use schemars::JsonSchema;
use serde::Serialize;

/// One slot of `batteryList`: a slot holding a battery, or an empty slot that reports a fault.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusSlot<'a> {
    /// Cause of the battery's fault, `""` when none.
    battery_fault_cause: &'static str,
    /// The battery's fault type (0 when none).
    battery_fault_type: BatteryFault,
    /// The battery in the slot, `""` for an empty slot.
    battery_id: &'a str,
    /// Cause of the slot's fault, `""` when none.
    fault_cause: &'static str,
    /// The slot's fault type (0 when none).
    fault_type: SlotFault,
    /// `Online` when the slot holds a battery, `Offline` when it is empty.
    info_status: &'static str,
    /// Slot number, from 1.
    slot: u16,
    /// The battery's charge level in percent.
    vol: u8,
}

/// A cabinet's status as it reported it.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusBlock<'a> {
    /// The battery that raised the warning (BATTERY_ABNORMAL_WARNING only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    abnormal_battery_id: Option<&'a str>,
    /// The slots holding a battery, and the empty slots reporting a fault.
    battery_list: Vec<StatusSlot<'a>>,
    /// Cabinet id.
    cabinet_id: &'a str,
    /// The cabinet modem's IP address.
    client_ip: &'a str,
    /// The cabinet modem's port, as a string.
    client_port: String,
    /// Where the cabinet stands, as a 12-character geohash of its shop. Pushes carry `""`, as
    /// the platform's documented example does; C5 carries the shop's position (`""` without a
    /// shop).
    geo_hash: String,
    /// The SIM card number.
    ic_card: &'a str,
    /// `Online` or `Offline`.
    info_status: &'static str,
    /// Batteries that can be rented now.
    rentable_count: usize,
    /// When the cabinet last reported, `YYYY-MM-DD HH:mm:ss` (C5 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    report_time: Option<String>,
    /// Free slots that take a returned battery.
    returnable_count: usize,
    /// GPRS signal quality 0-31, as a string.
    signal: &'a str,
    /// Slot count.
    total_count: usize,
}

impl<'a> StatusBlock<'a> {
    /// The block of a report, as a CABINET_STATUS push carries it.
    pub fn of(r: &'a CabinetReport) -> Self {
        StatusBlock {
            abnormal_battery_id: None,
            battery_list: r
                .slots
                .iter()
                .map(|s| StatusSlot {
                    battery_fault_cause: s.battery_fault.cause(),
                    battery_fault_type: s.battery_fault,
                    battery_id: s.battery.as_deref().unwrap_or(""),
                    fault_cause: s.slot_fault.cause(),
                    fault_type: s.slot_fault,
                    info_status: if s.battery.is_some() { "Online" } else { "Offline" },
                    slot: s.slot,
                    vol: s.vol,
                })
                .collect(),
            cabinet_id: &r.cabinet,
            client_ip: &r.ip,
            client_port: r.port.to_string(),
            geo_hash: String::new(),
            ic_card: &r.iccid,
            info_status: if r.online { "Online" } else { "Offline" },
            rentable_count: r.rentable,
            report_time: None,
            returnable_count: r.returnable,
            signal: &r.signal,
            total_count: r.total,
        }
    }

    /// The block of a BATTERY_ABNORMAL_WARNING, naming the battery at fault.
    pub fn abnormal(mut self, battery: &'a str) -> Self {
        self.abnormal_battery_id = Some(battery);
        self
    }

    /// The block as C5 answers it: with the shop's geohash and the time of the report.
    pub fn located(mut self, geo_hash: String, report_time: String) -> Self {
        self.geo_hash = geo_hash;
        self.report_time = Some(report_time);
        self
    }
}
