//! Shared tools of the Advance API tests: a request builder for any method, query and JSON
//! body, a fingerprint of everything the Advance read endpoints show (to prove a refused
//! request changed nothing), and an event-push subscription (E1) for the recording sink.

use crate::helpers::*;
use serde_json::{json, Value};

/// Send `method path?query` as `who` with an optional JSON body; returns (status, body).
pub async fn call(
    app: &TestApp,
    who: (&str, &str),
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut r = app.client.request(method, app.api(path)).basic_auth(who.0, Some(who.1)).query(query);
    if let Some(b) = body {
        r = r.json(b);
    }
    read(r.send().await.unwrap()).await
}

/// GET `path` as `who` and return `data` (asserting `code` 0 or "0").
pub async fn data(app: &TestApp, who: (&str, &str), path: &str) -> Value {
    let (s, v) = app.get_as(who, path).await;
    assert_eq!(s, 200, "{path}: {v}");
    assert!(v["code"] == 0 || v["code"] == "0", "{path}: {v}");
    v["data"].clone()
}

/// POST a JSON body as `who` and assert success.
pub async fn post_ok(app: &TestApp, who: (&str, &str), path: &str, body: &Value) -> Value {
    let (s, v) = app.post_json_as(who, path, body).await;
    assert_eq!((s, &v["code"]), (200, &json!(0)), "{path} {body}: {v}");
    v
}

/// The slot rows (C9) of a cabinet.
pub async fn slots(app: &TestApp, who: (&str, &str), cabinet: &str) -> Vec<Value> {
    data(app, who, &format!("/cabinet/slotByCabinetId/{cabinet}")).await.as_array().unwrap().clone()
}

/// The battery id in a slot, `""` when empty.
pub async fn battery_in(app: &TestApp, who: (&str, &str), cabinet: &str, slot: usize) -> String {
    slots(app, who, cabinet).await[slot - 1]["pBatteryid"].as_str().unwrap().to_string()
}

/// Everything the read endpoints show for both accounts: a refused request must leave it
/// exactly as it was (the clock is frozen in tests, so it is stable).
pub async fn fingerprint(app: &TestApp) -> Value {
    let mut parts = Vec::new();
    for who in [DEMO, ACME] {
        parts.push(data(app, who, "/cabinet/getAllDevice").await);
        parts.push(data(app, who, "/shop/getShopList").await);
        let (_, p) = app.post_json_as(who, "/shop/priceStrategy/page", &json!({"size": 1000})).await;
        parts.push(p["data"].clone());
        let (_, o) = app.get_as(who, "/order/list?page=1&limit=1000").await;
        parts.push(o["page"].clone());
    }
    for (who, cab) in [(DEMO, DEMO_CAB), (DEMO, "BJH20417"), (DEMO, OFFLINE_CAB), (ACME, ACME_CAB), (ACME, FULL_CAB)] {
        parts.push(data(app, who, &format!("/cabinet/detail/{cab}")).await);
    }
    parts.push(app.control_get("/check").await);
    Value::Array(parts)
}

/// The event pushes a sink received with this event name, as JSON bodies.
pub fn pushes_named(sink: &Sink, event: &str) -> Vec<Value> {
    sink.received().iter().map(|r| r.json()).filter(|v| v["event"] == event).collect()
}
