//! The rent flow end to end: create, eject, callback, return, billing, and every way it fails.

use crate::helpers::*;
use bajie_sim::config::Config;
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn callback_of(r: &Received) -> (String, String) {
    let f = r.form();
    let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    (get("status"), get("tradeNo"))
}

async fn detail(app: &TestApp, t: &str) -> Value {
    let (s, v) = app.get(&format!("/rent/order/detail?tradeNo={t}")).await;
    assert_eq!(s, 200);
    assert_eq!(v["code"], 0, "{v}");
    v["data"].clone()
}

#[tokio::test]
async fn a_whole_rent_and_return_cycle_calls_back_and_bills_by_the_strategy() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let before = app.device(DEMO, DEMO_CAB).await;
    let best =
        before["data"]["batteries"].as_array().unwrap().iter().max_by_key(|b| b["vol"].as_i64()).unwrap().clone();

    // The callback URL keeps its own query string.
    let cb = format!("{}/cb?rental=42&token=abc", sink.url);
    let t = app.create_order(DEMO, DEMO_CAB, &cb).await;
    assert_eq!(detail(&app, &t).await["borrowStatus"], 0, "pending until the cabinet ejects");

    // The cabinet ejects one virtual second after the order.
    app.advance(1).await;
    let got = sink.wait_for(1, |_| true, WAIT).await;
    assert_eq!(got[0].path, "/cb");
    assert_eq!(got[0].query, "rental=42&token=abc");
    assert_eq!(got[0].content_type, "application/x-www-form-urlencoded");
    assert_eq!(got[0].body, format!("status=1&tradeNo={t}"));

    let d = detail(&app, &t).await;
    assert_eq!(d["orderId"], t.as_str());
    assert_eq!(d["borrowStatus"], 1);
    assert_eq!(d["batteryId"], best["batteryId"], "the highest charge is ejected");
    assert_eq!(d["borrowSlot"], best["slotNum"]);
    assert!(d["returnTime"].is_null());
    assert_eq!(d["cabinetId"], DEMO_CAB);
    assert_eq!(d["currency"], "EUR");
    assert_eq!(d["priceMinute"], "30");

    // The battery left the cabinet and the counts moved.
    let after = app.device(DEMO, DEMO_CAB).await;
    let c = &after["data"]["cabinet"];
    assert_eq!(c["busySlots"].as_i64().unwrap() + 1, before["data"]["cabinet"]["busySlots"].as_i64().unwrap());
    assert!(after["data"]["batteries"].as_array().unwrap().iter().all(|b| b["batteryId"] != best["batteryId"]));

    // 65 minutes later it comes back to another cabinet of the same merchant: 60 billable
    // minutes at 1.50 per 30 = 3.00.
    app.advance(65 * 60).await;
    let battery = best["batteryId"].as_str().unwrap();
    let r = app.control(&format!("/cabinets/BJD60152/return?batteryId={battery}")).await;
    assert_eq!(r["code"], 0, "{r}");
    assert_eq!(r["data"]["orderAmount"], 3);
    let got = sink.wait_for(2, |_| true, WAIT).await;
    assert_eq!(got[1].body, format!("status=2&tradeNo={t}"));

    let d = detail(&app, &t).await;
    assert_eq!(d["borrowStatus"], 3);
    assert_eq!(d["orderAmount"], 3);
    assert_eq!(d["returnTime"], "2026-03-02 10:05:01");
    assert_eq!(d["borrowTime"], "2026-03-02 09:00:01");
    assert!(d["returnShop"].is_string());
    let back = app.device(DEMO, "BJD60152").await;
    assert!(back["data"]["batteries"].as_array().unwrap().iter().any(|b| b["batteryId"] == battery));

    // The journal recorded both callbacks as delivered.
    let j = app.control_get(&format!("/pushes/wait?order={t}&count=2&timeoutMs=5000")).await;
    assert_eq!(j["data"]["total"], 2, "{j}");
    // Callbacks are journaled under the order's cabinet too, so a cabinet filter finds them.
    let j = app.control_get(&format!("/pushes?kind=callback&cabinet={DEMO_CAB}")).await;
    assert_eq!(j["data"]["total"], 2, "{j}");
    app.assert_consistent().await;
}

