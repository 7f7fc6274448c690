//! The living world (issue: a living world): the simulation driven by the virtual clock,
//! determinism, buy-outs at the timeout, scenario helpers.

use crate::helpers::*;
use bajie_sim::config::Config;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The test configuration with the simulation on (the clock stays frozen: tests drive it).
pub fn sim_config() -> Config {
    Config { no_sim: false, ..Config::for_tests() }
}

/// Subscribe `account` to every event, pushed to `url`.
pub async fn wire_pushes(app: &TestApp, account: &str, url: &str) {
    let v = app.control(&format!("/agents/{account}/push?pushUrl={url}/events")).await;
    assert_eq!(v["code"], 0, "{v}");
}

/// The exported world (`data` of `GET /_sim/state`).
pub async fn export(app: &TestApp) -> Value {
    let v = app.control_get("/state").await;
    assert_eq!(v["code"], 0);
    v["data"].clone()
}

/// Wait until every journaled event push and callback is settled (delivered or failed).
pub async fn settle(app: &TestApp) -> Vec<Value> {
    let all = app.control_get("/pushes").await;
    let total = all["data"]["total"].as_u64().unwrap();
    let v = app.control_get(&format!("/pushes/wait?count={total}&status=delivered&timeoutMs=20000")).await;
    assert_eq!(v["code"], 0, "deliveries did not settle: {}", v["msg"]);
    let v = app.control_get("/pushes").await;
    v["data"]["records"].as_array().unwrap().clone()
}

