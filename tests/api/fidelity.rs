//! What unmodified production clients rely on and the simulator once got wrong (each choice
//! is written down in docs/fidelity.md, which names the test here that pins it): the integer
//! `code` of every operation but S1 and C4, a clock that starts at the real time unless
//! pinned, and `ejectByRent` taking a pending order over from the cabinet's automatic eject.

use crate::helpers::*;
use bajie_sim::config::{Config, TEST_START};
use serde_json::Value;
use std::collections::BTreeMap;

/// A new Open API order on `cabinet` whose callbacks go to the built-in receiver; event pushes
/// of demo go there too, so both show in the journal.
async fn order_on(app: &TestApp, cabinet: &str) -> String {
    let sink = format!("{}/_sim/ui/sink", app.base);
    let v = app.control(&format!("/agents/demo/push?pushUrl={}", urlencode(&format!("{sink}/events")))).await;
    assert_eq!(v["code"], 0, "{v}");
    app.create_order(DEMO, cabinet, &format!("{sink}/cb")).await
}

/// The journal's entries about `trade`, oldest first: `RENT_CALLBACK_<status>` and event
/// names, each with its body.
async fn journal(app: &TestApp, trade: &str) -> Vec<(String, String)> {
    let v = app.control_get(&format!("/pushes?order={trade}")).await;
    v["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["event"].as_str().unwrap().to_string(), r["body"].as_str().unwrap().to_string()))
        .collect()
}

/// How many journal entries about `trade` are named `event`.
async fn count(app: &TestApp, trade: &str, event: &str) -> usize {
    journal(app, trade).await.iter().filter(|(e, _)| e == event).count()
}

/// `borrowStatus` of an order (O5).
async fn borrow_status(app: &TestApp, trade: &str) -> i64 {
    let d = app.order_detail(DEMO, trade).await;
    d["borrowStatus"].as_i64().unwrap_or_else(|| panic!("{d}"))
}

/// Slot -> battery id of the batteries in `cabinet` (O1).
async fn batteries(app: &TestApp, cabinet: &str) -> BTreeMap<i64, String> {
    let v = app.device(DEMO, cabinet).await;
    v["data"]["batteries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["slotNum"].as_i64().unwrap(), b["batteryId"].as_str().unwrap().to_string()))
        .collect()
}

async fn eject_by_rent(app: &TestApp, trade: &str, slot: u16) -> Value {
    app.eject_by_rent(DEMO, DEMO_CAB, trade, slot).await
}

// ----- 2. string codes on S1 and C4 only --------------------------------------------------------

#[tokio::test]
async fn shop_detail_answers_an_integer_code_and_only_the_shop_and_device_lists_a_string() {
    let app = spawn_app().await;
    let (_, s2) = app.get("/shop/detail/04679963e0").await;
    assert_eq!(s2["code"], Value::from(0), "{s2}");
    assert_eq!(s2["data"]["newID"], "04679963e0");
    for path in ["/shop/getShopList", "/cabinet/getAllDevice"] {
        let (_, v) = app.get(path).await;
        assert_eq!(v["code"], Value::from("0"), "{path}: {v}");
        // Their error answers are the one error envelope, with an integer code.
        let r = app.client.get(app.api(path)).basic_auth("demo", Some("wrong")).send().await.unwrap();
        let (status, v) = read(r).await;
        assert_eq!((status, v["code"].clone()), (401, Value::from(401)), "{path}: {v}");
    }
    let (_, v) = app.get("/shop/detail/nope").await;
    assert!(v["code"].is_i64() && v["code"] != 0, "{v}");
}

// ----- 3. the clock starts at the real time unless pinned ---------------------------------------

#[tokio::test]
async fn the_default_world_starts_at_the_real_time_in_whole_seconds() {
    let before = chrono::Utc::now().timestamp();
    let app = spawn_with(Config { start: None, ..Config::for_tests() }).await;
    let after = chrono::Utc::now().timestamp();
    let clock = app.control_get("/clock").await;
    let now_ms = clock["data"]["nowMs"].as_i64().unwrap();
    assert_eq!(now_ms % 1000, 0, "whole seconds: {clock}");
    assert!((before..=after).contains(&(now_ms / 1000)), "{before}..{after}: {clock}");
    let now = clock["data"]["now"].as_str().unwrap().to_string();
    let expected = chrono::DateTime::from_timestamp(now_ms / 1000, 0).unwrap().format("%Y-%m-%d %H:%M:%S").to_string();
    assert_eq!(now, expected, "written in UTC by default");
    // What a client sees carries that time: a trade number, an order's borrow time, a push.
    let trade = order_on(&app, DEMO_CAB).await;
    let prefix = chrono::DateTime::from_timestamp(now_ms / 1000, 0).unwrap().format("%y%m%d%H%M%S").to_string();
    assert!(trade.starts_with(&prefix), "{trade} starts with {prefix}");
    app.advance(1).await;
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={trade}")).await;
    let borrowed = chrono::DateTime::from_timestamp(now_ms / 1000 + 1, 0).unwrap();
    assert_eq!(d["data"]["borrowTime"], borrowed.format("%Y-%m-%d %H:%M:%S").to_string(), "{d}");
    let push = journal(&app, &trade).await.into_iter().find(|(e, _)| e == "BATTERY_BORROW_OUT").unwrap();
    let body: Value = serde_json::from_str(&push.1).unwrap();
    assert_eq!(body["timestamp"], borrowed.format("%Y-%m-%dT%H:%M:%S").to_string());
    // A reset goes back to the same start, not to a new real time.
    app.control("/reset").await;
    assert_eq!(app.control_get("/clock").await["data"]["nowMs"], now_ms);
}

#[tokio::test]
async fn a_pinned_start_wins_and_the_utc_offset_shifts_only_a_start_from_the_real_time() {
    // --start (the tests' configuration): the same bytes every run, whatever the offset.
    let app = spawn_with(Config { utc_offset_s: 8 * 3600, ..Config::for_tests() }).await;
    let clock = app.control_get("/clock").await;
    assert_eq!(clock["data"]["now"], TEST_START, "{clock}");
    // nowMs is the Unix epoch reading of that wall time in UTC+08:00.
    let epoch = chrono::NaiveDateTime::parse_from_str(TEST_START, "%Y-%m-%d %H:%M:%S").unwrap().and_utc().timestamp();
    assert_eq!(clock["data"]["nowMs"], (epoch - 8 * 3600) * 1000);
    let trade = order_on(&app, DEMO_CAB).await;
    assert!(trade.starts_with("260302090000"), "{trade}");

    // Unpinned with --utc-offset +08:00: the wall clock of UTC+08:00 now.
    let app = spawn_with(Config { start: None, utc_offset_s: 8 * 3600, ..Config::for_tests() }).await;
    let clock = app.control_get("/clock").await;
    let now_ms = clock["data"]["nowMs"].as_i64().unwrap();
    assert!((now_ms / 1000 - chrono::Utc::now().timestamp()).abs() <= 5, "epoch reading: {clock}");
    let local = chrono::DateTime::from_timestamp(now_ms / 1000 + 8 * 3600, 0).unwrap();
    assert_eq!(clock["data"]["now"], local.format("%Y-%m-%d %H:%M:%S").to_string(), "{clock}");
}

// ----- 4. ejectByRent takes the order over --------------------------------------------------------

#[tokio::test]
async fn a_refused_eject_by_rent_is_never_followed_by_an_automatic_eject_and_the_order_fails_when_its_window_closes() {
    let app = spawn_app().await;
    let stock = batteries(&app, DEMO_CAB).await;
    assert!(!stock.contains_key(&2), "slot 2 of {DEMO_CAB} is empty in the default world");
    let trade = order_on(&app, DEMO_CAB).await;
    // The client names the empty slot before the cabinet's own eject (due 1 s after O2).
    let v = eject_by_rent(&app, &trade, 2).await;
    assert_eq!(v["code"], 2008, "{v}");
    // A wait on the frozen clock says why nothing comes.
    let v = app.control_get(&format!("/pushes/wait?order={trade}&count=1&timeoutMs=100")).await;
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.contains(&trade) && msg.contains("2026-03-02 09:01:00") && msg.contains("ejectByRent"), "{msg}");
    // Well past the automatic eject: nothing left the cabinet, the order waits for a retry.
    app.advance(59).await;
    assert_eq!(batteries(&app, DEMO_CAB).await, stock, "no battery behind the client's back");
    assert_eq!(borrow_status(&app, &trade).await, 0);
    assert_eq!(journal(&app, &trade).await, vec![], "no push, no callback yet");
    // The window closes 60 s after the refused call: the order fails, told by a status=0
    // callback and a failed BATTERY_BORROW_OUT, once.
    app.advance(2).await;
    assert_eq!(borrow_status(&app, &trade).await, 2);
    assert_eq!(batteries(&app, DEMO_CAB).await, stock);
    let j = journal(&app, &trade).await;
    let names: Vec<&str> = j.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(names, ["BATTERY_BORROW_OUT", "RENT_CALLBACK_0"], "{j:?}");
    let push: Value = serde_json::from_str(&j[0].1).unwrap();
    assert_eq!(
        (push["eventData"]["outBatteryId"].as_str(), push["eventData"]["outSlot"].as_i64()),
        (Some(""), Some(0))
    );
    assert_eq!(push["timestamp"], "2026-03-02T09:01:00", "when the window closed");
    // A late retry is refused: the order is finished.
    assert_eq!(eject_by_rent(&app, &trade, 3).await["code"], 2007);
    app.advance(3600).await;
    assert_eq!(batteries(&app, DEMO_CAB).await, stock);
    assert_eq!(journal(&app, &trade).await.len(), 2);
    app.assert_consistent().await;
}

#[tokio::test]
async fn a_retry_of_a_refused_eject_by_rent_within_its_window_ejects_the_slot_it_names() {
    let app = spawn_app().await;
    let stock = batteries(&app, DEMO_CAB).await;
    let trade = order_on(&app, DEMO_CAB).await;
    assert_eq!(eject_by_rent(&app, &trade, 2).await["code"], 2008);
    app.advance(30).await;
    let v = eject_by_rent(&app, &trade, 3).await;
    assert_eq!(v["code"], 0, "{v}");
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={trade}")).await;
    assert_eq!(
        (d["data"]["borrowSlot"].as_i64(), d["data"]["batteryId"].as_str()),
        (Some(3), Some(stock[&3].as_str()))
    );
    // The window closing later changes nothing: the order stays in lease.
    app.advance(120).await;
    assert_eq!(borrow_status(&app, &trade).await, 1);
    assert_eq!(count(&app, &trade, "RENT_CALLBACK_1").await, 1);
    assert_eq!(count(&app, &trade, "RENT_CALLBACK_0").await, 0);
    assert_eq!(batteries(&app, DEMO_CAB).await.len(), stock.len() - 1, "exactly one battery out");
    app.assert_consistent().await;
}

#[tokio::test]
async fn eject_by_rent_after_the_automatic_eject_is_refused_naming_the_battery_already_out() {
    let app = spawn_app().await;
    let stock = batteries(&app, DEMO_CAB).await;
    let trade = order_on(&app, DEMO_CAB).await;
    // The client is late: the cabinet ejected on its own 1 s after O2 and called back status=1.
    app.advance(2).await;
    assert_eq!(borrow_status(&app, &trade).await, 1);
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={trade}")).await;
    let (battery, slot) =
        (d["data"]["batteryId"].as_str().unwrap().to_string(), d["data"]["borrowSlot"].as_i64().unwrap());
    let free_slot = *stock.keys().find(|s| **s != slot).unwrap();
    let v = eject_by_rent(&app, &trade, free_slot as u16).await;
    assert_eq!(v["code"], 2007, "{v}");
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.contains(&battery) && msg.contains(&format!("slot {slot}")), "the answer names what is out: {msg}");
    // Still one battery out, one status=1 callback, no status=0.
    assert_eq!(batteries(&app, DEMO_CAB).await.len(), stock.len() - 1);
    app.advance(120).await;
    assert_eq!(count(&app, &trade, "RENT_CALLBACK_1").await, 1);
    assert_eq!(count(&app, &trade, "RENT_CALLBACK_0").await, 0);
    assert_eq!(borrow_status(&app, &trade).await, 1);
    app.assert_consistent().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_eject_by_rent_calls_on_one_order_eject_exactly_one_battery() {
    let app = spawn_app().await;
    let stock = batteries(&app, DEMO_CAB).await;
    let trade = order_on(&app, DEMO_CAB).await;
    let slots: Vec<u16> = stock.keys().map(|s| *s as u16).chain([0, 0, 2, 4]).collect();
    let mut calls = Vec::new();
    for slot in slots {
        let (client, url) = (
            app.client.clone(),
            app.api(&format!("/cabinet/ejectByRent?cabinetid={DEMO_CAB}&rentOrderId={trade}&slotNum={slot}")),
        );
        calls.push(tokio::spawn(async move {
            read(client.post(url).basic_auth("demo", Some("demo")).send().await.unwrap()).await.1
        }));
    }
    let mut codes = Vec::new();
    for c in calls {
        codes.push(c.await.unwrap()["code"].as_i64().unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "exactly one call ejects: {codes:?}");
    assert!(codes.iter().all(|c| [0, 2007, 2008].contains(c)), "{codes:?}");
    app.advance(120).await;
    assert_eq!(batteries(&app, DEMO_CAB).await.len(), stock.len() - 1, "exactly one battery out");
    assert_eq!(count(&app, &trade, "RENT_CALLBACK_1").await, 1);
    assert_eq!(count(&app, &trade, "BATTERY_BORROW_OUT").await, 1);
    assert_eq!(count(&app, &trade, "RENT_CALLBACK_0").await, 0);
    app.assert_consistent().await;

    // Concurrent calls that are all refused leave the order to its window: one failure.
    let trade = order_on(&app, DEMO_CAB).await;
    let mut calls = Vec::new();
    for _ in 0..6 {
        let (client, url) = (
            app.client.clone(),
            app.api(&format!("/cabinet/ejectByRent?cabinetid={DEMO_CAB}&rentOrderId={trade}&slotNum=2")),
        );
        calls.push(tokio::spawn(async move {
            read(client.post(url).basic_auth("demo", Some("demo")).send().await.unwrap()).await.1
        }));
    }
    for c in calls {
        assert_eq!(c.await.unwrap()["code"], 2008);
    }
    let left = batteries(&app, DEMO_CAB).await;
    app.advance(61).await;
    assert_eq!(batteries(&app, DEMO_CAB).await, left);
    assert_eq!(count(&app, &trade, "RENT_CALLBACK_0").await, 1);
    assert_eq!(count(&app, &trade, "RENT_CALLBACK_1").await, 0);
    assert_eq!(borrow_status(&app, &trade).await, 2);
    app.assert_consistent().await;
}

// ----- every time field agrees with the virtual clock and with the others ----------------------

/// A wall-clock time as the platform writes it: `YYYY-MM-DD HH:mm:ss`, or with `T` in pushes.
fn at(t: chrono::NaiveDateTime, sep: char) -> String {
    t.format(&format!("%Y-%m-%d{sep}%H:%M:%S")).to_string()
}

/// The virtual now of `/_sim/clock`, checked against its `nowMs` and the configured offset.
async fn virtual_now(app: &TestApp, offset_s: i64) -> chrono::NaiveDateTime {
    let c = app.control_get("/clock").await;
    let now = chrono::NaiveDateTime::parse_from_str(c["data"]["now"].as_str().unwrap(), "%Y-%m-%d %H:%M:%S").unwrap();
    assert_eq!(now.and_utc().timestamp() - offset_s, c["data"]["nowMs"].as_i64().unwrap() / 1000, "{c}");
    let h = app.control_get("/health").await;
    assert_eq!(h["data"]["now"], c["data"]["now"], "health and clock agree");
    now
}

/// The body of the only journal entry about `trade` named `event`, and when it was queued.
async fn entry(app: &TestApp, filter: &str) -> (String, String) {
    let v = app.control_get(&format!("/pushes?{filter}")).await;
    let records = v["data"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{filter}: {v}");
    (records[0]["body"].as_str().unwrap().to_string(), records[0]["createdAt"].as_str().unwrap().to_string())
}

/// Walk an order's life and a cabinet's connectivity, reading every time the platform writes.
async fn time_fields_agree(app: &TestApp, offset_s: i64) {
    let start = virtual_now(app, offset_s).await;
    let s = chrono::Duration::seconds;
    // A1: a token carries no time (no expiry is written), so there is nothing to disagree.
    let sha = bajie_sim::api::auth::sha256_hex("demo");
    let (_, login) = app.post_as(("", ""), &format!("/oauth2/login?username=demo&password={sha}")).await;
    let mut keys: Vec<&String> = login.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["access_token", "key", "token_type"], "{login}");

    // Registration and last report of the cabinets: the start, at most now.
    let (_, c4) = app.get("/cabinet/getAllDevice").await;
    for row in c4["data"].as_array().unwrap() {
        assert_eq!(row["pRegtime"], at(start, ' '), "{row}");
        assert_eq!(row["pLogtime"], at(start, ' '), "{row}");
        let last: Value = serde_json::from_str(row["pJson"].as_str().unwrap()).unwrap();
        assert_eq!(last["time"], row["pLogtime"], "{row}");
    }

    // The order: created at the start, ejected a second later, returned an hour after.
    let trade = order_on(app, DEMO_CAB).await;
    assert!(trade.starts_with(&start.format("%y%m%d%H%M%S").to_string()), "{trade}");
    app.advance(1).await;
    let out = start + s(1);
    assert_eq!(virtual_now(app, offset_s).await, out);
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={trade}")).await;
    assert_eq!(
        (d["data"]["borrowTime"].as_str(), &d["data"]["returnTime"]),
        (Some(at(out, ' ').as_str()), &Value::Null)
    );
    let battery = d["data"]["batteryId"].as_str().unwrap().to_string();
    let (body, queued) = entry(app, &format!("order={trade}&event=BATTERY_BORROW_OUT")).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["timestamp"], at(out, 'T'));
    assert_eq!(queued, at(out, ' '));
    assert_eq!(entry(app, &format!("order={trade}&event=RENT_CALLBACK_1")).await.1, at(out, ' '));

    // A cabinet drops and comes back a minute later: its pushes say when, twice each.
    app.control("/cabinets/BJD60152/offline").await;
    let (body, _) = entry(app, "cabinet=BJD60152&event=CABINET_OFFLINE").await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["timestamp"].as_str(), v["eventData"]["offlineTime"].as_str()),
        (Some(at(out, 'T').as_str()), Some(at(out, ' ').as_str()))
    );
    app.advance(60).await;
    app.control("/cabinets/BJD60152/online").await;
    let back = out + s(60);
    let (body, _) = entry(app, "cabinet=BJD60152&event=CABINET_ONLINE").await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["timestamp"].as_str(), v["eventData"]["onlineTime"].as_str()),
        (Some(at(back, 'T').as_str()), Some(at(back, ' ').as_str()))
    );
    let (_, c5) = app.get("/cabinet/detail/BJD60152").await;
    let report = &c5["data"]["cabinet"]["subDeviceStatusReport"];
    assert_eq!(report["reportTime"], at(back, ' '), "the reconnect is the last report: {report}");

    app.advance(3600).await;
    let returned = back + s(3600);
    app.control(&format!("/cabinets/BJD60152/return?batteryId={battery}")).await;
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={trade}")).await;
    assert_eq!(d["data"]["returnTime"], at(returned, ' '), "{d}");
    assert_eq!(d["data"]["borrowTime"], at(out, ' '), "{d}");
    let (body, queued) = entry(app, &format!("order={trade}&event=BATTERY_IN")).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["timestamp"], at(returned, 'T'));
    assert_eq!(queued, at(returned, ' '));
    assert_eq!(entry(app, &format!("order={trade}&event=RENT_CALLBACK_2")).await.1, at(returned, ' '));

    // R1 says the same as O5, and its time filter reads the same clock.
    let (_, r1) = app.get(&format!("/order/list?page=1&limit=10&pCabinetid={DEMO_CAB}")).await;
    let rec =
        r1["page"]["records"].as_array().unwrap().iter().find(|r| r["pOrderid"] == trade.as_str()).unwrap().clone();
    assert_eq!(
        (rec["createTime"].as_str(), rec["pBorrowtime"].as_str(), rec["pGhtime"].as_str()),
        (Some(at(start, ' ').as_str()), Some(at(out, ' ').as_str()), Some(at(returned, ' ').as_str())),
        "{rec}"
    );
    let month = start.format("%Y-%m-01 00:00:00").to_string();
    let (_, r1) = app.get(&format!("/order/list?page=1&limit=10&sTime={}", month.replace(' ', "%20"))).await;
    assert!(
        r1["page"]["records"].as_array().unwrap().iter().any(|r| r["pOrderid"] == trade.as_str()),
        "this month's filter: {r1}"
    );

    // Ads are stamped with the time they were set.
    let ad = serde_json::json!({"cabinetIdList": [DEMO_CAB], "isRestart": false,
        "adConfigList": [{"code": "P_GG_8_TYPE,0", "mediaType": "image", "mediaPath": "http://127.0.0.1:9/a.png"}]});
    assert_eq!(app.post_json_as(DEMO, "/cabinet/bindAd", &ad).await.1["code"], 0);
    let (_, c5) = app.get(&format!("/cabinet/detail/{DEMO_CAB}")).await;
    assert_eq!(c5["data"]["cabinet"]["adUpdateTime"], at(returned, ' '));
    assert_eq!(virtual_now(app, offset_s).await, returned);
}

