//! Fault injection (`/_sim/faults`), each effect observed through the platform API or the
//! receiving end of pushes and callbacks.

use crate::helpers::*;
use crate::sim::{export, wire_pushes};
use serde_json::Value;
use std::time::{Duration, Instant};

async fn delete(app: &TestApp, path: &str) -> Value {
    let r = app.client.delete(app.sim(path)).send().await.unwrap();
    read(r).await.1
}

async fn rule(app: &TestApp, query: &str) -> Value {
    let v = app.control(&format!("/faults?{query}")).await;
    assert_eq!(v["code"], 0, "{v}");
    v["data"].clone()
}

#[tokio::test]
async fn an_error_rule_answers_before_the_handler_runs_as_often_as_asked() {
    let app = spawn_app().await;
    let r = rule(&app, "effect=error&endpoint=O2&code=5003&msg=Payment%20gateway%20down&times=1").await;
    assert_eq!(r["id"], 1);
    let (s, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}")).await;
    assert_eq!((s, v.clone()), (200, serde_json::json!({"msg": "Payment gateway down", "code": 5003})));
    assert_eq!(export(&app).await["world"]["orders"].as_object().unwrap().len(), 0);
    // Spent: the rule is gone and the next create works.
    assert_eq!(app.control_get("/faults").await["data"]["total"], 0);
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}")).await;
    assert_eq!(v["code"], 0, "{v}");
    // Other endpoints were never concerned.
    assert_eq!(app.device(DEMO, DEMO_CAB).await["code"], 0);
}

#[tokio::test]
async fn an_http_status_rule_hits_only_its_device_and_agent() {
    let app = spawn_app().await;
    rule(&app, &format!("effect=httpStatus&httpStatus=503&device={DEMO_CAB}")).await;
    rule(&app, "effect=error&agent=acme&endpoint=/rent/cabinet/query").await;
    let (s, v) = app.get(&format!("/rent/cabinet/query?deviceId={DEMO_CAB}")).await;
    assert_eq!(s, 503);
    assert_eq!(v, serde_json::json!({"msg": "Injected HTTP 503.", "code": 503}));
    assert_eq!(app.device(DEMO, "BJD60152").await["code"], 0);
    let v = app.device(ACME, ACME_CAB).await;
    assert_eq!(v, serde_json::json!({"msg": "Injected failure.", "code": 5000}));
    // Probability 0 never fires.
    rule(&app, "effect=error&endpoint=O1&probability=0").await;
    assert_eq!(app.device(DEMO, "BJD60152").await["code"], 0);
}

#[tokio::test]
async fn a_latency_rule_holds_the_answer() {
    let app = spawn_app().await;
    rule(&app, "effect=latency&latencyMs=400&endpoint=O1").await;
    let started = Instant::now();
    assert_eq!(app.device(DEMO, DEMO_CAB).await["code"], 0);
    assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
}

#[tokio::test]
async fn an_eject_failure_fails_the_rent_with_its_fault_type() {
    let sink = Sink::start().await;
    let app = spawn_app().await;
    wire_pushes(&app, "demo", &sink.url).await;
    let v = app.control(&format!("/cabinets/{DEMO_CAB}/fail-next-eject?faultType=4")).await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(v["data"]["effect"], "ejectFailure");
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL={}/cb", sink.url)).await;
    let trade = v["data"]["tradeNo"].as_str().unwrap().to_string();
    app.advance(2).await;

    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={trade}")).await;
    assert_eq!(d["data"]["borrowStatus"], 2, "{d}");
    let cb = sink.wait_for(1, |r| r.path == "/cb", Duration::from_secs(10)).await;
    assert!(cb[0].form().contains(&("status".into(), "0".into())), "{:?}", cb[0]);
    let push = sink.wait_for(1, |r| r.json()["event"] == "BATTERY_BORROW_OUT", Duration::from_secs(10)).await;
    assert_eq!(push[0].json()["eventData"]["faultType"], 4);
    assert_eq!(push[0].json()["eventData"]["faultCause"], "Eject battery failed");
    // One failure only: the next rent works.
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}")).await;
    let trade = v["data"]["tradeNo"].as_str().unwrap().to_string();
    app.advance(2).await;
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={trade}")).await;
    assert_eq!(d["data"]["borrowStatus"], 1, "{d}");
    app.assert_consistent().await;
}

