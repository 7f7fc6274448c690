//! Outbound wire formats: the event-push body (ENDPOINTS.md §7.4) and the rent callback's
//! form body (§2.2). Built from domain events outside the world lock.

use crate::clock::{fmt_datetime, fmt_push_timestamp};
use crate::model::battery::battery_fault_cause;
use crate::model::cabinet::slot_fault_cause;
use crate::model::event::CabinetReport;
use crate::model::{Event, EventKind};
use serde_json::{json, Map, Value};

/// The rent callback body: `status=<0|1|2>&tradeNo=<tradeNo>`, form-encoded.
pub fn callback_form(trade_no: &str, status: u8) -> String {
    serde_urlencoded::to_string([("status", status.to_string().as_str()), ("tradeNo", trade_no)]).unwrap_or_default()
}

fn battery_list(r: &CabinetReport) -> Value {
    Value::Array(
        r.slots
            .iter()
            .map(|s| {
                json!({
                    "batteryFaultCause": battery_fault_cause(s.battery_fault),
                    "batteryFaultType": s.battery_fault,
                    "batteryId": s.battery.clone().unwrap_or_default(),
                    "faultCause": slot_fault_cause(s.slot_fault),
                    "faultType": s.slot_fault,
                    "infoStatus": if s.battery.is_some() { "Online" } else { "Offline" },
                    "slot": s.slot,
                    "vol": s.vol,
                })
            })
            .collect(),
    )
}

fn status_block(r: &CabinetReport) -> Map<String, Value> {
    let v = json!({
        "batteryList": battery_list(r),
        "cabinetId": r.cabinet,
        "clientIp": r.ip,
        "clientPort": r.port.to_string(),
        "geoHash": "",
        "icCard": r.iccid,
        "infoStatus": if r.online { "Online" } else { "Offline" },
        "rentableCount": r.rentable,
        "returnableCount": r.returnable,
        "signal": r.signal,
        "totalCount": r.total,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The `eventData` object of an event push.
pub fn event_data(kind: &EventKind, at: i64) -> Value {
    match kind {
        EventKind::RentCallback { .. } => Value::Null,
        EventKind::CabinetOnline { cabinet, ip, port } => json!({
            "cabinetId": cabinet, "infoStatus": "Online", "onlineTime": fmt_datetime(at),
            "clientIp": ip, "clientPort": port.to_string(),
        }),
        EventKind::CabinetOffline { cabinet } => json!({
            "cabinetId": cabinet, "infoStatus": "Offline", "offlineTime": fmt_datetime(at),
        }),
        EventKind::CabinetStatus { report } => Value::Object(status_block(report)),
        EventKind::BatteryBorrowed { cabinet, order, battery, slot } => json!({
            "cabinetId": cabinet, "outBatteryId": battery, "outSlot": slot, "orderId": order,
            "faultType": 0, "faultCause": "",
        }),
        EventKind::BorrowFailed { cabinet, order, slot, fault_type, fault_cause } => json!({
            "cabinetId": cabinet, "outBatteryId": "", "outSlot": slot.unwrap_or(0), "orderId": order,
            "faultType": fault_type, "faultCause": fault_cause,
        }),
        EventKind::BatteryReturned { cabinet, battery, slot, order } => json!({
            "cabinetId": cabinet, "returnBatteryId": battery, "returnSlot": slot,
            "orderId": order.clone().unwrap_or_default(),
        }),
        EventKind::BatteryPopped { cabinet, battery, slot, ok, description } => json!({
            "cabinetId": cabinet, "outBatteryId": battery.clone().unwrap_or_default(), "outSlot": slot,
            "outStatus": if *ok { "0" } else { "1" }, "popupFailureDescription": description,
        }),
        EventKind::FaultRaised { battery, report, .. } => {
            let mut m = status_block(report);
            m.insert("abnormalBatteryId".into(), Value::String(battery.clone().unwrap_or_default()));
            Value::Object(m)
        }
        EventKind::AdminOrderCreated { cabinet, order, battery, slot } => json!({
            "cabinetId": cabinet, "orderId": order, "outBatteryId": battery.clone().unwrap_or_default(),
            "outSlot": slot.unwrap_or(0),
        }),
        EventKind::PosStatus { cabinet, pos_sn, online } => json!({
            "cabinetId": cabinet, "posSn": pos_sn, "posInfoStatus": if *online { "1" } else { "0" },
        }),
    }
}

/// The whole event-push body `{agentAccount, event, eventData, timestamp}`.
pub fn event_body(e: &Event, name: &str) -> String {
    json!({
        "agentAccount": e.agent,
        "event": name,
        "eventData": event_data(&e.kind, e.at),
        "timestamp": fmt_push_timestamp(e.at),
    })
    .to_string()
}
