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