fn vols(v: &Value) -> BTreeMap<String, i64> {
    v["data"]["batteries"]
        .as_array()
        .map(|a| a.iter().map(|b| (b["batteryId"].as_str().unwrap().to_string(), b["vol"].as_i64().unwrap())).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_simulation_on_a_driven_clock_rents_charges_and_pushes() {
    let sink = Sink::start().await;
    let app = spawn_with(sim_config()).await;
    wire_pushes(&app, "demo", &sink.url).await;
    wire_pushes(&app, "acme", &sink.url).await;
    let cabinets = ["BJD60151", "BJD60152", "DTA10342", "BJH20433", "SAB30202"];
    let mut before = BTreeMap::new();
    for c in cabinets {
        let who = if c.starts_with("SAB") { ACME } else { DEMO };
        before.extend(vols(&app.device(who, c).await));
    }

    app.advance(3 * 3600).await;

    let world = export(&app).await;
    let orders = world["world"]["orders"].as_object().unwrap();
    let customer: Vec<&Value> = orders.values().filter(|o| o["origin"] == "customer").collect();
    assert!(customer.len() >= 5, "{} customer orders", customer.len());
    // A customer order is an ordinary order on the platform API.
    let o = customer.iter().find(|o| o["agent"] == "demo").expect("a demo customer order");
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={}", o["tradeNo"].as_str().unwrap())).await;
    assert_eq!(d["code"], 0, "{d}");
    assert!([1, 3, 5].contains(&d["data"]["borrowStatus"].as_i64().unwrap()), "{d}");

    let mut after = BTreeMap::new();
    for c in cabinets {
        let who = if c.starts_with("SAB") { ACME } else { DEMO };
        let v = app.device(who, c).await;
        if v["code"] == 0 {
            after.extend(vols(&v));
        }
    }
    let changed = before.iter().filter(|(id, vol)| after.get(*id).is_some_and(|v| v != *vol)).count();
    assert!(changed >= 3, "only {changed} batteries changed charge: {before:?} -> {after:?}");

    settle(&app).await;
    let kinds: BTreeSet<String> =
        sink.received().iter().filter_map(|r| r.json()["event"].as_str().map(str::to_string)).collect();
    assert!(kinds.len() >= 5, "event types pushed: {kinds:?}");
    for k in ["BATTERY_BORROW_OUT", "BATTERY_IN", "CABINET_STATUS"] {
        assert!(kinds.contains(k), "{k} missing from {kinds:?}");
    }
    // Pushes carry the virtual time things happened at, not the time of the advance.
    let stamps: BTreeSet<String> =
        sink.received().iter().filter_map(|r| r.json()["timestamp"].as_str().map(str::to_string)).collect();
    assert!(stamps.len() > 50, "{} distinct timestamps", stamps.len());
    assert!(stamps.iter().all(|t| t.as_str() >= "2026-03-02T09:00:00" && t.as_str() <= "2026-03-02T12:00:00"));
    app.assert_consistent().await;

    let stats = app.control_get("/sim").await;
    assert_eq!(stats["code"], 0);
    assert!(stats["data"]["stats"]["rentals"].as_u64().unwrap() >= 5, "{stats}");
}

/// One scripted session; returns the export and the journal without the fields that depend
/// on when the network answered: an attempt's duration (real time) and the virtual time it
/// was made at (deliveries run while an advance moves the clock).
async fn session(sink: &Sink) -> (String, Vec<Value>) {
    let app = spawn_with(sim_config()).await;
    wire_pushes(&app, "demo", &sink.url).await;
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL={}/cb", sink.url)).await;
    assert_eq!(v["code"], 0, "{v}");
    app.advance(2 * 3600).await;
    let v = app.control("/faults?effect=error&endpoint=O1&probability=0.5").await;
    assert_eq!(v["code"], 0, "{v}");
    for c in ["BJD60152", "DTA10342", "BJD60188", "BJD60219"] {
        app.device(DEMO, c).await;
    }
    app.control("/cabinets/BJD60203/fill?vol=55").await;
    let v = app.control("/tick?n=120").await;
    assert_eq!(v["code"], 0, "{v}");
    let state = app.control_get("/state").await.to_string();
    let mut journal = settle(&app).await;
    for e in &mut journal {
        for a in e["attempts"].as_array_mut().unwrap() {
            let a = a.as_object_mut().unwrap();
            a.remove("durationMs");
            a.remove("at");
        }
    }
    app.running.shutdown(Duration::from_secs(1)).await;
    (state, journal)
}

#[tokio::test]
async fn the_same_seed_and_requests_give_identical_exports_and_journals() {
    let sink = Sink::start().await;
    let (s1, j1) = session(&sink).await;
    let (s2, j2) = session(&sink).await;
    assert!(s1.contains("\"origin\":\"customer\""), "the world was not alive");
    assert!(j1.len() > 20, "{} journal entries", j1.len());
    assert_eq!(s1, s2);
    assert_eq!(j1, j2);
}

#[tokio::test]
async fn advancing_four_days_turns_an_unreturned_order_into_a_timeout_buy_out() {
    let app = spawn_with(sim_config()).await;
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}")).await;
    let trade = v["data"]["tradeNo"].as_str().unwrap().to_string();
    app.advance(5).await;
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={trade}")).await;
    assert_eq!(d["data"]["borrowStatus"], 1, "{d}");
    let borrowed = d["data"]["borrowTime"].as_str().unwrap().to_string();
    assert_eq!(borrowed, "2026-03-02 09:00:01");

    app.advance(4 * 86_400).await;

    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={trade}")).await;
    assert_eq!(d["code"], 0);
    // Paris Standard: bought out after 3 days for 30 EUR, at the moment the timeout fell due.
    assert_eq!(d["data"]["borrowStatus"], 5, "{d}");
    assert_eq!(d["data"]["orderAmount"], 30, "{d}");
    assert_eq!(d["data"]["returnTime"], "2026-03-05 09:00:01", "{d}");
    assert_eq!(app.control_get("/clock").await["data"]["now"], "2026-03-06 09:00:05");
    app.assert_consistent().await;
}

#[tokio::test]
async fn a_tick_moves_the_clock_by_one_step_and_runs_what_is_due() {
    let app = spawn_app().await;
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}")).await;
    let trade = v["data"]["tradeNo"].as_str().unwrap().to_string();
    let v = app.control("/tick?n=90").await;
    assert_eq!(v["code"], 0);
    assert_eq!(v["data"]["now"], "2026-03-02 09:01:30");
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={trade}")).await;
    assert_eq!(d["data"]["borrowStatus"], 1, "{d}");
    assert_eq!(d["data"]["borrowTime"], "2026-03-02 09:00:01");
    let v = app.control("/tick?n=0").await;
    assert_eq!(v["code"], 1001, "{v}");
}

