//! `GET /_sim/report`: the integration report. Per operation the calls, answers by code and
//! warnings by code (counted since start or the last clear, beyond the ring's entries);
//! deliveries to the client by event (from the push journal, so the latest 20,000); and a
//! checklist of production behaviours the client's tests have met or not yet.

use super::journal::{OpStats, Requests};
use crate::api::contract::Code;
use crate::api::envelope;
use crate::push::journal::{Filter, Status};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// Deliveries of one event (or callback status) to the client.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Deliveries {
    kind: &'static str,
    event: String,
    /// Accepted by the client's receiver (2xx).
    delivered: u64,
    /// Given up after every retry.
    failed: u64,
    /// Never sent (queue cap, fault rule, reset).
    dropped: u64,
    /// Queued or between retries.
    pending: u64,
    /// Attempts the client's receiver refused (non-2xx, timeout, connection refused).
    refused_attempts: u64,
}

/// One behaviour of production a client should be tested against.
#[derive(Debug, Serialize)]
struct Item {
    id: &'static str,
    behaviour: &'static str,
    met: bool,
    how: &'static str,
}

/// `GET /_sim/report`.
pub async fn report(state: web::Data<AppState>, j: web::Data<Requests>) -> HttpResponse {
    let stats = j.stats();
    let mut warnings: BTreeMap<&'static str, u64> = BTreeMap::new();
    for s in stats.values() {
        for (w, n) in &s.warnings {
            *warnings.entry(w).or_default() += n;
        }
    }
    // Codes as JSON object keys: "none" for an answer without one (A1's `{key}`).
    let code_key = |c: &Option<i64>| c.map_or_else(|| "none".to_string(), |c| c.to_string());
    let operations: Vec<serde_json::Value> = stats
        .iter()
        .map(|(op, s)| {
            let codes: BTreeMap<String, u64> = s.codes.iter().map(|(c, n)| (code_key(c), *n)).collect();
            json!({ "op": op, "calls": s.calls, "codes": codes, "http": s.http, "warnings": s.warnings })
        })
        .collect();

    let mut by_event: BTreeMap<(&'static str, String), Deliveries> = BTreeMap::new();
    let mut retried_then_delivered = false;
    for e in state.push.list(&Filter::default(), None) {
        let d = by_event.entry((e.kind, e.event.clone())).or_insert_with(|| Deliveries {
            kind: e.kind,
            event: e.event.clone(),
            ..Deliveries::default()
        });
        match e.status {
            Status::Delivered => d.delivered += 1,
            Status::Failed => d.failed += 1,
            Status::Dropped => d.dropped += 1,
            Status::Pending | Status::Retrying => d.pending += 1,
        }
        let refused = e
            .attempts
            .iter()
            .filter(|a| a.error.is_some() || a.http_status.is_none_or(|s| !(200..300).contains(&s)))
            .count();
        d.refused_attempts += refused as u64;
        retried_then_delivered |= refused > 0 && e.status == Status::Delivered;
    }
    let delivered = |event: &str| by_event.values().any(|d| d.event == event && d.delivered > 0);
    let answered = |code: i64| stats.values().any(|s: &OpStats| s.codes.contains_key(&Some(code)));
    let http = |f: &dyn Fn(u16) -> bool| stats.values().any(|s| s.http.keys().any(|h| f(*h)));

    let checklist = vec![
        Item {
            id: "answer-2004",
            behaviour: "a cabinet that is offline: 2004 Device not online.",
            met: answered(2004),
            how: "POST /_sim/cabinets/{id}/offline, then O1 or O2 on it",
        },
        Item {
            id: "answer-2002",
            behaviour: "a device id the account does not have: 2002 QR code unbound device.",
            met: answered(2002),
            how: "O1 with deviceId=XXX00000",
        },
        Item {
            id: "http-401",
            behaviour: "credentials refused: HTTP 401",
            met: http(&|h| h == 401),
            how: "any platform call with a wrong password or an expired bearer token",
        },
        Item {
            id: "answer-2007",
            behaviour: "an order that cannot do that now (2007), e.g. closing a finished order",
            met: answered(2007),
            how: "O4 twice on one order, or ejectByRent on an order already ejected",
        },
        Item {
            id: "platform-failure",
            behaviour: "the platform failing: an injected error code or an HTTP 5xx",
            met: answered(5000) || http(&|h| h >= 500),
            how: "POST /_sim/faults?effect=httpStatus&httpStatus=503&endpoint=O2&times=1",
        },
        Item {
            id: "callback-status-0",
            behaviour: "an eject that failed: callback status=0",
            met: delivered("RENT_CALLBACK_0"),
            how: "POST /_sim/cabinets/{id}/fail-next-eject?faultType=3, then O2 on it",
        },
        Item {
            id: "callback-status-2",
            behaviour: "a battery returned: callback status=2",
            met: delivered("RENT_CALLBACK_2"),
            how: "POST /_sim/cabinets/{id}/return?batteryId=.. after a rental",
        },
        Item {
            id: "push-CABINET_OFFLINE",
            behaviour: "a cabinet going offline: CABINET_OFFLINE push",
            met: delivered("CABINET_OFFLINE"),
            how: "E1 with the event enabled, then POST /_sim/cabinets/{id}/offline",
        },
        Item {
            id: "push-BATTERY_ABNORMAL_WARNING",
            behaviour: "a faulty battery or slot: BATTERY_ABNORMAL_WARNING push",
            met: delivered("BATTERY_ABNORMAL_WARNING"),
            how: "E1 with the event enabled, then POST /_sim/batteries/{id}/fault?batteryFault=5",
        },
        Item {
            id: "delivery-retried",
            behaviour: "the client's receiver refusing a delivery and getting it again later",
            met: retried_then_delivered,
            how: "answer a callback with HTTP 500 once: the platform retries",
        },
    ];
    let not_met: Vec<&str> = checklist.iter().filter(|i| !i.met).map(|i| i.id).collect();
    let catalogue: Vec<serde_json::Value> = Code::ALL
        .iter()
        .map(|c| json!({ "code": c.name(), "alternative": c.alternative(), "strict": c.strict() }))
        .collect();
    envelope::ok(json!({
        "journal": { "size": j.size(), "strict": state.config.strict },
        "calls": stats.values().map(|s| s.calls).sum::<u64>(),
        "warningCount": warnings.values().sum::<u64>(),
        "operations": operations,
        "warnings": warnings,
        "deliveries": by_event.into_values().collect::<Vec<_>>(),
        "checklist": checklist,
        "notMet": not_met,
        "warningCodes": catalogue,
    }))
}
