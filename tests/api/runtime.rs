//! The runtime under load, black-box: the health figures (lag, speeds, the delivery queue and
//! its totals), a delivery queue that stays bounded and counts what it drops, long advances
//! that report progress and can be cancelled, and refused control requests that leave the
//! world exactly as it was.

use crate::helpers::*;
use bajie_sim::config::Config;
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// Poll `GET /_sim/health` until `pred` holds for its `data`, or fail after `deadline`.
async fn health_until(app: &TestApp, deadline: Duration, pred: impl Fn(&Value) -> bool) -> Value {
    let end = tokio::time::Instant::now() + deadline;
    loop {
        let v = app.control_get("/health").await;
        if pred(&v["data"]) {
            return v["data"].clone();
        }
        assert!(tokio::time::Instant::now() < end, "health never got there: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Poll `GET /_sim/clock` until `pred` holds for its `data`.
async fn clock_until(app: &TestApp, deadline: Duration, pred: impl Fn(&Value) -> bool) -> Value {
    let end = tokio::time::Instant::now() + deadline;
    loop {
        let v = app.control_get("/clock").await;
        if pred(&v["data"]) {
            return v["data"].clone();
        }
        assert!(tokio::time::Instant::now() < end, "the clock never got there: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn int(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} is not a non-negative integer: {v}"))
}

#[tokio::test]
async fn health_reports_lag_speeds_and_the_delivery_queue() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let h = app.control_get("/health").await;
    assert_eq!(h["code"], 0, "{h}");
    let d = &h["data"];
    // A frozen clock: nothing to catch up with, no speed.
    assert_eq!(int(d, "lagMs"), 0, "{d}");
    assert_eq!(d["speedRequested"], 0.0, "{d}");
    assert!(d["speedEffective"].is_number(), "{d}");
    for k in ["pushQueued", "pushQueuedBytes", "pushDelivered", "pushDropped"] {
        assert_eq!(int(d, k), 0, "{k}: {d}");
    }

    let v = app.control(&format!("/agents/demo/push?pushUrl={}/push", sink.url)).await;
    assert_eq!(v["code"], 0, "{v}");
    for _ in 0..3 {
        assert_eq!(app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await["code"], 0);
        assert_eq!(app.control(&format!("/cabinets/{DEMO_CAB}/online")).await["code"], 0);
    }
    sink.wait_for(6, |_| true, WAIT).await;
    let d = health_until(&app, WAIT, |d| d["pushDelivered"] == 6 && d["pushQueued"] == 0).await;
    assert_eq!((int(&d, "pushDropped"), int(&d, "pushQueuedBytes")), (0, 0), "{d}");
}

#[tokio::test]
async fn a_running_clock_is_followed_and_its_speed_measured() {
    let app = spawn_with(Config { frozen: false, speed: 60.0, ..Config::for_tests() }).await;
    let d = health_until(&app, WAIT, |d| d["speedEffective"].as_f64().unwrap_or(0.0) > 30.0).await;
    assert_eq!(d["speedRequested"], 60.0, "{d}");
    assert!(d["speedEffective"].as_f64().unwrap() < 90.0, "{d}");
    // The world follows the clock within the bound (a second of real time at 60x).
    assert!(int(&d, "lagMs") <= 60_000, "{d}");
}

#[tokio::test]
async fn a_full_delivery_queue_drops_and_counts_instead_of_growing() {
    // A receiver that accepts connections and never answers, and a queue of two.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/push", silent.local_addr().unwrap());
    let app = spawn_with(Config { push_queue: 2, push_timeout_ms: 60_000, ..Config::for_tests() }).await;
    assert_eq!(app.control(&format!("/agents/demo/push?pushUrl={url}")).await["code"], 0);
    for _ in 0..10 {
        assert_eq!(app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await["code"], 0);
        assert_eq!(app.control(&format!("/cabinets/{DEMO_CAB}/online")).await["code"], 0);
    }
    let d = health_until(&app, WAIT, |d| d["pushDropped"] == 18).await;
    assert_eq!(int(&d, "pushQueued"), 2, "{d}");
    assert!(int(&d, "pushQueuedBytes") > 0, "{d}");
    assert_eq!(int(&d, "pushDelivered"), 0, "{d}");
    let dropped = app.control_get("/pushes?status=dropped").await;
    assert_eq!(dropped["data"]["total"], 18, "{dropped}");
    let why = dropped["data"]["records"][0]["error"].as_str().unwrap_or("");
    assert!(why.starts_with("delivery queue"), "{why}");
}

/// A fleet large enough that ten simulated years take far longer than the test.
fn busy_fleet() -> Config {
    Config { fleet: Some(2_000), no_sim: false, ..Config::for_tests() }
}

#[tokio::test]
async fn a_long_advance_reports_progress_keeps_answering_and_can_be_cancelled() {
    let app = spawn_with(busy_fleet()).await;
    let start = app.control_get("/clock").await["data"]["nowMs"].as_i64().unwrap();
    let ten_years = 10 * 365 * 86_400;
    let v = app.control(&format!("/clock?advance={ten_years}&waitMs=0")).await;
    assert_eq!(v["code"], 0, "{v}");
    // Answered at once, with the advance going on.
    assert_eq!(v["data"]["advance"]["running"], true, "{v}");
    assert_eq!(v["data"]["advance"]["totalSeconds"], ten_years as f64, "{v}");
    let c = clock_until(&app, WAIT, |c| c["advance"]["doneSeconds"].as_f64().unwrap_or(0.0) > 0.0).await;
    assert!(c["nowMs"].as_i64().unwrap() > start, "{c}");
    // Requests are answered meanwhile.
    assert_eq!(app.control_get("/health").await["code"], 0);
    let (s, o1) = app.get("/rent/cabinet/query?deviceId=BJD00001").await;
    assert_eq!(s, 200, "{o1}");

    let v = app.control("/clock?cancel=true").await;
    assert_eq!(v["code"], 0, "{v}");
    let a = &v["data"]["advance"];
    assert_eq!(a["running"], false, "{v}");
    assert!(a["cancelled"].as_str().unwrap_or("").contains("cancelled"), "{v}");
    assert!(a["doneSeconds"].as_f64().unwrap() < ten_years as f64, "{v}");
    // The frozen clock stands still once cancelled, and the world holds together.
    let c1 = app.control_get("/clock").await["data"].clone();
    assert!(c1.get("advance").is_none(), "{c1}");
    let c2 = app.control_get("/clock").await["data"].clone();
    assert_eq!(c1["nowMs"], c2["nowMs"]);
    app.assert_consistent().await;
}

#[tokio::test]
async fn a_later_clock_request_cancels_the_running_advance() {
    let app = spawn_with(busy_fleet()).await;
    let ten_years = 10 * 365 * 86_400;
    let first = {
        let client = app.client.clone();
        let url = app.sim(&format!("/clock?advance={ten_years}"));
        tokio::spawn(async move { read(client.post(url).send().await.unwrap()).await.1 })
    };
    clock_until(&app, WAIT, |c| c["advance"]["doneSeconds"].as_f64().unwrap_or(0.0) > 0.0).await;
    let v = app.control("/clock?advance=60").await;
    assert_eq!(v["code"], 0, "{v}");
    assert!(v["data"].get("advance").is_none(), "the second advance ran to its end: {v}");
    // The first request answers that its advance was cut short, and why.
    let first = first.await.unwrap();
    assert_eq!(first["code"], 9001, "{first}");
    let msg = first["msg"].as_str().unwrap();
    assert!(msg.contains("cancelled by a later clock request"), "{msg}");
    app.assert_consistent().await;
}

#[tokio::test]
async fn refused_control_requests_leave_the_world_as_it_was() {
    let app = spawn_app().await;
    // A battery out with a customer.
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL=http://127.0.0.1:9/")).await;
    assert_eq!(v["code"], 0, "{v}");
    app.advance(2).await;
    let rented = app.running.state.store.read(|w| {
        w.batteries()
            .iter()
            .find(|(_, b)| matches!(b.place, bajie_sim::model::BatteryPlace::Rented { .. }))
            .map(|(id, _)| id.clone())
    });
    let rented = rented.expect("a rented battery");
    let docked = crate::admin_kit::battery_in(&app, DEMO, DEMO_CAB, 3).await;
    let world = || app.running.state.store.snapshot();
    let cases = [
        // The battery fault used to be set before the slot fault was refused.
        format!("/batteries/{rented}/fault?batteryFault=5&slotFault=2"),
        format!("/batteries/{rented}/fault?slotFault=2"),
        "/batteries/NOPE/fault?batteryFault=5&slotFault=2".to_string(),
        format!("/batteries/{docked}/fault?batteryFault=5&slotFault=9"),
        format!("/batteries/{docked}/fault?batteryFault=12&slotFault=2"),
        format!("/batteries/{docked}/charge?vol=101"),
        format!("/cabinets/{DEMO_CAB}/return?batteryId={docked}&slot=2"),
        format!("/cabinets/{DEMO_CAB}/return?batteryId={rented}&slot=3"),
        format!("/cabinets/{DEMO_CAB}/fill?vol=150"),
        "/cabinets/NOPE/offline".to_string(),
        "/clock?advance=-1&freeze=false".to_string(),
        "/clock?speed=-1&advance=5".to_string(),
        "/clock?cancel=true&advance=5".to_string(),
    ];
    for path in cases {
        let before = world();
        let v = app.control(&path).await;
        assert_ne!(v["code"], 0, "{path} was accepted: {v}");
        assert!(v.get("data").is_none(), "{path}: {v}");
        assert!(world() == before, "{path} was refused ({v}) but changed the world");
    }
    let c = app.control_get("/clock").await;
    assert_eq!(c["data"]["frozen"], true, "a refused clock request unfroze the clock: {c}");
}
