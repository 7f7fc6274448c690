//! Outbound wire formats: the event-push body (docs/event-push.md) and the rent callback's
//! form body (docs/event-push.md). Built from domain events outside the world lock.
//!
//! Types follow the documented schema: `outSlot`, `returnSlot`, `slot`, `vol`, the counts and
//! the fault types are integers; `clientPort`, `signal`, `outStatus` (`"0"` success, `"1"`
//! failure) and `posInfoStatus` (`"1"` online, `"0"` offline) are strings; times are
//! `YYYY-MM-DD HH:mm:ss` inside `eventData` and `YYYY-MM-DDTHH:mm:ss` for `timestamp`. Keys
//! are written in alphabetical order, as in the documented example (the platform's JSON
//! serialiser sorts them); receivers should not depend on it, but diffs against captured
//! production bodies stay clean.

use crate::api::status_block::StatusBlock;
use crate::clock::{fmt_datetime, fmt_push_timestamp};
use crate::model::{Event, EventKind};
use serde::Serialize;
use serde_json::{json, Value};

/// The rent callback body: `status=<0|1|2>&tradeNo=<tradeNo>`, form-encoded.
pub fn callback_form(trade_no: &str, status: u8) -> String {
    serde_urlencoded::to_string([("status", status.to_string().as_str()), ("tradeNo", trade_no)])
        .expect("two string pairs form-encode")
}

/// The whole body, keys in alphabetical order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PushBody<'a, D: Serialize> {
    agent_account: &'a str,
    event: &'a str,
    event_data: D,
    timestamp: String,
}

/// The `eventData` object of an event push: the status block of CABINET_STATUS and
/// BATTERY_ABNORMAL_WARNING serialised from the report, the small ones as a sorted `json!`.
#[derive(Serialize)]
#[serde(untagged)]
enum EventData<'a> {
    Status(StatusBlock<'a>),
    Small(Value),
}

fn event_data(kind: &EventKind, at: i64) -> EventData<'_> {
    let small = match kind {
        EventKind::RentCallback { .. } => Value::Null,
        EventKind::CabinetOnline { cabinet, ip, port } => json!({
            "cabinetId": cabinet, "infoStatus": "Online", "onlineTime": fmt_datetime(at),
            "clientIp": ip, "clientPort": port.to_string(),
        }),
        EventKind::CabinetOffline { cabinet } => json!({
            "cabinetId": cabinet, "infoStatus": "Offline", "offlineTime": fmt_datetime(at),
        }),
        EventKind::CabinetStatus { report } => return EventData::Status(StatusBlock::of(report)),
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
            return EventData::Status(StatusBlock::of(report).abnormal(battery.as_deref().unwrap_or("")))
        }
        EventKind::AdminOrderCreated { cabinet, order, battery, slot } => json!({
            "cabinetId": cabinet, "orderId": order, "outBatteryId": battery.clone().unwrap_or_default(),
            "outSlot": slot.unwrap_or(0),
        }),
        EventKind::PosStatus { cabinet, pos_sn, online } => json!({
            "cabinetId": cabinet, "posSn": pos_sn, "posInfoStatus": if *online { "1" } else { "0" },
        }),
    };
    EventData::Small(sorted(small))
}