#[tokio::test]
async fn scenario_helpers_fill_empty_charge_and_break_batteries() {
    let sink = Sink::start().await;
    let app = spawn_app().await;
    wire_pushes(&app, "demo", &sink.url).await;

    let v = app.control(&format!("/cabinets/{EMPTY_CAB}/fill?vol=60")).await;
    assert_eq!(v["code"], 0, "{v}");
    let added = v["data"]["added"].as_array().unwrap();
    assert_eq!(added.len(), 8);
    let id = added[0]["batteryId"].as_str().unwrap().to_string();
    assert!(id.len() == 10 && id.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()), "{id}");
    let d = app.device(DEMO, EMPTY_CAB).await;
    assert_eq!(d["data"]["cabinet"]["busySlots"], 8);
    assert_eq!(d["data"]["batteries"][0]["vol"], 60);

    let v = app.control(&format!("/batteries/{id}/charge?vol=12")).await;
    assert_eq!(v["data"]["vol"], 12, "{v}");
    assert_eq!(app.device(DEMO, EMPTY_CAB).await["data"]["batteries"][0]["vol"], 12);
    app.advance(30 * 60).await;
    // 30 minutes of fast charging at 80 % an hour: +40.
    let vol = app.device(DEMO, EMPTY_CAB).await["data"]["batteries"][0]["vol"].as_i64().unwrap();
    assert!((51..=52).contains(&vol), "{vol}");

    let v = app.control(&format!("/batteries/{id}/fault?batteryFault=5")).await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(v["data"]["slot"], 1);
    let v = app.control(&format!("/batteries/{id}/fault?slotFault=2")).await;
    assert_eq!(v["code"], 0, "{v}");
    let v = app.control(&format!("/batteries/{id}/fault?batteryFault=12")).await;
    assert_eq!(v["code"], 1001, "{v}");
    let v = app.control("/batteries/NOPE/fault?batteryFault=1").await;
    assert_eq!(v["code"], 2010, "{v}");

    let warnings = sink.wait_for(2, |r| r.json()["event"] == "BATTERY_ABNORMAL_WARNING", Duration::from_secs(10)).await;
    let first = warnings[0].json();
    assert_eq!(first["eventData"]["abnormalBatteryId"], id.as_str());
    assert_eq!(first["eventData"]["batteryList"][0]["batteryFaultType"], 5);
    assert_eq!(warnings[1].json()["eventData"]["batteryList"][0]["faultType"], 2);

    let v = app.control(&format!("/cabinets/{EMPTY_CAB}/empty")).await;
    assert_eq!(v["data"]["removed"].as_array().unwrap().len(), 8, "{v}");
    assert_eq!(app.device(DEMO, EMPTY_CAB).await["data"]["cabinet"]["busySlots"], 0);
    sink.wait_for(8, |r| r.json()["event"] == "BATTERY_POPUP", Duration::from_secs(10)).await;

    let v = app.control("/cabinets/DTA10341/pos?online=false").await;
    assert_eq!(v["code"], 0, "{v}");
    let pos = sink.wait_for(1, |r| r.json()["event"] == "POS_INFO_STATUS", Duration::from_secs(10)).await;
    assert_eq!(pos[0].json()["eventData"]["posInfoStatus"], "0");
    assert_eq!(app.control(&format!("/cabinets/{DEMO_CAB}/pos?online=false")).await["code"], 9001);
    app.assert_consistent().await;
}

#[tokio::test]
async fn simulation_rates_can_be_read_and_changed() {
    let app = spawn_with(sim_config()).await;
    let v = app.control_get("/sim").await;
    assert_eq!(v["data"]["settings"]["rentsPerCabinetHour"], 0.5, "{v}");
    assert_eq!(v["data"]["settings"]["demandCurve"].as_array().unwrap().len(), 24);
    let r = app
        .client
        .post(app.sim("/sim"))
        .json(&serde_json::json!({"rentsPerCabinetHour": 6, "neverReturnShare": 0}))
        .send()
        .await
        .unwrap();
    let (_, v) = read(r).await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(v["data"]["settings"]["rentsPerCabinetHour"], 6.0);
    app.advance(600).await;
    let rentals = app.control_get("/sim").await["data"]["stats"]["rentals"].as_u64().unwrap();
    assert!(rentals >= 5, "{rentals} rentals in 10 minutes at 6 per cabinet-hour");
    let v = app.control("/sim?neverReturnShare=3").await;
    assert_eq!(v["code"], 1002, "{v}");
    let v = app.control("/sim?noSuchRate=1").await;
    assert_eq!(v["code"], 1002, "{v}");
}

/// Change simulation settings (`POST /_sim/sim`): every random activity off, then `rates`.
async fn quiet_sim(app: &TestApp, rates: Value) {
    let mut body = serde_json::json!({"rentsPerCabinetHour": 0, "outagesPerCabinetDay": 0, "posOutagesPerDay": 0,
        "batteryFaultsPerBatteryDay": 0, "slotFaultsPerSlotDay": 0});
    for (k, v) in rates.as_object().expect("rates are an object") {
        body[k] = v.clone();
    }
    let (_, v) = read(app.client.post(app.sim("/sim")).json(&body).send().await.unwrap()).await;
    assert_eq!(v["code"], 0, "{v}");
}