#[tokio::test]
async fn every_time_the_platform_writes_agrees_with_the_virtual_clock_pinned_start() {
    let app = spawn_app().await;
    assert_eq!(app.control_get("/clock").await["data"]["now"], TEST_START);
    time_fields_agree(&app, 0).await;
}

#[tokio::test]
async fn every_time_the_platform_writes_agrees_with_the_virtual_clock_real_start_and_offset() {
    let offset = 5 * 3600 + 1800;
    let app = spawn_with(Config { start: None, utc_offset_s: offset as i32, ..Config::for_tests() }).await;
    time_fields_agree(&app, offset).await;
}

/// An injected eject fault (`fail-next-eject`) wins over the checks of the slot `ejectByRent`
/// names: the call answers `code` 0 and the order fails at once (no retry window), told by a
/// failed BATTERY_BORROW_OUT with the injected fault type and a `status=0` callback.
#[tokio::test]
async fn an_injected_eject_fault_fails_an_eject_by_rent_at_once_even_on_the_empty_slot_it_names() {
    let app = spawn_app().await;
    let stock = batteries(&app, DEMO_CAB).await;
    assert!(!stock.contains_key(&2), "slot 2 of {DEMO_CAB} is empty in the default world");
    let trade = order_on(&app, DEMO_CAB).await;
    let v = app.control(&format!("/cabinets/{DEMO_CAB}/fail-next-eject?faultType=4")).await;
    assert_eq!(v["code"], 0, "{v}");
    // Without the fault, naming the empty slot answers 2008 and keeps the order pending.
    let v = eject_by_rent(&app, &trade, 2).await;
    assert_eq!(v["code"], 0, "{v}");
    // The clock is frozen: the failure did not wait for a window to close.
    assert_eq!(borrow_status(&app, &trade).await, 2);
    let v = app.control_get(&format!("/pushes/wait?order={trade}&count=2&timeoutMs=10000")).await;
    assert_eq!(v["code"], 0, "{v}");
    let j = journal(&app, &trade).await;
    let mut names: Vec<&str> = j.iter().map(|(e, _)| e.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["BATTERY_BORROW_OUT", "RENT_CALLBACK_0"], "{j:?}");
    let push = j.iter().find(|(e, _)| e == "BATTERY_BORROW_OUT").map(|(_, b)| b).unwrap();
    let push: Value = serde_json::from_str(push).unwrap();
    assert_eq!(push["eventData"]["faultType"], 4, "{push}");
    assert_eq!(push["eventData"]["outBatteryId"], "", "{push}");
    assert_eq!(batteries(&app, DEMO_CAB).await, stock);
    app.assert_consistent().await;
}