#[tokio::test]
async fn eject_by_rent_after_create_ejects_the_named_slot_once() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let t = app.create_order(DEMO, DEMO_CAB, &format!("{}/cb", sink.url)).await;
    let (_, v) = app.post(&format!("/cabinet/ejectByRent?cabinetid={DEMO_CAB}&rentOrderId={t}&slotNum=3")).await;
    assert_eq!(v, serde_json::json!({"msg":"Successful operation","code":0}));
    assert_eq!(detail(&app, &t).await["borrowSlot"], 3);

    // Neither a second ejectByRent nor the cabinet's own eject take another battery.
    let (_, v) = app.post(&format!("/cabinet/ejectByRent?cabinetid={DEMO_CAB}&rentOrderId={t}&slotNum=5")).await;
    assert_eq!(v["code"], 2007, "{v}");
    assert!(v.get("data").is_none(), "business errors carry no data key");
    app.advance(5).await;
    let o1 = app.device(DEMO, DEMO_CAB).await;
    assert_eq!(o1["data"]["cabinet"]["busySlots"], 3, "exactly one battery left: {o1}");
    let got = sink.wait_for(1, |_| true, WAIT).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, format!("status=1&tradeNo={t}"));
    app.assert_consistent().await;
}

#[tokio::test]
async fn an_empty_cabinet_fails_the_order_with_status_zero() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let t = app.create_order(DEMO, EMPTY_CAB, &format!("{}/cb", sink.url)).await;
    app.advance(1).await;
    let got = sink.wait_for(1, |_| true, WAIT).await;
    assert_eq!(got[0].body, format!("status=0&tradeNo={t}"));
    let d = detail(&app, &t).await;
    assert_eq!(d["borrowStatus"], 2);
    assert_eq!(d["batteryId"], "");
}

#[tokio::test]
async fn a_cabinet_that_drops_before_the_eject_fails_the_order() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let t = app.create_order(DEMO, DEMO_CAB, &format!("{}/cb", sink.url)).await;
    assert_eq!(app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await["code"], 0);
    app.advance(1).await;
    let got = sink.wait_for(1, |_| true, WAIT).await;
    assert_eq!(got[0].body, format!("status=0&tradeNo={t}"));
}

#[tokio::test]
async fn offline_unknown_and_foreign_devices_get_the_production_errors() {
    let app = spawn_app().await;
    let offline = serde_json::json!({"msg":"Device not online.","code":2004});
    let unbound = serde_json::json!({"msg":"QR code unbound device.","code":2002});
    assert_eq!(app.get(&format!("/rent/cabinet/query?deviceId={OFFLINE_CAB}")).await.1, offline);
    assert_eq!(
        app.post(&format!("/rent/order/create?deviceId={OFFLINE_CAB}&callbackURL=http://127.0.0.1:9/")).await.1,
        offline
    );
    assert_eq!(app.get("/rent/cabinet/query?deviceId=ZZZ99999").await.1, unbound);
    assert_eq!(app.post("/rent/order/create?deviceId=ZZZ99999&callbackURL=http://127.0.0.1:9/").await.1, unbound);
    // Another agent's cabinet is as unknown as a cabinet that does not exist.
    assert_eq!(app.get(&format!("/rent/cabinet/query?deviceId={ACME_CAB}")).await.1, unbound);
    assert_eq!(app.get_as(ACME, &format!("/rent/cabinet/query?deviceId={DEMO_CAB}")).await.1, unbound);
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={ACME_CAB}&callbackURL=http://127.0.0.1:9/")).await;
    assert_eq!(v, unbound);
    // Another agent's order is unknown too.
    let t = app.create_order(DEMO, DEMO_CAB, "http://127.0.0.1:9/cb").await;
    let (_, v) = app.get_as(ACME, &format!("/rent/order/detail?tradeNo={t}")).await;
    assert_eq!(v["code"], 2006);
    let (_, v) = app.post_as(ACME, &format!("/rent/order/close?tradeNo={t}")).await;
    assert_eq!(v["code"], 2006);
    assert_eq!(detail(&app, &t).await["borrowStatus"], 0, "acme's close changed nothing");
}

