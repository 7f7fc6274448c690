//! Scale: reset rebuilds the loaded world (no copy is kept), and the geo list (O6) answers
//! from its index with the nearest shops, capped, on a synthetic fleet.

use crate::helpers::*;
use crate::sim::{export, sim_config};
use bajie_sim::config::Config;
use serde_json::Value;

fn fleet_config(n: usize) -> Config {
    Config { fleet: Some(n), ..sim_config() }
}

#[tokio::test]
async fn a_reset_rebuilds_the_world_exactly_as_it_was_loaded() {
    for config in [sim_config(), fleet_config(300)] {
        let app = spawn_with(config).await;
        let loaded = export(&app).await;
        let cab = online_demo_cabinet(&loaded);
        let (_, v) = app.post(&format!("/rent/order/create?deviceId={cab}")).await;
        assert_eq!(v["code"], 0, "{v}");
        app.advance(2 * 3600).await;
        assert_ne!(export(&app).await, loaded);
        assert_eq!(app.control("/reset").await["code"], 0);
        assert_eq!(export(&app).await, loaded, "the world after a reset is the world as loaded");
        app.assert_consistent().await;
    }
}

/// An online demo cabinet holding a battery, from an exported world.
fn online_demo_cabinet(state: &Value) -> String {
    let cabinets = state["world"]["cabinets"].as_object().unwrap();
    let found = cabinets.values().find(|c| {
        c["agent"] == "demo"
            && c["online"] == true
            && c["slots"].as_array().unwrap().iter().any(|s| s["battery"].is_string())
    });
    found.unwrap()["id"].as_str().unwrap().to_string()
}

fn distances(v: &Value) -> Vec<f64> {
    v["list"].as_array().unwrap().iter().map(|i| i["shop"]["distanceNumber"].as_f64().unwrap()).collect()
}

#[tokio::test]
async fn the_geo_list_of_a_fleet_answers_the_nearest_shops_capped_at_a_hundred() {
    let app = spawn_with(Config { fleet: Some(2000), ..Config::for_tests() }).await;
    let wide = "/rent/cabinet/list?coordType=WGS-84&zoomLevel=1&lat=48.86&lng=2.33";
    let (status, v) = app.post(wide).await;
    assert_eq!((status, v["code"].clone()), (200, Value::from(0)), "{v}");
    let d = distances(&v);
    assert_eq!(d.len(), 100, "capped at the 100 nearest of ~500 demo shops");
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "nearest first: {d:?}");
    // The shop of a cabinet is found next to it, at distance 0, with its stock.
    let cab = online_demo_cabinet(&export(&app).await);
    let info = app.device(DEMO, &cab).await;
    let shop = &info["data"]["shop"];
    let near = format!(
        "/rent/cabinet/list?coordType=WGS-84&zoomLevel=8&lat={}&lng={}",
        shop["latitude"].as_str().unwrap(),
        shop["longitude"].as_str().unwrap()
    );
    let (_, v) = app.post(&near).await;
    let first = &v["list"][0];
    assert_eq!(first["shop"]["id"], shop["id"], "{v}");
    assert_eq!(first["shop"]["distanceNumber"], 0.0);
    assert!(first["cabinet"]["batteryNum"].as_str().unwrap().parse::<usize>().unwrap() > 0);
    // Every answer is the agent's own: acme sees none of demo's shops.
    let (_, acme) = app.post_as(ACME, &near).await;
    assert!(acme["list"].as_array().unwrap().iter().all(|i| i["shop"]["id"] != shop["id"]), "{acme}");
}