/// The simulation's running totals (`stats` of `GET /_sim/sim`).
async fn stats(app: &TestApp) -> Value {
    app.control_get("/sim").await["data"]["stats"].clone()
}

/// The values of an exported map or list (the snapshot writes some tables as either).
fn rows(v: &Value) -> Vec<&Value> {
    match v {
        Value::Object(m) => m.values().collect(),
        Value::Array(a) => a.iter().collect(),
        _ => Vec::new(),
    }
}

/// A customer only rents where a battery can be taken: at cabinets that are all offline every
/// customer walks away and no order is created; and a cabinet put offline by hand is never
/// brought back by the simulation, however many outages it runs.
#[tokio::test]
async fn customers_walk_away_from_cabinets_they_cannot_rent_from_and_one_put_offline_by_hand_stays_offline() {
    let app = spawn_with(sim_config()).await;
    quiet_sim(&app, serde_json::json!({"rentsPerCabinetHour": 20, "outagesPerCabinetDay": 200, "outageMinutes": 1}))
        .await;
    let world = export(&app).await;
    let cabinets: Vec<String> = world["world"]["cabinets"].as_object().unwrap().keys().cloned().collect();
    assert!(cabinets.len() >= 10, "{cabinets:?}");
    for c in &cabinets {
        let v = app.control(&format!("/cabinets/{c}/offline")).await;
        assert_eq!(v["code"], 0, "{c}: {v}");
    }
    let orders_before = rows(&world["world"]["orders"]).len();

    app.advance(2 * 3600).await;

    let s = stats(&app).await;
    assert_eq!(s["rentals"], 0, "{s}");
    assert!(s["walkAways"].as_u64().unwrap() >= 20, "{s}");
    let world = export(&app).await;
    assert_eq!(rows(&world["world"]["orders"]).len(), orders_before, "no order was created");
    for (id, c) in world["world"]["cabinets"].as_object().unwrap() {
        assert_eq!(c["online"], false, "{id} came back online on its own");
    }
    app.assert_consistent().await;
}

/// Heartbeats are CABINET_STATUS reports taken in turn: each online cabinet reports once per
/// `heartbeatSeconds`, the cabinets' turns spread over the period, and an offline cabinet
/// skips its turn.
#[tokio::test]
async fn heartbeats_come_once_per_period_from_each_online_cabinet_in_turn() {
    let app = spawn_with(sim_config()).await;
    quiet_sim(&app, serde_json::json!({"heartbeatSeconds": 600})).await;
    let sink = format!("{}/_sim/ui/sink", app.base);
    for account in ["demo", "acme"] {
        let v = app.control(&format!("/agents/{account}/push?pushUrl={sink}&events=CABINET_STATUS")).await;
        assert_eq!(v["code"], 0, "{v}");
    }
    let world = export(&app).await;
    let online: BTreeSet<String> = world["world"]["cabinets"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, c)| c["online"] == true)
        .map(|(id, _)| id.clone())
        .collect();
    assert!(online.len() >= 10 && !online.contains(OFFLINE_CAB), "{online:?}");

    app.advance(1800).await;

    let v = app.control_get("/pushes?event=CABINET_STATUS&limit=1000").await;
    let mut at: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in v["data"]["records"].as_array().unwrap() {
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        let cabinet = body["eventData"]["cabinetId"].as_str().unwrap().to_string();
        at.entry(cabinet).or_default().push(body["timestamp"].as_str().unwrap().to_string());
    }
    assert_eq!(at.keys().cloned().collect::<BTreeSet<_>>(), online, "every online cabinet and only those");
    let secs = |t: &str| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").unwrap().and_utc().timestamp();
    let mut firsts = BTreeSet::new();
    for (cabinet, times) in &at {
        let mut t: Vec<i64> = times.iter().map(|s| secs(s)).collect();
        t.sort_unstable();
        assert!((2..=4).contains(&t.len()), "{cabinet}: {times:?}");
        assert!(t.windows(2).all(|w| w[1] - w[0] == 600), "{cabinet} reports every 600 s: {times:?}");
        firsts.insert(t[0] % 600);
    }
    assert!(firsts.len() * 2 > online.len(), "turns spread over the period, not all at once: {firsts:?}");
}