#[tokio::test]
async fn battery_and_slot_fault_rules_fail_the_eject_and_raise_warnings() {
    let sink = Sink::start().await;
    let app = spawn_app().await;
    wire_pushes(&app, "demo", &sink.url).await;
    rule(&app, &format!("effect=batteryFault&batteryFault=5&device={DEMO_CAB}&times=1")).await;
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}")).await;
    let first = v["data"]["tradeNo"].as_str().unwrap().to_string();
    app.advance(2).await;
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={first}")).await;
    assert_eq!(d["data"]["borrowStatus"], 2, "{d}");
    let w = sink.wait_for(1, |r| r.json()["event"] == "BATTERY_ABNORMAL_WARNING", Duration::from_secs(10)).await;
    let bad = w[0].json()["eventData"]["abnormalBatteryId"].as_str().unwrap().to_string();
    assert!(!bad.is_empty());
    let failed = sink.wait_for(1, |r| r.json()["event"] == "BATTERY_BORROW_OUT", Duration::from_secs(10)).await;
    assert_eq!(failed[0].json()["eventData"]["faultType"], 1);

    rule(&app, &format!("effect=slotFault&slotFault=2&device={DEMO_CAB}&times=1")).await;
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}")).await;
    let second = v["data"]["tradeNo"].as_str().unwrap().to_string();
    app.advance(2).await;
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={second}")).await;
    assert_eq!(d["data"]["borrowStatus"], 2, "{d}");
    let w = sink.wait_for(2, |r| r.json()["event"] == "BATTERY_ABNORMAL_WARNING", Duration::from_secs(10)).await;
    let list = w[1].json()["eventData"]["batteryList"].clone();
    assert!(list.as_array().unwrap().iter().any(|s| s["faultType"] == 2), "{list}");
    let failed = sink.wait_for(2, |r| r.json()["event"] == "BATTERY_BORROW_OUT", Duration::from_secs(10)).await;
    assert_eq!(failed[1].json()["eventData"]["faultType"], 3);

    // The broken battery and the jammed slot are out of service: the next rent takes another.
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}")).await;
    let third = v["data"]["tradeNo"].as_str().unwrap().to_string();
    app.advance(2).await;
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={third}")).await;
    assert_eq!(d["data"]["borrowStatus"], 1, "{d}");
    assert_ne!(d["data"]["batteryId"], bad.as_str());
    app.assert_consistent().await;
}

#[tokio::test]
async fn push_rules_drop_duplicate_and_delay_deliveries() {
    let sink = Sink::start().await;
    let app = spawn_app().await;
    wire_pushes(&app, "demo", &sink.url).await;
    rule(&app, "effect=dropPush&event=CABINET_OFFLINE").await;
    rule(&app, &format!("effect=duplicatePush&event=CABINET_ONLINE&device={DEMO_CAB}")).await;
    rule(&app, "effect=delayPush&delayMs=1500&event=CABINET_STATUS").await;

    let started = Instant::now();
    app.control(&format!("/cabinets/{DEMO_CAB}/status")).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/online")).await;

    let online = sink.wait_for(2, |r| r.json()["event"] == "CABINET_ONLINE", Duration::from_secs(10)).await;
    assert_eq!(online[0].body, online[1].body);
    let status = sink.wait_for(1, |r| r.json()["event"] == "CABINET_STATUS", Duration::from_secs(10)).await;
    assert!(started.elapsed() >= Duration::from_millis(1500));
    // The delayed report arrives after the online pushes that happened later.
    let events: Vec<String> =
        sink.received().iter().map(|r| r.json()["event"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(events, ["CABINET_ONLINE", "CABINET_ONLINE", "CABINET_STATUS"], "{status:?}");
    let dropped = app.control_get("/pushes?event=CABINET_OFFLINE").await;
    assert_eq!(dropped["data"]["records"][0]["status"], "dropped", "{dropped}");
}

#[tokio::test]
async fn rules_are_validated_listed_removed_and_saved_with_the_world() {
    let app = spawn_app().await;
    for bad in [
        "effect=bogus",
        "effect=error&probability=2",
        "effect=httpStatus",
        "effect=dropPush&endpoint=O2",
        "effect=error&endpoint=nowhere",
        "effect=ejectFailure&faultType=12",
    ] {
        let v = app.control(&format!("/faults?{bad}")).await;
        assert_eq!(v["code"], 1001, "{bad}: {v}");
        assert!(v.get("data").is_none());
    }
    rule(&app, "effect=latency&latencyMs=1").await;
    let r = app
        .client
        .post(app.sim("/faults"))
        .json(&serde_json::json!({"effect": "ejectFailure", "faultType": 9, "device": DEMO_CAB, "probability": 0.25}))
        .send()
        .await
        .unwrap();
    let (_, v) = read(r).await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(v["data"]["id"], 2);
    let list = app.control_get("/faults").await;
    assert_eq!(list["data"]["total"], 2);
    assert_eq!(list["data"]["rules"][1]["faultType"], 9);
    assert_eq!(export(&app).await["world"]["faults"]["rules"].as_array().unwrap().len(), 2);

    assert_eq!(delete(&app, "/faults/1").await["data"]["id"], 1);
    assert_eq!(delete(&app, "/faults/1").await["code"], 9001);
    assert_eq!(app.control_get("/faults").await["data"]["total"], 1);
    assert_eq!(delete(&app, "/faults").await["data"]["removed"], 1);
    assert_eq!(app.control_get("/faults").await["data"]["total"], 0);
}
