//! Snapshots: `GET/PUT /_sim/state` and `--state-file` across a restart.

use crate::helpers::*;
use crate::sim::{export, sim_config};
use bajie_sim::config::Config;
use serde_json::Value;
use std::time::Duration;

async fn put(app: &TestApp, body: String) -> Value {
    let r =
        app.client.put(app.sim("/state")).header("content-type", "application/json").body(body).send().await.unwrap();
    read(r).await.1
}

fn temp_file(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("bajie-sim-{}-{name}.json", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// Some activity worth saving: a rent in lease, simulated customers, a fault rule.
async fn make_history(app: &TestApp) {
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}")).await;
    assert_eq!(v["code"], 0, "{v}");
    app.advance(90 * 60).await;
    assert_eq!(app.control("/faults?effect=error&endpoint=O4&probability=0.3").await["code"], 0);
}

#[tokio::test]
async fn a_world_saved_in_a_state_file_survives_a_restart() {
    let path = temp_file("restart");
    let config = Config { state_file: Some(path.clone()), ..sim_config() };
    let app = spawn_with(config.clone()).await;
    make_history(&app).await;
    let before = app.control_get("/state").await;
    assert_eq!(before["code"], 0);
    app.running.shutdown(Duration::from_secs(1)).await;
    assert!(path.exists(), "the state file was written");

    let app = spawn_with(config).await;
    let after = app.control_get("/state").await;
    assert_eq!(before.to_string(), after.to_string());
    assert_eq!(app.control_get("/clock").await["data"]["now"], "2026-03-02 10:30:00");
    // The restored world goes on: the order in lease is still there and the sim continues.
    app.advance(3600).await;
    app.assert_consistent().await;
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn put_state_replaces_the_world_and_refuses_a_broken_snapshot() {
    let app = spawn_with(sim_config()).await;
    make_history(&app).await;
    let saved = app.control_get("/state").await;
    let snapshot = saved["data"].to_string();

    app.advance(3 * 3600).await;
    app.control(&format!("/cabinets/{EMPTY_CAB}/fill")).await;
    assert_ne!(export(&app).await.to_string(), snapshot);

    // The bare snapshot and the whole envelope are both accepted.
    let v = put(&app, snapshot.clone()).await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(v["data"]["now"], "2026-03-02 10:30:00");
    assert_eq!(export(&app).await.to_string(), snapshot);
    assert_eq!(put(&app, saved.to_string()).await["code"], 0);

    // A battery in two slots at once: refused, and the world is left as it was.
    let mut broken: Value = serde_json::from_str(&snapshot).unwrap();
    let docked = broken["world"]["batteries"]
        .as_object()
        .unwrap()
        .values()
        .find(|b| b["place"]["kind"] == "slot" && b["place"]["cabinet"] != EMPTY_CAB)
        .map(|b| b["id"].clone())
        .unwrap();
    broken["world"]["cabinets"][EMPTY_CAB]["slots"][0]["battery"] = docked;
    let v = put(&app, broken.to_string()).await;
    assert_eq!(v["code"], 1002, "{v}");
    assert!(v["msg"].as_str().unwrap().contains("inconsistent"), "{v}");
    assert!(v.get("data").is_none());
    for bad in ["{", "[]", r#"{"format":"bajie-sim/1","now":0}"#, &snapshot.replace("bajie-sim/1", "other/9")] {
        let v = put(&app, bad.to_string()).await;
        assert_eq!(v["code"], 1002, "{bad:.40}: {v}");
    }
    assert_eq!(export(&app).await.to_string(), snapshot);
    app.assert_consistent().await;
}