#[tokio::test]
async fn credentials_are_checked_and_bearer_tokens_work() {
    let app = spawn_app().await;
    let url = app.api(&format!("/rent/cabinet/query?deviceId={DEMO_CAB}"));
    for req in [
        app.client.get(&url),
        app.client.get(&url).basic_auth("demo", Some("wrong")),
        app.client.get(&url).basic_auth("nobody", Some("demo")),
        app.client.get(&url).header("authorization", "Basic !!!"),
        app.client.get(&url).bearer_auth("not-a-token"),
        app.client.get(&url).header("authorization", "Digest abc"),
    ] {
        let (s, v) = read(req.send().await.unwrap()).await;
        assert_eq!(s, 401);
        assert_eq!(v["code"], 401);
        assert!(v["msg"].as_str().unwrap().len() > 5);
        assert!(v.get("data").is_none());
    }
    // OAuth2 login: sha256-hex of the password in the query string.
    let hash = "2a97516c354b68848cdbd8f54a226a0a55b21ed138e207ad6c5cbb9c00aa5aea"; // sha256("demo")
    let r = app.client.post(app.api(&format!("/oauth2/login?username=demo&password={hash}"))).send().await.unwrap();
    let (s, v) = read(r).await;
    assert_eq!(s, 200);
    let token = v["key"].as_str().expect("key is the token").to_string();
    assert_eq!(token.len(), 32);
    let (s, v) = read(app.client.get(&url).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!((s, v["code"].as_i64()), (200, Some(0)));
    // A plain password is not a hash.
    let r = app.client.post(app.api("/oauth2/login?username=demo&password=demo")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = app.client.post(app.api("/oauth2/login?username=demo")).send().await.unwrap();
    assert_eq!(read(r).await.1["code"], 1001);
}

#[tokio::test]
async fn unknown_routes_get_a_404_envelope() {
    let app = spawn_app().await;
    for path in [
        "/cabinet/info",
        "/rent/order/complete",
        "/rent/popAll",
        "/rent/create",
        "/cabinet/list",
        "/rent/order/list",
        "/shop/getAllShopList",
    ] {
        let r = app.client.post(app.api(path)).basic_auth("demo", Some("demo")).send().await.unwrap();
        let (s, v) = read(r).await;
        assert_eq!(s, 404, "{path}");
        assert_eq!(v["code"], 404, "{path}");
    }
    let (s, v) = read(app.client.get(format!("{}/nothing/here", app.base)).send().await.unwrap()).await;
    assert_eq!((s, v["code"].as_i64()), (404, Some(404)));
}

#[tokio::test]
async fn malformed_parameters_get_clear_business_errors() {
    let app = spawn_app().await;
    let cases: &[(&str, &str, &str)] = &[
        ("GET", "/rent/cabinet/query", "deviceId"),
        ("POST", "/rent/order/create?callbackURL=http://x/", "deviceId"),
        ("POST", "/rent/order/create?deviceId=BJD60151&callbackURL=ftp://x/", "callbackURL"),
        ("POST", "/rent/order/create?deviceId=BJD60151&callbackURL=not%20a%20url", "callbackURL"),
        ("POST", "/rent/order/query", "tradeNo"),
        ("POST", "/rent/order/close", "tradeNo"),
        ("GET", "/rent/order/detail", "tradeNo"),
        ("POST", "/rent/cabinet/list?coordType=WGS-84&lat=1&lng=2", "zoomLevel"),
        ("POST", "/rent/cabinet/list?coordType=WGS-84&zoomLevel=9&lat=1&lng=2", "zoomLevel"),
        ("POST", "/rent/cabinet/list?coordType=WGS-84&zoomLevel=x&lat=1&lng=2", "zoomLevel"),
        ("POST", "/rent/cabinet/list?coordType=WGS-84&zoomLevel=5&lat=north&lng=2", "lat"),
        ("POST", "/rent/cabinet/list?coordType=WGS-84&zoomLevel=5&lat=91&lng=2", "lat"),
        ("POST", "/rent/cabinet/list?coordType=MARS&zoomLevel=5&lat=1&lng=2", "coordType"),
        ("POST", "/rent/cabinet/list?coordType=WGS-84&zoomLevel=5&lat=1&lng=2&showPrice=maybe", "showPrice"),
        ("POST", "/cabinet/ejectByRent?cabinetid=BJD60151&rentOrderId=1&slotNum=-1", "slotNum"),
        ("POST", "/cabinet/ejectByRent?cabinetid=BJD60151&rentOrderId=1", "slotNum"),
    ];
    for (method, path, param) in cases {
        let req = if *method == "GET" { app.client.get(app.api(path)) } else { app.client.post(app.api(path)) };
        let (s, v) = read(req.basic_auth("demo", Some("demo")).send().await.unwrap()).await;
        assert_eq!(s, 200, "{path}");
        assert_eq!(v["code"], 1001, "{path}: {v}");
        assert!(v["msg"].as_str().unwrap().contains(param), "{path}: {v}");
        assert!(v.get("data").is_none());
    }
    // Nothing was created by the rejected requests.
    let o1 = app.device(DEMO, DEMO_CAB).await;
    assert_eq!(o1["data"]["cabinet"]["busySlots"], 4);
    app.assert_consistent().await;
}

#[tokio::test]
async fn parameters_are_accepted_as_a_form_body_and_order_query_accepts_get() {
    let app = spawn_app().await;
    let r = app
        .client
        .post(app.api("/rent/order/create"))
        .basic_auth("demo", Some("demo"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("deviceId=BJD60151&callbackURL=http%3A%2F%2F127.0.0.1%3A9%2Fcb%3Fa%3D1")
        .send()
        .await
        .unwrap();
    let (_, v) = read(r).await;
    assert_eq!(v["code"], 0, "{v}");
    let t = v["data"]["tradeNo"].as_str().unwrap().to_string();
    let (_, v) = app.get(&format!("/rent/order/query?tradeNo={t}")).await;
    assert_eq!(v["code"], 0);
    assert_eq!(v["data"]["borrowStatus"], 0);
    // `orderId` is tolerated for `tradeNo` on the detail.
    let (_, v) = app.get(&format!("/rent/order/detail?orderId={t}")).await;
    assert_eq!(v["data"]["orderId"], t.as_str());
    // Unknown extra parameters are ignored.
    let (_, v) =
        app.post("/rent/order/create?deviceId=BJD60151&callbackURL=http://127.0.0.1:9/&shopId=x&slotNum=2").await;
    assert_eq!(v["code"], 0);
}

#[tokio::test]
async fn closing_orders_revokes_pending_ones_and_bills_leased_ones() {
    let app = spawn_app().await;
    let pending = app.create_order(DEMO, DEMO_CAB, "http://127.0.0.1:9/cb").await;
    let (_, v) = app.post(&format!("/rent/order/close?tradeNo={pending}")).await;
    assert_eq!(v, serde_json::json!({"msg":"Successful operation","code":0}));
    assert_eq!(detail(&app, &pending).await["borrowStatus"], 2);
    app.advance(1).await;
    assert_eq!(app.device(DEMO, DEMO_CAB).await["data"]["cabinet"]["busySlots"], 4, "a revoked order ejects nothing");

    let leased = app.create_order(DEMO, DEMO_CAB, "http://127.0.0.1:9/cb").await;
    app.advance(1).await;
    app.advance(40 * 60).await;
    app.post(&format!("/rent/order/close?tradeNo={leased}")).await;
    let d = detail(&app, &leased).await;
    assert_eq!(d["borrowStatus"], 3);
    assert_eq!(d["orderAmount"], 3, "40 min - 5 free = 35 billable = two periods of 1.50");
    app.assert_consistent().await;
}

#[tokio::test]
async fn fifty_concurrent_rents_on_a_cabinet_with_k_batteries_give_exactly_k_batteries() {
    let mut config = Config::for_tests();
    config.eject_delay_s = 0;
    let app = spawn_with(config).await;
    let sink = Sink::start().await;
    let o1 = app.device(DEMO, DEMO_CAB).await;
    let k = o1["data"]["batteries"].as_array().unwrap().iter().filter(|b| b["vol"].as_i64().unwrap() >= 20).count();
    assert!(k > 0);
    let cb = format!("{}/cb", sink.url);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = app.client.clone();
            let url = app.api("/rent/order/create");
            let cb = cb.clone();
            tokio::spawn(async move {
                let r = client
                    .post(url)
                    .basic_auth("demo", Some("demo"))
                    .query(&[("deviceId", DEMO_CAB), ("callbackURL", cb.as_str())])
                    .send()
                    .await
                    .unwrap();
                read(r).await.1["data"]["tradeNo"].as_str().unwrap().to_string()
            })
        })
        .collect();
    let mut trades = Vec::new();
    for t in tasks {
        trades.push(t.await.unwrap());
    }
    let got = sink.wait_for(50, |_| true, WAIT).await;
    let ok = got.iter().filter(|r| callback_of(r).0 == "1").count();
    let failed = got.iter().filter(|r| callback_of(r).0 == "0").count();
    assert_eq!((ok, failed), (k, 50 - k));
    let mut leased = 0;
    for t in &trades {
        if detail(&app, t).await["borrowStatus"] == 1 {
            leased += 1;
        }
    }
    assert_eq!(leased, k);
    assert_eq!(app.device(DEMO, DEMO_CAB).await["data"]["cabinet"]["busySlots"], 4 - k as i64);
    app.assert_consistent().await;
}

#[tokio::test]
async fn every_device_info_of_the_default_world_is_consistent() {
    let app = spawn_app().await;
    let cabinets: Vec<(String, String)> = {
        let w = app.running.state.store.snapshot();
        w.cabinets().values().filter(|c| c.online).map(|c| (c.agent.to_string(), c.id.to_string())).collect()
    };
    assert!(cabinets.len() >= 24);
    for (agent, id) in cabinets {
        let who = if agent == "demo" { DEMO } else { ACME };
        let v = app.device(who, &id).await;
        assert_eq!(v["code"], 0);
        assert_eq!(v["msg"], "Successful operation");
        let d = &v["data"];
        let c = &d["cabinet"];
        let slots = c["slots"].as_i64().unwrap();
        let bats = d["batteries"].as_array().unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for b in bats {
            let n = b["slotNum"].as_i64().expect("slotNum integer");
            assert!((1..=slots).contains(&n), "{id}: slot {n}");
            assert!(seen.insert(n), "{id}: slot {n} twice");
            assert!((0..=100).contains(&b["vol"].as_i64().expect("vol integer")));
            assert!(!b["batteryId"].as_str().unwrap().is_empty());
        }
        assert_eq!(c["busySlots"].as_i64().unwrap(), bats.len() as i64, "{id}");
        assert_eq!(c["busySlots"].as_i64().unwrap() + c["emptySlots"].as_i64().unwrap(), slots, "{id}");
        assert!(c["online"].is_boolean());
        for f in ["signal", "type", "ip", "remark", "posDeviceId", "qrCode", "id", "shopId"] {
            assert!(c[f].is_string(), "{id}: cabinet.{f}");
        }
        assert_eq!(c["type"], slots.to_string());
        for f in [
            "latitude",
            "longitude",
            "priceMinute",
            "city",
            "openingTime",
            "icon",
            "content",
            "province",
            "region",
            "logo",
            "id",
            "name",
        ] {
            assert!(d["shop"][f].is_string(), "{id}: shop.{f}");
        }
        assert!(d["shop"]["latitude"].as_str().unwrap().parse::<f64>().is_ok());
        for f in ["price", "dailyMaxPrice", "freeMinutes", "deposit"] {
            assert!(d["shop"][f].is_number(), "{id}: shop.{f}");
        }
        for f in [
            "depositAmount",
            "priceMinute",
            "autoRefund",
            "timeoutAmount",
            "timeoutDay",
            "dailyMaxPrice",
            "freeMinutes",
        ] {
            assert!(d["priceStrategy"][f].is_i64(), "{id}: priceStrategy.{f} = {}", d["priceStrategy"][f]);
        }
        assert!(d["priceStrategy"]["price"].is_number());
        for f in ["currencySymbol", "name", "currency", "shopId"] {
            assert!(d["priceStrategy"][f].is_string());
        }
    }
}

#[tokio::test]
async fn the_geo_list_sorts_by_distance_and_answers_the_same_price_strings_whatever_show_price_says() {
    let app = spawn_app().await;
    // Standing at the Louvre pyramid.
    let (_, v) = app.post("/rent/cabinet/list?coordType=WGS-84&zoomLevel=4&lat=48.8606&lng=2.3376").await;
    assert_eq!(v["code"], 0);
    assert!(v.get("data").is_none());
    let list = v["list"].as_array().unwrap();
    assert!(list.len() >= 5, "{v}");
    let d: Vec<f64> = list.iter().map(|i| i["shop"]["distanceNumber"].as_f64().unwrap()).collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    assert_eq!(list[0]["shop"]["id"], "04679963e0");
    for i in list {
        assert!(i["price"]["priceId"].is_i64());
        for f in ["batteryNum", "freeNum", "infoStatus"] {
            assert!(i["cabinet"][f].is_string());
        }
        for f in ["price", "deposit", "dailyCapAmount"] {
            assert!(i["price"][f].is_string());
        }
        assert!(i["shop"]["distance"].is_string());
    }
    // Only the agent's own shops, and none in London for demo.
    let (_, v) = app.post("/rent/cabinet/list?coordType=WGS-84&zoomLevel=3&lat=51.5308&lng=-0.1238").await;
    assert_eq!(v["list"], serde_json::json!([]));
    // showPrice=false: the same price block, strings and an integer id, never null
    // (docs/fidelity.md, "O6 price block").
    let (_, shown) = app.post("/rent/cabinet/list?coordType=WGS-84&zoomLevel=5&lat=48.8606&lng=2.3376").await;
    let (_, hidden) =
        app.post("/rent/cabinet/list?coordType=WGS-84&zoomLevel=5&lat=48.8606&lng=2.3376&showPrice=false").await;
    assert_eq!(hidden["list"], shown["list"]);
    assert_eq!(
        hidden["list"][0]["price"],
        serde_json::json!({"priceId": 101, "freeDuration": "5", "price": "1.50", "chargeUnit": "30",
            "dailyCapAmount": "6.00", "deposit": "30.00"})
    );
    let (_, v) =
        app.post("/rent/cabinet/list?coordType=GCJ-02&zoomLevel=5&lat=48.8606&lng=2.3376&showPrice=false").await;
    for item in v["list"].as_array().unwrap() {
        assert!(item["price"]["priceId"].is_i64(), "{item}");
        for f in ["freeDuration", "price", "chargeUnit", "dailyCapAmount", "deposit"] {
            assert!(item["price"][f].as_str().is_some_and(|s| !s.is_empty()), "{f}: {item}");
        }
    }
    let (_, v) =
        app.post("/rent/cabinet/list?coordType=WGS-84&zoomLevel=5&lat=48.8606&lng=2.3376&showPrice=maybe").await;
    assert_eq!(v["code"], 1001, "showPrice must be a boolean: {v}");
}

/// A repeated parameter is read from its first occurrence (what a Spring `@RequestParam String`
/// reads), unknown parameters are ignored, and an id with an invalid escape is kept as sent and
/// answered like any unknown id, not refused.
#[tokio::test]
async fn a_duplicate_parameter_is_read_from_its_first_occurrence_and_odd_escapes_answer_like_unknown_ids() {
    let app = spawn_app().await;
    let own = app.device(DEMO, DEMO_CAB).await;
    assert_eq!(own["code"], 0, "{own}");
    let (_, first) =
        app.get(&format!("/rent/cabinet/query?deviceId={DEMO_CAB}&deviceId=ZZZ99999&noSuchParameter=1")).await;
    assert_eq!(first, own);
    // Percent escapes and `+` are decoded once for the journal and the handler alike.
    let escaped: String = DEMO_CAB.bytes().map(|b| format!("%{b:02X}")).collect();
    let (_, decoded) = app.get(&format!("/rent/cabinet/query?noSuchParameter=a+b&deviceId={escaped}")).await;
    assert_eq!(decoded, own);
    let unbound = serde_json::json!({"msg":"QR code unbound device.","code":2002});
    let (_, second) = app.get(&format!("/rent/cabinet/query?deviceId=ZZZ99999&deviceId={DEMO_CAB}")).await;
    assert_eq!(second, unbound);
    for odd in ["BJD%ZZ151", "BJD%FF151"] {
        let (_, v) = app.get(&format!("/rent/cabinet/query?deviceId={odd}")).await;
        assert_eq!(v, unbound, "{odd}");
    }
}

/// A return (`/_sim/cabinets/{id}/return`) docks the battery into an online cabinet of its own
/// merchant with a free healthy slot; a foreign, an offline or a full cabinet refuses it and
/// nothing changes.
#[tokio::test]
async fn a_return_is_refused_by_a_foreign_an_offline_or_a_full_cabinet_and_docks_in_an_online_one() {
    let app = spawn_app().await;
    let trade = app.create_order(ACME, ACME_CAB, "http://127.0.0.1:9/cb").await;
    app.advance(1).await;
    let (_, v) = app.get_as(ACME, &format!("/rent/order/detail?tradeNo={trade}")).await;
    assert_eq!(v["data"]["borrowStatus"], 1, "{v}");
    let battery = v["data"]["batteryId"].as_str().unwrap().to_string();
    app.control(&format!("/cabinets/{ACME_CAB}/offline")).await;
    for cabinet in [EMPTY_CAB, ACME_CAB, FULL_CAB] {
        let before = app.running.state.store.snapshot();
        let v = app.control(&format!("/cabinets/{cabinet}/return?batteryId={battery}")).await;
        assert_ne!(v["code"], 0, "{cabinet} took the battery: {v}");
        assert!(app.running.state.store.snapshot() == before, "{cabinet}: {v}");
    }
    app.control(&format!("/cabinets/{ACME_CAB}/online")).await;
    let v = app.control(&format!("/cabinets/{ACME_CAB}/return?batteryId={battery}")).await;
    assert_eq!(v["code"], 0, "{v}");
    let (_, v) = app.get_as(ACME, &format!("/rent/order/detail?tradeNo={trade}")).await;
    assert_eq!(v["data"]["borrowStatus"], 3, "{v}");
    app.assert_consistent().await;
}

/// `ejectByRent` with an unknown `rentOrderId` creates a back-office order only when the eject
/// can happen: a named slot that is empty, locked or missing answers 2008 and no order exists.
#[tokio::test]
async fn eject_by_rent_of_a_new_order_on_an_empty_locked_or_missing_slot_answers_2008_and_creates_no_order() {
    let app = spawn_app().await;
    let (_, v) =
        app.post(&format!("/cabinet/operation?cabinetid={DEMO_CAB}&slotNum=5&operationType=lock&reason=")).await;
    assert_eq!(v["code"], 0, "{v}");
    for (slot, order) in [(2, "26030209000000000011"), (5, "26030209000000000012"), (99, "26030209000000000013")] {
        let before = app.running.state.store.snapshot();
        let (_, v) =
            app.post(&format!("/cabinet/ejectByRent?cabinetid={DEMO_CAB}&rentOrderId={order}&slotNum={slot}")).await;
        assert_eq!(v["code"], 2008, "slot {slot}: {v}");
        let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={order}")).await;
        assert_eq!(d["code"], 2006, "slot {slot}: {d}");
        assert!(app.running.state.store.snapshot() == before, "slot {slot} changed the world");
    }
}
