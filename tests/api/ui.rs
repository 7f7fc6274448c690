//! The dashboard (`/_sim/ui`), its JSON view (`/_sim/ui/world`) and the built-in receiver
//! (`/_sim/ui/sink`). The page itself is exercised in a real browser by
//! `scripts/browser-test.sh`.

use crate::helpers::*;
use serde_json::Value;

async fn world(app: &TestApp, query: &str) -> Value {
    app.control_get(&format!("/ui/world{query}")).await
}

fn cabinet<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["data"]["world"]["cabinets"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap()
}

/// Rent from `device` as demo and let the cabinet eject; returns the trade number.
async fn rent(app: &TestApp, device: &str, callback: Option<&str>) -> String {
    let cb = callback.map(|u| format!("&callbackURL={u}")).unwrap_or_default();
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={device}{cb}")).await;
    assert_eq!(v["code"], 0, "{v}");
    app.advance(2).await;
    v["data"]["tradeNo"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_dashboard_page_is_served_as_one_html_file() {
    let app = spawn_app().await;
    let r = app.client.get(app.sim("/ui")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let html = r.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("/_sim/ui/world"));
    // Self-contained: no script, style or image is fetched from elsewhere.
    assert!(!html.contains("src=\"http"), "external asset in the page");
    assert!(!html.contains("href=\"http"), "external asset in the page");
}

#[tokio::test]
async fn the_world_view_shows_the_demo_fleet_with_slots_charge_and_faults() {
    let app = spawn_app().await;
    let v = world(&app, "").await;
    assert_eq!(v["code"], 0, "{v}");
    let d = &v["data"];
    assert_eq!(d["world"]["agent"], "demo");
    assert_eq!(d["clock"]["now"], "2026-03-02 09:00:00");
    assert_eq!(d["clock"]["frozen"], true);
    let agents: Vec<&str> =
        d["world"]["agents"].as_array().unwrap().iter().map(|a| a["account"].as_str().unwrap()).collect();
    assert_eq!(agents, ["acme", "demo"]);

    let c = cabinet(&v, DEMO_CAB);
    assert_eq!(c["online"], true);
    assert_eq!(c["slotCount"], 8);
    assert_eq!(c["shop"], "04679963e0");
    let slots = c["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 8);
    let full: Vec<u64> =
        slots.iter().filter(|s| s["batteryId"].is_string()).map(|s| s["slot"].as_u64().unwrap()).collect();
    assert_eq!(full, [1, 3, 5, 8]);
    assert!(slots[0]["vol"].as_u64().unwrap() > 0);
    assert_eq!(slots[1]["vol"], 0);
    assert_eq!(cabinet(&v, OFFLINE_CAB)["online"], false);

    // Slot faults of the fixtures on BJH20417 slots 3 and 4.
    let faulty = cabinet(&v, "BJH20417")["slots"].as_array().unwrap().iter().filter(|s| s["slotFault"] != 0).count();
    assert_eq!(faulty, 2);
    let shop = d["world"]["shops"].as_array().unwrap().iter().find(|s| s["id"] == "04679963e0").unwrap();
    assert!(shop["cabinets"].as_array().unwrap().iter().any(|c| c == DEMO_CAB));
    assert!(shop["latitude"].is_f64());
    assert_eq!(d["world"]["totals"]["cabinets"], 17);
}

#[tokio::test]
async fn agents_never_mix_in_the_world_view() {
    let app = spawn_app().await;
    let v = world(&app, "?agent=acme").await;
    assert_eq!(v["data"]["world"]["agent"], "acme");
    let ids: Vec<&str> =
        v["data"]["world"]["cabinets"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&ACME_CAB));
    assert!(!ids.contains(&DEMO_CAB));
}

#[tokio::test]
async fn an_unknown_agent_gets_the_envelope_error() {
    let app = spawn_app().await;
    let v = world(&app, "?agent=nobody").await;
    assert_eq!(v, serde_json::json!({ "msg": "No agent 'nobody'.", "code": 9001 }));
    let v = world(&app, "?orders=-1").await;
    assert_eq!(v["code"], 1001, "{v}");
}

#[tokio::test]
async fn an_open_order_shows_its_running_amount_in_major_units_newest_first() {
    let app = spawn_app().await;
    let first = rent(&app, DEMO_CAB, None).await;
    let second = rent(&app, "BJD60152", None).await;
    // 61 minutes (rounded up) after the first borrow: 5 free minutes, then 1.5 per started
    // 30 minutes (strategy 101) = 2 periods = 3.
    app.advance(3600 - 2).await;
    let v = world(&app, "").await;
    let orders = v["data"]["world"]["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0]["tradeNo"], second.as_str());
    let o = &orders[1];
    assert_eq!(o["tradeNo"], first.as_str());
    assert_eq!(o["status"], "inLease");
    assert_eq!(o["open"], true);
    assert_eq!(o["cabinet"], DEMO_CAB);
    assert_eq!(o["minutes"], 61);
    assert_eq!(o["amount"], 3);
    assert!(o["amount"].is_i64(), "whole amounts are integers");
    assert_eq!(o["currency"], "EUR");
    let slot = o["slot"].as_u64().unwrap() as usize;
    assert!(cabinet(&v, DEMO_CAB)["slots"][slot - 1]["batteryId"].is_null(), "the slot is empty");
    // The battery is out with the customer on that order.
    let outside = v["data"]["world"]["outside"].as_array().unwrap();
    assert!(outside.iter().any(|b| b["id"] == o["batteryId"] && b["order"] == first.as_str()));
    assert_eq!(v["data"]["world"]["totals"]["openOrders"], 2);
}

#[tokio::test]
async fn callbacks_to_the_built_in_sink_are_delivered_and_shown_in_the_view() {
    let app = spawn_app().await;
    let sink = app.sim("/ui/sink");
    let trade = rent(&app, DEMO_CAB, Some(&sink)).await;
    let w = app.control_get(&format!("/pushes/wait?order={trade}&count=1&timeoutMs=5000")).await;
    assert_eq!(w["code"], 0, "{w}");
    let v = world(&app, "").await;
    let records = v["data"]["pushes"]["records"].as_array().unwrap();
    let cb = records.iter().find(|r| r["event"] == "RENT_CALLBACK_1").unwrap();
    assert_eq!(cb["status"], "delivered");
    assert_eq!(cb["attempts"][0]["httpStatus"], 200);
    assert!(cb["body"].as_str().unwrap().contains(&trade));
}

#[tokio::test]
async fn the_view_is_capped_but_its_totals_count_everything() {
    let app = spawn_app().await;
    let v = world(&app, "?cabinets=2&orders=0&pushes=0").await;
    let w = &v["data"]["world"];
    let cabs = w["cabinets"].as_array().unwrap();
    assert_eq!(cabs.len(), 2);
    assert_eq!(w["totals"]["cabinets"], 17);
    assert_eq!(w["totals"]["shops"], 7);
    // The map shows the shops of the cabinets shown, and only those cabinets.
    for s in w["shops"].as_array().unwrap() {
        for c in s["cabinets"].as_array().unwrap() {
            assert!(cabs.iter().any(|x| x["id"] == *c), "{c} is on the map but not in the list");
        }
    }
    for c in cabs {
        assert!(w["shops"].as_array().unwrap().iter().any(|s| s["id"] == c["shop"]));
    }
    let v = world(&app, "?cabinets=0").await;
    assert_eq!(v["code"], 1001, "{v}");
}

/// The journal of the view filters by order and by cabinet and can hide the heartbeats; fault
/// rules show on the cabinet they name; plots get one sample per five virtual minutes, bounded
/// and started again when virtual time goes back.
#[tokio::test]
async fn the_view_filters_its_journal_shows_rules_on_cabinets_and_samples_virtual_time() {
    let app = spawn_app().await;
    app.control(&format!("/agents/demo/push?pushUrl={}/_sim/ui/sink", app.base)).await;
    let sink = format!("{}/_sim/ui/sink/rent", app.base);
    let first = rent(&app, DEMO_CAB, Some(&sink)).await;
    let second = rent(&app, "BJD60152", Some(&sink)).await;
    app.control("/cabinets/BJD60152/report").await;
    let v = app.control_get("/pushes/wait?agent=demo&count=5&timeoutMs=10000").await;
    assert_eq!(v["code"], 0, "{v}");

    let records = |v: &Value| v["data"]["pushes"]["records"].as_array().cloned().unwrap_or_default();
    let all = world(&app, "").await;
    assert!(records(&all).iter().any(|r| r["event"] == "CABINET_STATUS"), "{all}");
    let hidden = world(&app, "?hideStatus=true").await;
    assert!(!records(&hidden).is_empty() && records(&hidden).iter().all(|r| r["event"] != "CABINET_STATUS"));
    let of_first = world(&app, &format!("?order={first}")).await;
    let events: Vec<String> =
        records(&of_first).iter().map(|r| r["event"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(events, ["RENT_CALLBACK_1", "BATTERY_BORROW_OUT"], "latest first: {of_first}");
    let of_cabinet = world(&app, "?cabinet=BJD60152&hideStatus=true").await;
    assert!(records(&of_cabinet).iter().all(|r| r["cabinet"] == "BJD60152" && r["event"] != "CABINET_STATUS"));
    assert!(records(&of_cabinet).iter().any(|r| r["order"] == second.as_str()));
    let v = world(&app, "?hideStatus=maybe").await;
    assert_eq!(v["code"], 1001, "{v}");

    app.control("/faults?effect=ejectFailure&faultType=4&device=BJD60152").await;
    app.control("/faults?effect=latency&latencyMs=1&endpoint=O1").await;
    let v = world(&app, "").await;
    let rules = cabinet(&v, "BJD60152")["faultRules"].as_array().cloned().unwrap_or_default();
    assert_eq!(rules.len(), 1, "{v}");
    assert_eq!((rules[0]["effect"].as_str(), rules[0]["faultType"].as_u64()), (Some("ejectFailure"), Some(4)));
    assert_eq!(cabinet(&v, DEMO_CAB)["faultRules"], serde_json::json!([]));
    assert_eq!(v["data"]["world"]["faultRules"].as_array().map(Vec::len), Some(2));

    // One sample per poll at most, a new one only when five virtual minutes have passed.
    let samples = |v: &Value| v["data"]["samples"].as_array().cloned().unwrap_or_default();
    let n = samples(&v).len();
    assert!(n >= 1, "{v}");
    assert_eq!(samples(&world(&app, "").await).len(), n, "no new sample within five virtual minutes");
    app.advance(300).await;
    let s = samples(&world(&app, "").await);
    assert_eq!(s.len(), n + 1);
    let last = &s[n];
    assert_eq!(last["openOrders"], 2, "{last}");
    assert!(last["fleetCharge"].as_f64().is_some_and(|c| c > 0.0 && c <= 100.0), "{last}");
    // The two rentals happened within the first sample's window or this one: none now.
    assert_eq!(last["rentalsPerHour"], 0.0, "{last}");
    // A return in the next interval: one in five minutes is 12 an hour.
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={first}")).await;
    let battery = d["data"]["batteryId"].as_str().unwrap().to_string();
    app.control(&format!("/cabinets/BJD60188/return?batteryId={battery}")).await;
    app.advance(300).await;
    let s = samples(&world(&app, "").await);
    assert_eq!(s[s.len() - 1]["returnsPerHour"], 12.0, "{s:?}");
    assert_eq!(s[s.len() - 1]["openOrders"], 1);
    // A reset takes virtual time back: the plots start again.
    app.control("/reset").await;
    assert_eq!(samples(&world(&app, "").await).len(), 1);
}

/// The user's own orders stay in the view when simulated customers' orders outnumber the rows.
#[tokio::test]
async fn the_users_orders_come_before_simulated_customers_orders() {
    let app = spawn_with(bajie_sim::config::Config { no_sim: false, ..bajie_sim::config::Config::for_tests() }).await;
    app.control("/sim?rentsPerCabinetHour=10").await;
    let mine = rent(&app, DEMO_CAB, None).await;
    app.advance(1800).await;
    let v = world(&app, "?orders=3").await;
    let orders = v["data"]["world"]["orders"].as_array().cloned().unwrap_or_default();
    assert!(v["data"]["world"]["totals"]["orders"].as_u64().unwrap_or(0) > 10, "customers rented: {v}");
    assert_eq!(orders[0]["tradeNo"], mine.as_str(), "{v}");
}

/// The built-in sink answers the platform's success envelope with HTTP 200 to any method on
/// `/_sim/ui/sink` and any path below it.
#[tokio::test]
async fn the_built_in_sink_answers_success_to_any_method_on_any_path_below_it() {
    let app = spawn_app().await;
    for path in ["/ui/sink", "/ui/sink/rent", "/ui/sink/events/a/b?x=1"] {
        for method in [reqwest::Method::POST, reqwest::Method::GET, reqwest::Method::PUT, reqwest::Method::DELETE] {
            let r = app.client.request(method.clone(), app.sim(path)).body("status=1").send().await.unwrap();
            assert_eq!(r.status(), 200, "{method} {path}");
            assert_eq!(r.text().await.unwrap(), r#"{"msg":"Successful operation","code":0}"#, "{method} {path}");
        }
    }
}
