//! Scale: reset rebuilds the loaded world (no copy is kept), the geo list (O6) answers from
//! its index with the nearest shops, capped, on a synthetic fleet, and O1 answers served again
//! from the per-worker cache are always what a fresh read gives.

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

/// O1 as (slot, vol, battery id) rows, read through two connections (two workers, each with
/// its own answer cache), which must agree.
async fn o1_rows(app: &TestApp, clients: &[reqwest::Client], cab: &str) -> Option<Vec<(i64, i64, String)>> {
    let mut seen = Vec::new();
    for c in clients {
        let url = app.api(&format!("/rent/cabinet/query?deviceId={cab}"));
        let v = read(c.get(url).basic_auth(DEMO.0, Some(DEMO.1)).send().await.unwrap()).await.1;
        if v["code"] != 0 {
            assert_eq!(v["code"], 2004, "{v}");
            seen.push(None);
            continue;
        }
        let mut rows: Vec<(i64, i64, String)> = v["data"]["batteries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (b["slotNum"].as_i64().unwrap(), b["vol"].as_i64().unwrap(), b["batteryId"].as_str().unwrap().into())
            })
            .collect();
        rows.sort();
        assert_eq!(v["data"]["cabinet"]["busySlots"].as_i64().unwrap(), rows.len() as i64);
        seen.push(Some(rows));
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "workers disagree: {seen:?}");
    seen.pop().unwrap()
}

/// The same rows from C8, which is never cached.
async fn c8_rows(app: &TestApp, cab: &str) -> Vec<(i64, i64, String)> {
    let (_, v) = app.get(&format!("/cabinet/batteryListByCabinetId/{cab}")).await;
    let mut rows: Vec<(i64, i64, String)> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (b["pKakou"].as_i64().unwrap(), b["pDianliang"].as_i64().unwrap(), b["pBatteryid"].as_str().unwrap().into())
        })
        .collect();
    rows.sort();
    rows
}

/// O1 answers are served again from a per-worker cache while nothing changed: they must stay
/// exactly what a fresh read gives, through rents, ejects, offline spells, and a clock whose
/// every small step may move a battery's `vol`.
#[tokio::test]
async fn device_info_answers_follow_every_change_and_the_charge_curve() {
    let app = spawn_app().await;
    let clients: Vec<reqwest::Client> =
        (0..2).map(|_| reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap()).collect();
    let cabinets = [DEMO_CAB, "BJD60152", "BJH20417", EMPTY_CAB];
    let mut first = Vec::new();
    for cab in cabinets {
        first.push(o1_rows(&app, &clients, cab).await);
    }
    let mut changed = false;
    for step in 0..48 {
        match step % 6 {
            // Small steps, below a minute: most do not move a whole percent, some do.
            0 | 1 | 3 => app.control(&format!("/clock?advance={}", 3.7 + step as f64)).await,
            2 => {
                // A rent: the eject, a due action a second later, is a write.
                let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}")).await;
                app.control("/clock?advance=2").await;
                v
            }
            4 => app.control(&format!("/cabinets/{}/offline", cabinets[step % 3])).await,
            _ => app.control(&format!("/cabinets/{}/online", cabinets[(step - 1) % 3])).await,
        };
        for (i, cab) in cabinets.iter().enumerate() {
            let o1 = o1_rows(&app, &clients, cab).await;
            if let Some(rows) = &o1 {
                assert_eq!(rows, &c8_rows(&app, cab).await, "{cab} at step {step}");
            }
            changed |= o1 != first[i];
        }
    }
    assert!(changed, "the walk changed some answer");
    app.assert_consistent().await;
}