/// Simulated faults: a battery fault or a slot fault raises BATTERY_ABNORMAL_WARNING naming
/// the battery; a technician clears them after `repairHours` without a push of its own.
#[tokio::test]
async fn simulated_faults_warn_and_are_repaired_without_a_push() {
    let app = spawn_with(sim_config()).await;
    quiet_sim(
        &app,
        serde_json::json!({"batteryFaultsPerBatteryDay": 4, "slotFaultsPerSlotDay": 2, "repairHours": 0.5}),
    )
    .await;
    let sink = format!("{}/_sim/ui/sink", app.base);
    let events: Vec<&str> = EVENT_NAMES.iter().copied().filter(|e| *e != "CABINET_STATUS").collect();
    for account in ["demo", "acme"] {
        let v = app.control(&format!("/agents/{account}/push?pushUrl={sink}&events={}", events.join(","))).await;
        assert_eq!(v["code"], 0, "{v}");
    }

    let faulty = |w: &Value| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for c in rows(&w["world"]["cabinets"]) {
            for (i, s) in c["slots"].as_array().unwrap().iter().enumerate().filter(|(_, s)| s["fault"] != 0) {
                out.insert(format!("slot {} of {}: {}", i + 1, c["id"], s["fault"]));
            }
        }
        for b in rows(&w["world"]["batteries"]).into_iter().filter(|b| b["fault"] != 0) {
            out.insert(format!("battery {}: {}", b["id"], b["fault"]));
        }
        out
    };
    let before = faulty(&export(&app).await);

    app.advance(3600).await;

    assert_ne!(faulty(&export(&app).await), before, "faults happened");
    let s = stats(&app).await;
    let faults = s["batteryFaults"].as_u64().unwrap() + s["slotFaults"].as_u64().unwrap();
    assert!(s["batteryFaults"].as_u64().unwrap() >= 1 && s["slotFaults"].as_u64().unwrap() >= 1, "{s}");
    let warnings = app.control_get("/pushes?event=BATTERY_ABNORMAL_WARNING&limit=1000").await["data"]["records"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!warnings.is_empty() && warnings.len() as u64 <= faults, "{} warnings for {faults} faults", warnings.len());
    for w in &warnings {
        let body: Value = serde_json::from_str(w["body"].as_str().unwrap()).unwrap();
        assert!(body["eventData"]["batteryList"].is_array(), "{body}");
    }
    let journaled = app.control_get("/pushes?limit=1").await["data"]["total"].clone();

    // No new faults; six hours are far more than the repairs take (half an hour on average).
    quiet_sim(&app, serde_json::json!({})).await;
    app.advance(6 * 3600).await;
    assert!(stats(&app).await["repairs"].as_u64().unwrap() >= faults, "{}", stats(&app).await);
    assert_eq!(app.control_get("/pushes?limit=1").await["data"]["total"], journaled, "repairs push nothing");
    // What is faulty is what the fixtures made faulty (a technician clears simulated faults only).
    assert_eq!(faulty(&export(&app).await), before);
    app.assert_consistent().await;
}

/// Finished simulated-customer orders are forgotten `orderRetentionHours` after they end;
/// orders created through the API are never forgotten.
#[tokio::test]
async fn finished_customer_orders_are_forgotten_after_the_retention_and_api_orders_are_kept() {
    let app = spawn_with(sim_config()).await;
    quiet_sim(
        &app,
        serde_json::json!({"rentsPerCabinetHour": 6, "rentalMedianMinutes": 10, "rentalMinMinutes": 5,
            "rentalMaxMinutes": 20, "neverReturnShare": 0, "orderRetentionHours": 1}),
    )
    .await;
    let trade = app.create_order(DEMO, DEMO_CAB, &format!("{}/_sim/ui/sink/cb", app.base)).await;
    app.advance(60).await;
    let (_, v) = app.post(&format!("/rent/order/close?tradeNo={trade}")).await;
    assert_eq!(v["code"], 0, "{v}");

    app.advance(3600).await;
    let customer_orders =
        |w: &Value| -> usize { rows(&w["world"]["orders"]).iter().filter(|o| o["origin"] == "customer").count() };
    let during = export(&app).await;
    assert!(customer_orders(&during) >= 5, "rentals happened");

    // No new rentals; every rental ended within 20 minutes, so an hour later they are gone.
    quiet_sim(&app, serde_json::json!({"orderRetentionHours": 1})).await;
    app.advance(3 * 3600).await;
    let after = export(&app).await;
    assert_eq!(customer_orders(&after), 0);
    assert!(stats(&app).await["forgottenOrders"].as_u64().unwrap() >= 5);
    assert!(
        after["world"]["orders"].get(&trade).is_some()
            || rows(&after["world"]["orders"]).iter().any(|o| o["tradeNo"] == trade)
    );
    let (_, v) = app.get(&format!("/rent/order/detail?tradeNo={trade}")).await;
    assert_eq!(v["data"]["borrowStatus"], 3, "{v}");
}