/// `v` with the keys of every object in alphabetical order.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut pairs: Vec<(String, Value)> = m.into_iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The whole event-push body `{agentAccount, event, eventData, timestamp}`.
pub fn event_body(e: &Event, name: &str) -> String {
    let body = PushBody {
        agent_account: &e.agent,
        event: name,
        event_data: event_data(&e.kind, e.at),
        timestamp: fmt_push_timestamp(e.at),
    };
    serde_json::to_string(&body).expect("a push body (strings, numbers, JSON values) serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_datetime;
    use crate::model::event::CabinetReport;
    use crate::model::fault_types::{BatteryFault, SlotFault};
    use crate::model::SlotReport;

    fn event(kind: EventKind) -> Event {
        let at = parse_datetime("2026-03-02 09:00:00").unwrap();
        Event { at, agent: "demo".into(), kind, push: None, seq: 0, fault: None }
    }

    fn body(kind: EventKind) -> String {
        let e = event(kind);
        let name = e.kind.push_name().unwrap();
        event_body(&e, name.as_str())
    }

    fn report() -> CabinetReport {
        CabinetReport {
            cabinet: "BJD60151".into(),
            online: true,
            total: 8,
            rentable: 1,
            returnable: 6,
            iccid: "8933".into(),
            ip: "10.0.0.1".into(),
            port: 10797,
            signal: "31".into(),
            slots: vec![
                SlotReport {
                    slot: 1,
                    battery: Some("FECF007552".into()),
                    vol: 100,
                    slot_fault: SlotFault::None,
                    battery_fault: BatteryFault::None,
                },
                SlotReport {
                    slot: 3,
                    battery: Some("AB12".into()),
                    vol: 40,
                    slot_fault: SlotFault::CannotEject,
                    battery_fault: BatteryFault::Swelling,
                },
            ],
        }
    }

    #[test]
    fn battery_popup_carries_out_status_as_a_string() {
        let ok = EventKind::BatteryPopped {
            cabinet: "BJD60151".into(),
            battery: Some("FECF007552".into()),
            slot: 1,
            ok: true,
            description: String::new(),
        };
        assert_eq!(
            body(ok),
            r#"{"agentAccount":"demo","event":"BATTERY_POPUP","eventData":{"cabinetId":"BJD60151","outBatteryId":"FECF007552","outSlot":1,"outStatus":"0","popupFailureDescription":""},"timestamp":"2026-03-02T09:00:00"}"#
        );
        let failed = EventKind::BatteryPopped {
            cabinet: "BJD60151".into(),
            battery: None,
            slot: 4,
            ok: false,
            description: "Slot cannot eject the power bank".into(),
        };
        assert_eq!(
            body(failed),
            r#"{"agentAccount":"demo","event":"BATTERY_POPUP","eventData":{"cabinetId":"BJD60151","outBatteryId":"","outSlot":4,"outStatus":"1","popupFailureDescription":"Slot cannot eject the power bank"},"timestamp":"2026-03-02T09:00:00"}"#
        );
    }

    /// The status block of `report()` after its first key, and the closing of the body.
    const STATUS_AND_END: &str = concat!(
        r#""batteryList":[{"batteryFaultCause":"","batteryFaultType":0,"batteryId":"FECF007552","faultCause":"","faultType":0,"infoStatus":"Online","slot":1,"vol":100},"#,
        r#"{"batteryFaultCause":"Battery swelling","batteryFaultType":5,"batteryId":"AB12","faultCause":"Slot cannot eject the power bank","faultType":2,"infoStatus":"Online","slot":3,"vol":40}],"#,
        r#""cabinetId":"BJD60151","clientIp":"10.0.0.1","clientPort":"10797","geoHash":"","icCard":"8933","infoStatus":"Online","#,
        r#""rentableCount":1,"returnableCount":6,"signal":"31","totalCount":8},"timestamp":"2026-03-02T09:00:00"}"#
    );

    #[test]
    fn battery_abnormal_warning_carries_the_status_block_and_the_battery() {
        let k = EventKind::FaultRaised { battery: Some("AB12".into()), slot: 3, report: report() };
        let head =
            r#"{"agentAccount":"demo","event":"BATTERY_ABNORMAL_WARNING","eventData":{"abnormalBatteryId":"AB12","#;
        assert_eq!(body(k), format!("{head}{STATUS_AND_END}"));
    }

    #[test]
    fn cabinet_status_is_the_status_block_with_sorted_keys() {
        let head = r#"{"agentAccount":"demo","event":"CABINET_STATUS","eventData":{"#;
        assert_eq!(body(EventKind::CabinetStatus { report: report() }), format!("{head}{STATUS_AND_END}"));
    }

    #[test]
    fn json_types_follow_the_schema() {
        let v: Value = serde_json::from_str(&body(EventKind::CabinetStatus { report: report() })).unwrap();
        let d = &v["eventData"];
        assert!(d["clientPort"].is_string() && d["signal"].is_string() && d["totalCount"].is_u64());
        assert!(d["batteryList"][0]["slot"].is_u64() && d["batteryList"][0]["vol"].is_u64());
        let v: Value = serde_json::from_str(&body(EventKind::PosStatus {
            cabinet: "C".into(),
            pos_sn: "POS-1".into(),
            online: false,
        }))
        .unwrap();
        assert_eq!(v["eventData"]["posInfoStatus"], "0");
        let v: Value = serde_json::from_str(&body(EventKind::BorrowFailed {
            cabinet: "C".into(),
            order: "T".into(),
            slot: None,
            fault_type: crate::model::fault_types::RentalFailure::TimedOut,
            fault_cause: "Lease command timed out".into(),
        }))
        .unwrap();
        assert_eq!(v["eventData"]["outSlot"], 0);
        assert_eq!(v["eventData"]["faultType"], 9);
    }

    #[test]
    fn callbacks_are_form_encoded() {
        assert_eq!(callback_form("26030209000012345678", 1), "status=1&tradeNo=26030209000012345678");
    }
}
