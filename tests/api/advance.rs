//! The Advance API against the live world: device commands, repair ejects, device and slot
//! lists, shop binding, advertising, shops, price strategies and the order list.

use crate::admin_kit::*;
use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);
/// Demo shop of DEMO_CAB (and BJD60152), bound to strategy 101 "Paris Standard".
const LOUVRE: &str = "04679963e0";
/// Demo shop bound to strategy 102 "Paris Premium".
const GERMAIN: &str = "3d7f0b9e51";

async fn operate(app: &TestApp, cabinet: &str, slot: &str, op: &str, extra: &[(&str, &str)]) -> Value {
    // The first occurrence of a name wins, so the extras go first and may override `reason`.
    let mut q = extra.to_vec();
    q.extend_from_slice(&[("cabinetid", cabinet), ("slotNum", slot), ("operationType", op), ("reason", "")]);
    call(app, DEMO, "POST", "/cabinet/operation", &q, None).await.1
}

async fn device_row(app: &TestApp, who: (&str, &str), cabinet: &str) -> Value {
    let rows = data(app, who, "/cabinet/getAllDevice").await;
    rows.as_array().unwrap().iter().find(|r| r["pCabinetid"] == cabinet).cloned().expect("cabinet listed")
}

async fn shop_row(app: &TestApp, who: (&str, &str), shop: &str) -> Value {
    let (_, v) = app.get_as(who, &format!("/shop/detail/{shop}")).await;
    assert_eq!(v["code"], 0, "{v}");
    v["data"].clone()
}

// ----- C1 device operations ---------------------------------------------------------------------

#[tokio::test]
async fn pop_ejects_a_battery_that_stays_accounted_for_as_a_loose_battery() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &sink.url).await;
    let battery = battery_in(&app, DEMO, DEMO_CAB, 1).await;
    assert!(!battery.is_empty());

    let v = operate(&app, DEMO_CAB, "1", "pop", &[]).await;
    assert_eq!(v, json!({"msg": "Successful operation", "code": 0}));
    assert_eq!(battery_in(&app, DEMO, DEMO_CAB, 1).await, "");
    let o1 = app.device(DEMO, DEMO_CAB).await;
    assert_eq!(o1["data"]["cabinet"]["busySlots"], 3);
    assert!(o1["data"]["batteries"].as_array().unwrap().iter().all(|b| b["batteryId"] != battery.as_str()));
    app.assert_consistent().await;

    sink.wait_for(1, |r| r.json()["event"] == "BATTERY_POPUP", WAIT).await;
    let push = &pushes_named(&sink, "BATTERY_POPUP")[0]["eventData"];
    assert_eq!(push["outStatus"], "0");
    assert_eq!(push["outBatteryId"], battery.as_str());
    assert_eq!(push["outSlot"], 1);
    assert_eq!(push["cabinetId"], DEMO_CAB);

    // Loose, not lost: a customer can dock it again.
    let r = app.control(&format!("/cabinets/{DEMO_CAB}/return?batteryId={battery}&slot=2")).await;
    assert_eq!(r["code"], 0, "{r}");
    assert_eq!(battery_in(&app, DEMO, DEMO_CAB, 2).await, battery);
    app.assert_consistent().await;
}

#[tokio::test]
async fn pop_of_an_empty_faulty_or_locked_slot_answers_2008_and_pushes_a_failed_popup() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &sink.url).await;
    // Slot 3 gets a slot fault, slot 5 is locked, slot 2 is empty.
    operate(&app, DEMO_CAB, "3", "report", &[("batcabFault", "2"), ("type", "0")]).await;
    operate(&app, DEMO_CAB, "5", "lock", &[]).await;
    for (slot, why) in [("2", "holds no battery"), ("3", "is faulty"), ("5", "is locked")] {
        let v = operate(&app, DEMO_CAB, slot, "pop", &[]).await;
        assert_eq!(v["code"], 2008, "slot {slot}: {v}");
        assert!(v["msg"].as_str().unwrap().contains(why), "slot {slot}: {v}");
        assert!(v.get("data").is_none());
    }
    assert_ne!(battery_in(&app, DEMO, DEMO_CAB, 3).await, "");
    assert_ne!(battery_in(&app, DEMO, DEMO_CAB, 5).await, "");
    sink.wait_for(3, |r| r.json()["event"] == "BATTERY_POPUP", WAIT).await;
    for p in pushes_named(&sink, "BATTERY_POPUP") {
        assert_eq!(p["eventData"]["outStatus"], "1", "{p}");
        assert!(!p["eventData"]["popupFailureDescription"].as_str().unwrap().is_empty());
    }
    app.assert_consistent().await;
}

#[tokio::test]
async fn popall_variants_pick_batteries_by_their_authorisation() {
    let app = spawn_app().await;
    // Slot 1's battery fails authorisation (battery fault 6).
    let v = operate(&app, DEMO_CAB, "1", "report", &[("batteryFault", "6"), ("type", "1")]).await;
    assert_eq!(v["code"], 0, "{v}");
    let faulty = battery_in(&app, DEMO, DEMO_CAB, 1).await;

    operate(&app, DEMO_CAB, "0", "popallForNoAuth", &[]).await;
    let left: Vec<String> = slots(&app, DEMO, DEMO_CAB)
        .await
        .iter()
        .filter_map(|s| s["pBatteryid"].as_str().filter(|b| !b.is_empty()).map(str::to_string))
        .collect();
    assert_eq!(left.len(), 3, "only the unauthorised battery came out");
    assert!(!left.contains(&faulty));

    operate(&app, DEMO_CAB, "0", "popallForAuth", &[]).await;
    assert_eq!(device_row(&app, DEMO, DEMO_CAB).await["pBatteryNum"], 0);

    // popall takes everything, slotNum is not needed for cabinet-wide operations.
    let (_, v) =
        call(&app, DEMO, "POST", "/cabinet/operation", &[("cabinetid", "BJD60152"), ("operationType", "popall")], None)
            .await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(device_row(&app, DEMO, "BJD60152").await["pBatteryNum"], 0);
    app.assert_consistent().await;
}

#[tokio::test]
async fn lock_takes_a_slot_out_of_service_until_unlock() {
    let app = spawn_app().await;
    let v = operate(&app, DEMO_CAB, "5", "lock", &[("reason", "cracked latch")]).await;
    assert_eq!(v["code"], 0, "{v}");
    let s = &slots(&app, DEMO, DEMO_CAB).await[4];
    assert_eq!((s["pLock"].clone(), s["pIsGuard"].clone()), (json!(1), json!(1)));
    assert_eq!(s["pLockReason"], "cracked latch");
    assert_eq!(s["pFaultType"], 8, "a locked slot reports 'manually locked'");
    assert_eq!(s["pRentable"], 0);

    // Neither rented from nor returned into.
    let (_, v) = app
        .post(&format!("/cabinet/ejectByRent?cabinetid={DEMO_CAB}&rentOrderId=26030209000000000001&slotNum=5"))
        .await;
    assert_eq!(v["code"], 2008, "{v}");
    operate(&app, DEMO_CAB, "2", "lock", &[]).await;
    let battery = battery_in(&app, DEMO, "BJD60152", 1).await;
    operate(&app, "BJD60152", "1", "pop", &[]).await;
    let r = app.control(&format!("/cabinets/{DEMO_CAB}/return?batteryId={battery}&slot=2")).await;
    assert_eq!(r["code"], 2008, "{r}");

    operate(&app, DEMO_CAB, "5", "unlock", &[]).await;
    let s = &slots(&app, DEMO, DEMO_CAB).await[4];
    assert_eq!(
        (s["pLock"].clone(), s["pFaultType"].clone(), s["pLockReason"].clone()),
        (json!(0), json!(0), json!(""))
    );
    assert_eq!(s["pRentable"], 1);
    app.assert_consistent().await;
}

#[tokio::test]
async fn lock_stop_charge_holds_the_charge_until_the_slot_is_unlocked() {
    let app = spawn_app().await;
    let vol = |rows: &[Value], slot: usize| rows[slot - 1]["pDianliang"].as_i64().unwrap();
    let before = slots(&app, DEMO, DEMO_CAB).await;
    operate(&app, DEMO_CAB, "1", "lockStopCharge", &[("reason", "overheating")]).await;
    app.advance(15 * 60).await;
    let held = slots(&app, DEMO, DEMO_CAB).await;
    assert_eq!(vol(&held, 1), vol(&before, 1), "the stopped battery keeps its level");
    assert_eq!(held[0]["pChargeStop"], 1);
    assert!(vol(&held, 3) > vol(&before, 3), "its neighbour charges on");

    operate(&app, DEMO_CAB, "1", "unlock", &[]).await;
    app.advance(15 * 60).await;
    let after = slots(&app, DEMO, DEMO_CAB).await;
    assert!(vol(&after, 1) > vol(&held, 1), "charging resumes after unlock");
    assert_eq!(after[0]["pChargeStop"], 0);
}

#[tokio::test]
async fn restart_takes_the_cabinet_offline_for_the_restart_delay() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &sink.url).await;
    let v = operate(&app, DEMO_CAB, "0", "restart", &[]).await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(app.device(DEMO, DEMO_CAB).await["code"], 2004);
    assert_eq!(device_row(&app, DEMO, DEMO_CAB).await["pOnline"], false);
    sink.wait_for(1, |r| r.json()["event"] == "CABINET_OFFLINE", WAIT).await;
    // A restarting cabinet cannot take another command.
    assert_eq!(operate(&app, DEMO_CAB, "1", "pop", &[]).await["code"], 2004);

    app.advance(30).await;
    assert_eq!(app.device(DEMO, DEMO_CAB).await["code"], 0);
    sink.wait_for(1, |r| r.json()["event"] == "CABINET_ONLINE", WAIT).await;
}

#[tokio::test]
async fn heartbeat_and_report_refresh_the_connection_and_push_the_status() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &sink.url).await;
    let before = device_row(&app, DEMO, DEMO_CAB).await;
    app.advance(60).await;
    operate(&app, DEMO_CAB, "0", "heartbeat", &[]).await;
    operate(&app, DEMO_CAB, "0", "report", &[]).await;
    let after = device_row(&app, DEMO, DEMO_CAB).await;
    assert_eq!(after["pLognum"].as_i64().unwrap(), before["pLognum"].as_i64().unwrap() + 2);
    assert_eq!(after["pLogtime"], "2026-03-02 09:01:00");
    sink.wait_for(2, |r| r.json()["event"] == "CABINET_STATUS", WAIT).await;
    let s = &pushes_named(&sink, "CABINET_STATUS")[0]["eventData"];
    assert_eq!(s["cabinetId"], DEMO_CAB);
    assert_eq!(s["totalCount"], 8);
    assert_eq!(s["rentableCount"], after["pBorrow"]);
    assert_eq!(s["batteryList"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_fault_report_sets_a_slot_or_battery_fault_and_warns() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &sink.url).await;
    operate(&app, DEMO_CAB, "3", "report", &[("batcabFault", "2"), ("type", "0")]).await;
    operate(&app, DEMO_CAB, "5", "report", &[("batteryFault", "5"), ("type", "1")]).await;
    let rows = slots(&app, DEMO, DEMO_CAB).await;
    assert_eq!((rows[2]["pFaultType"].clone(), rows[2]["pRentable"].clone()), (json!(2), json!(0)));
    assert_eq!(rows[2]["pFaultCause"], "Slot cannot eject the power bank");
    assert_eq!((rows[4]["pErrid"].clone(), rows[4]["pBatteryFaultType"].clone()), (json!(5), json!(5)));
    let batteries = data(&app, DEMO, &format!("/cabinet/batteryListByCabinetId/{DEMO_CAB}")).await;
    let swollen = batteries.as_array().unwrap().iter().find(|b| b["pKakou"] == 5).unwrap().clone();
    assert_eq!(swollen["pTemperature"], 45);
    // Faulty batteries are not handed out: 4 present, 2 rentable.
    assert_eq!(device_row(&app, DEMO, DEMO_CAB).await["pBorrow"], 2);

    sink.wait_for(2, |r| r.json()["event"] == "BATTERY_ABNORMAL_WARNING", WAIT).await;
    let warnings = pushes_named(&sink, "BATTERY_ABNORMAL_WARNING");
    assert_eq!(warnings[1]["eventData"]["abnormalBatteryId"], rows[4]["pBatteryid"]);
}

#[tokio::test]
async fn commands_to_an_offline_cabinet_answer_2004_and_change_nothing() {
    let app = spawn_app().await;
    let before = fingerprint(&app).await;
    for op in ["pop", "popall", "lock", "restart", "heartbeat", "report"] {
        assert_eq!(operate(&app, OFFLINE_CAB, "1", op, &[]).await["code"], 2004, "{op}");
    }
    let (_, v) = app.post(&format!("/cabinet/ejectByRepair?cabinetid={OFFLINE_CAB}&slotNum=0")).await;
    assert_eq!(v["code"], 2004);
    assert_eq!(fingerprint(&app).await, before);
}

// ----- C2 repair ejects -----------------------------------------------------------------------

#[tokio::test]
async fn eject_by_repair_pops_one_slot_or_every_battery() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &sink.url).await;
    let (_, v) = app
        .post(&format!(
            "/cabinet/ejectByRepair?cabinetid={DEMO_CAB}&slotNum=3&id=7&dailiId=x&username=u&password=p&status=1"
        ))
        .await;
    assert_eq!(v, json!({"msg": "Successful operation", "code": 0}));
    assert_eq!(battery_in(&app, DEMO, DEMO_CAB, 3).await, "");
    assert_eq!(device_row(&app, DEMO, DEMO_CAB).await["pBatteryNum"], 3);

    let (_, v) = app.post(&format!("/cabinet/ejectByRepair?cabinetid={DEMO_CAB}&slotNum=0")).await;
    assert_eq!(v["code"], 0);
    assert_eq!(device_row(&app, DEMO, DEMO_CAB).await["pBatteryNum"], 0);
    let (_, v) = app.post("/cabinet/ejectByRepair?cabinetid=BJD60152").await;
    assert_eq!(v["code"], 0, "slotNum absent means all: {v}");
    assert_eq!(device_row(&app, DEMO, "BJD60152").await["pBatteryNum"], 0);
    sink.wait_for(4, |r| r.json()["event"] == "BATTERY_POPUP" && r.json()["eventData"]["cabinetId"] == DEMO_CAB, WAIT)
        .await;
    app.assert_consistent().await;
}

// ----- C4-C9 lists ----------------------------------------------------------------------------

#[tokio::test]
async fn device_lists_follow_the_live_world() {
    let app = spawn_app().await;
    let (_, all) = app.get("/cabinet/getAllDevice").await;
    assert_eq!(all["code"], "0", "C4's code is a string");
    let rows = all["data"].as_array().unwrap().clone();
    assert!(rows.iter().all(|r| r["pCabinetid"].as_str().unwrap().len() == 8));
    assert!(!rows.iter().any(|r| r["pCabinetid"] == ACME_CAB), "only the account's cabinets");
    let row = rows.iter().find(|r| r["pCabinetid"] == DEMO_CAB).unwrap();
    assert_eq!(row["pType"], "8");
    assert_eq!((row["pTotal"].clone(), row["pBorrow"].clone(), row["pAlso"].clone()), (json!(8), json!(4), json!(4)));
    assert_eq!((row["pJingdu"].clone(), row["pWeidu"].clone()), (json!("2.337644"), json!("48.860611")));
    assert_eq!(row["pHash"], "u09tvny1xn19", "the geohash of the shop's position");
    assert_eq!(row["pShopid"], LOUVRE);

    // A rent moves pBorrow at once.
    app.rent_slot(DEMO, DEMO_CAB, "26030209000000000001", 5).await;
    let row = device_row(&app, DEMO, DEMO_CAB).await;
    assert_eq!((row["pBorrow"].clone(), row["pAlso"].clone()), (json!(3), json!(5)));

    // C6 is the shop's share of C4; C7 pages through C4.
    let by_shop = data(&app, DEMO, &format!("/cabinet/getDeviceByShopId?shopid={LOUVRE}")).await;
    let ids: Vec<&str> = by_shop.as_array().unwrap().iter().map(|r| r["pCabinetid"].as_str().unwrap()).collect();
    assert_eq!(ids, ["BJD60151", "BJD60152"]);
    assert_eq!(data(&app, DEMO, &format!("/cabinet/getDeviceByShopId?shopId={LOUVRE}")).await, by_shop);
    let mut paged = Vec::new();
    for page in 1..=4 {
        let p = data(&app, DEMO, &format!("/cabinet/getAllDevicePage?page={page}&limit=5")).await;
        assert_eq!(
            (p["total"].clone(), p["size"].clone(), p["current"].clone()),
            (json!(rows.len()), json!(5), json!(page))
        );
        assert_eq!(p["pages"], rows.len().div_ceil(5));
        paged.extend(p["records"].as_array().unwrap().iter().map(|r| r["pCabinetid"].clone()));
    }
    let all_ids: Vec<Value> = rows.iter().map(|r| r["pCabinetid"].clone()).collect();
    assert_eq!(paged, all_ids);
}

#[tokio::test]
async fn detail_accepts_a_device_id_a_qr_code_or_a_qr_code_url() {
    let app = spawn_app().await;
    let plain = data(&app, DEMO, &format!("/cabinet/detail/{DEMO_CAB}")).await;
    for form in [
        "https%3A%2F%2Fqr.chargenow.top%2Fscan%2FBJD60151".to_string(),
        "https://qr.chargenow.top/scan/BJD60151".to_string(),
        "https%3A%2F%2Fqr.chargenow.top%2Fscan%3Fqrcode%3DBJD60151".to_string(),
        "bjd60151".to_string(),
    ] {
        assert_eq!(data(&app, DEMO, &format!("/cabinet/detail/{form}")).await, plain, "{form}");
    }
    let c = &plain["cabinet"];
    assert_eq!(
        (c["id"].clone(), c["qrCode"].clone(), c["type"].clone()),
        (json!(DEMO_CAB), json!(DEMO_CAB), json!("8"))
    );
    assert_eq!((c["slots"].clone(), c["busySlots"].clone(), c["emptySlots"].clone()), (json!(8), json!(4), json!(4)));
    let batcabs = c["batcabs"].as_array().unwrap();
    assert_eq!(batcabs.len(), 8, "every slot");
    assert_eq!(batcabs[1]["pBatteryid"], "", "slot 2 is empty");
    assert_eq!(c["subDeviceStatusReport"]["totalCount"], 8);
    assert_eq!(c["adConfigList"], json!([]));
    // The back-office view answers for an offline cabinet too.
    let off = data(&app, DEMO, &format!("/cabinet/detail/{OFFLINE_CAB}")).await;
    assert_eq!(off["cabinet"]["online"], false);
    let (_, v) = app.get("/cabinet/detail/https://qr.chargenow.top/scan/XYZ00000").await;
    assert_eq!(v, json!({"msg": "QR code unbound device.", "code": 2002}));
}

#[tokio::test]
async fn battery_and_slot_lists_agree_with_device_info() {
    let app = spawn_app().await;
    let o1 = app.device(DEMO, DEMO_CAB).await;
    let batteries = data(&app, DEMO, &format!("/cabinet/batteryListByCabinetId/{DEMO_CAB}")).await;
    let listed: Vec<(Value, Value, Value)> = batteries
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["pKakou"].clone(), b["pBatteryid"].clone(), b["pDianliang"].clone()))
        .collect();
    let expected: Vec<(Value, Value, Value)> = o1["data"]["batteries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["slotNum"].clone(), b["batteryId"].clone(), b["vol"].clone()))
        .collect();
    assert_eq!(listed, expected);
    for b in batteries.as_array().unwrap() {
        assert_eq!(b["pbatteryid"], b["pBatteryid"]);
        assert_eq!(b["pcabinetid"], DEMO_CAB);
        assert_eq!(b["pInfostatus"], "在线");
    }
    let rows = slots(&app, DEMO, DEMO_CAB).await;
    assert_eq!(rows.len(), 8);
    let empty: Vec<i64> =
        rows.iter().filter(|s| s["pBatteryid"] == "").map(|s| s["pKakou"].as_i64().unwrap()).collect();
    assert_eq!(empty, [2, 4, 6, 7]);
    // Factory slot faults show up.
    let faulty = slots(&app, DEMO, "BJH20417").await;
    assert_eq!((faulty[2]["pFaultType"].clone(), faulty[3]["pFaultType"].clone()), (json!(3), json!(3)));
}

// ----- C10, C12 shop binding ------------------------------------------------------------------

#[tokio::test]
async fn bind2shop_moves_a_cabinet_and_its_new_orders_follow_the_new_shops_prices() {
    let app = spawn_app().await;
    let (_, v) = app.post(&format!("/cabinet/bind2shop/{DEMO_CAB}/{GERMAIN}")).await;
    assert_eq!(v, json!({"msg": "Successful operation", "code": 0}));
    let o1 = app.device(DEMO, DEMO_CAB).await;
    assert_eq!(o1["data"]["cabinet"]["shopId"], GERMAIN);
    assert_eq!(o1["data"]["priceStrategy"]["name"], "Paris Premium");
    assert_eq!(device_row(&app, DEMO, DEMO_CAB).await["pShopid"], GERMAIN);
    assert_eq!(shop_row(&app, DEMO, LOUVRE).await["cabinetNum"], 1);
    assert_eq!(shop_row(&app, DEMO, GERMAIN).await["cabinetIds"], "BJD60151,BJD60219,BJH20456");
    let (_, v) = app.post(&format!("/cabinet/bind2shop/{DEMO_CAB}/c4e2a97b10")).await;
    assert_eq!(v["code"], 3001, "another merchant's shop is unknown: {v}");
    app.assert_consistent().await;
}

#[tokio::test]
async fn unbind_shop_takes_cabinets_out_of_their_shops_by_get_or_post() {
    let app = spawn_app().await;
    let (_, v) = call(&app, DEMO, "POST", "/cabinet/unbindShop", &[], Some(&json!([DEMO_CAB]))).await;
    assert_eq!(v, json!({"msg": "Successful operation", "code": 0}));
    let (_, v) = call(&app, DEMO, "GET", "/cabinet/unbindShop", &[], Some(&json!(["BJD60152"]))).await;
    assert_eq!(v["code"], 0, "{v}");
    let o1 = app.device(DEMO, DEMO_CAB).await;
    assert_eq!(o1["data"]["cabinet"]["shopId"], "");
    assert_eq!(o1["data"]["priceStrategy"]["name"], "Default", "no shop: the platform default terms");
    assert_eq!(device_row(&app, DEMO, "BJD60152").await["pShopid"], "");
    assert_eq!(shop_row(&app, DEMO, LOUVRE).await["cabinetNum"], 0);
    app.assert_consistent().await;
}

// ----- C11, C13 advertising -------------------------------------------------------------------

#[tokio::test]
async fn ads_are_stored_per_cabinet_and_a_restart_applies_them() {
    let app = spawn_app().await;
    let ad = json!({"code": "P_GG_8_TYPE,0", "mediaType": "image", "mediaPath": "https://cdn.example.com/a.png",
        "startDate": "2026-03-01 00:00:00", "endDate": "2026-03-31 23:59:59", "startTime": "08:00", "endTime": "22:00"});
    post_ok(
        &app,
        DEMO,
        "/cabinet/bindAd",
        &json!({"cabinetIdList": [DEMO_CAB, "BJD60152"], "isRestart": false, "adConfigList": [ad]}),
    )
    .await;
    let c = data(&app, DEMO, &format!("/cabinet/detail/{DEMO_CAB}")).await;
    assert_eq!(c["cabinet"]["adConfigList"], json!([ad]));
    assert_eq!(c["cabinet"]["adUpdateTime"], "2026-03-02 09:00:00");
    assert_eq!(app.device(DEMO, DEMO_CAB).await["code"], 0, "no restart asked");

    // publishAd's documented example spells the flag `restart`.
    let video = json!({"code": "P_GG_8_TYPE,1", "mediaType": "video", "mediaPath": "https://cdn.example.com/v.mp4",
        "startDate": "", "endDate": "", "startTime": "", "endTime": ""});
    post_ok(
        &app,
        DEMO,
        "/cabinet/publishAd",
        &json!({"cabinetIdList": [DEMO_CAB], "restart": true, "adConfigList": [video]}),
    )
    .await;
    assert_eq!(data(&app, DEMO, "/cabinet/detail/BJD60152").await["cabinet"]["adConfigList"], json!([ad]));
    assert_eq!(app.device(DEMO, DEMO_CAB).await["code"], 2004, "restarting to apply the ads");
    app.advance(30).await;
    let c = data(&app, DEMO, &format!("/cabinet/detail/{DEMO_CAB}")).await;
    assert_eq!(c["cabinet"]["online"], true);
    assert_eq!(c["cabinet"]["adConfigList"], json!([video]));

    // A carousel (programSheet) is bindAd-only; an empty list clears.
    let sheet = json!({"code": "P_GG_8_TYPE,0", "mediaType": "programSheet",
        "videoList": [{"key": "k1", "version": 2, "seq": 1, "url": "https://cdn.example.com/1.png", "playoutTime": 10}]});
    post_ok(&app, DEMO, "/cabinet/bindAd", &json!({"cabinetIdList": [DEMO_CAB], "adConfigList": [sheet]})).await;
    let (_, v) = app
        .post_json_as(
            DEMO,
            "/cabinet/publishAd",
            &json!({"cabinetIdList": [DEMO_CAB], "isRestart": false, "adConfigList": [sheet]}),
        )
        .await;
    assert_eq!(v["code"], 1001, "{v}");
    post_ok(&app, DEMO, "/cabinet/bindAd", &json!({"cabinetIdList": [DEMO_CAB], "adConfigList": []})).await;
    assert_eq!(data(&app, DEMO, &format!("/cabinet/detail/{DEMO_CAB}")).await["cabinet"]["adConfigList"], json!([]));
}

// ----- S1-S5 shops ----------------------------------------------------------------------------

#[tokio::test]
async fn shop_rows_are_computed_from_the_shops_cabinets_and_strategy() {
    let app = spawn_app().await;
    let (_, list) = app.get("/shop/getShopList").await;
    assert_eq!(list["code"], "0", "S1's code is a string");
    let rows = list["data"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    assert!(rows.iter().all(|r| r["pCurrency"] == "EUR"), "only demo's Paris shops");
    let louvre = rows.iter().find(|r| r["newID"] == LOUVRE).unwrap().clone();
    assert_eq!(louvre, shop_row(&app, DEMO, LOUVRE).await, "S2 is the S1 row");
    let a = device_row(&app, DEMO, DEMO_CAB).await;
    let b = device_row(&app, DEMO, "BJD60152").await;
    let sum = |k: &str| a[k].as_i64().unwrap() + b[k].as_i64().unwrap();
    assert_eq!(louvre["cabinetNum"], 2);
    assert_eq!(louvre["cabinetIds"], "BJD60151,BJD60152");
    assert_eq!(louvre["batteryNum"], sum("pBatteryNum").to_string());
    assert_eq!(louvre["freeNum"], sum("pBorrow").to_string());
    assert_eq!(louvre["canReturnNum"], sum("pAlso").to_string());
    assert_eq!(
        (louvre["pPriceid"].clone(), louvre["pJifei"].clone(), louvre["pMian"].clone()),
        (json!(101), json!("1.50"), json!("5"))
    );
    assert_eq!(
        (louvre["pFengding"].clone(), louvre["pYajin"].clone(), louvre["pJifeiDanwei"].clone()),
        (json!("6.00"), json!("30.00"), json!("30"))
    );
    assert_eq!((louvre["shopTime"].clone(), louvre["businessStatus"].clone()), (json!("09:00-22:00"), json!(1)));
    assert_eq!(louvre["shopWorkTime"].as_array().unwrap().len(), 7);
    assert_eq!((louvre["latitude"].clone(), louvre["longitude"].clone()), (json!("48.860611"), json!("2.337644")));

    // A rent moves the shop's figures at once.
    app.rent_slot(DEMO, DEMO_CAB, "26030209000000000001", 5).await;
    let after = shop_row(&app, DEMO, LOUVRE).await;
    assert_eq!(after["freeNum"], (sum("pBorrow") - 1).to_string());
    assert_eq!(after["batteryNum"], (sum("pBatteryNum") - 1).to_string());
}

#[tokio::test]
async fn a_shop_is_created_updated_and_deleted_once_it_has_no_cabinets() {
    let app = spawn_app().await;
    let body = json!({"pNewid": "f00dcafe01", "pName": "Kiosque Opéra", "pJingdu": "2.331", "pWeidu": 48.8719,
        "pAddress": "Place de l'Opéra", "pSceneType": 26, "pStoreType": 26, "pAuditor": 1, "pContent": "", "pLocationId": "", "pLogo": ""});
    post_ok(&app, DEMO, "/shop/create", &body).await;
    let row = shop_row(&app, DEMO, "f00dcafe01").await;
    assert_eq!(
        (row["shopName"].clone(), row["shopAddress"].clone()),
        (json!("Kiosque Opéra"), json!("Place de l'Opéra"))
    );
    assert_eq!((row["latitude"].clone(), row["longitude"].clone()), (json!("48.8719"), json!("2.331")));
    assert_eq!(row["pCurrency"], "EUR", "the merchant's currency when none is given");
    assert_eq!(
        (row["cabinetNum"].clone(), row["pPriceid"].clone(), row["pJifei"].clone()),
        (json!(0), json!(0), json!("1.00"))
    );
    let (_, v) = app.post_json_as(DEMO, "/shop/create", &body).await;
    assert_eq!(v, json!({"msg": "Shop f00dcafe01 already exists.", "code": 3002}));

    // Update by pNewid with PUT (and POST, as a client does); absent fields are kept.
    let (_, v) = call(
        &app,
        DEMO,
        "PUT",
        "/shop/update",
        &[],
        Some(&json!({"pNewid": "f00dcafe01", "pName": "Kiosque Garnier",
        "pJingdu": 2.3316, "pWeidu": "48.872", "pCurrency": "usd"})),
    )
    .await;
    assert_eq!(v["code"], 0, "{v}");
    post_ok(&app, DEMO, "/shop/update", &json!({"pNewid": "f00dcafe01", "pName": "Kiosque Garnier", "pJingdu": 2.3316, "pWeidu": 48.872, "pStoreType": 4})).await;
    let row = shop_row(&app, DEMO, "f00dcafe01").await;
    assert_eq!(
        (row["shopName"].clone(), row["pCurrency"].clone(), row["pStoreType"].clone()),
        (json!("Kiosque Garnier"), json!("USD"), json!("4"))
    );
    assert_eq!(row["shopAddress"], "Place de l'Opéra");

    // A shop with cabinets is refused until they are moved out.
    app.post(&format!("/cabinet/bind2shop/{EMPTY_CAB}/f00dcafe01")).await;
    let (_, v) = call(&app, DEMO, "DELETE", "/shop/delete/f00dcafe01", &[], None).await;
    assert_eq!(v["code"], 3003, "{v}");
    assert!(v["msg"].as_str().unwrap().contains(EMPTY_CAB));
    app.post(&format!("/cabinet/bind2shop/{EMPTY_CAB}/a91c3f0e27")).await;
    let (_, v) = call(&app, DEMO, "DELETE", "/shop/delete/f00dcafe01", &[], None).await;
    assert_eq!(v, json!({"msg": "Successful operation", "code": 0}));
    let (_, v) = app.get("/shop/detail/f00dcafe01").await;
    assert_eq!(v["code"], 3001);

    // The form a production client uses: POST /shop/delete?newID=.
    post_ok(
        &app,
        DEMO,
        "/shop/create",
        &json!({"pNewid": "f00dcafe02", "pName": "Two", "pJingdu": 2.3, "pWeidu": 48.8}),
    )
    .await;
    let (_, v) = app.post("/shop/delete?newID=f00dcafe02").await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(data(&app, DEMO, "/shop/getShopList").await.as_array().unwrap().len(), 7);
    app.assert_consistent().await;
}

// ----- P1-P6 price strategies -----------------------------------------------------------------

fn strategy_body(name: &str) -> Value {
    json!({"priceId": null, "name": name, "shopId": LOUVRE, "type": 1, "customType": 0, "priority": 3, "isDeposit": true,
        "depositAmount": 20, "timeoutAmount": 25.5, "timeoutDay": 2, "freeMinutes": 0, "dayUseFreeCount": 0,
        "price": 2.5, "priceTime": 1, "priceUnit": 1, "dailyMaxPrice": 12, "priceStrategyDetailList": []})
}

#[tokio::test]
async fn a_new_strategy_bound_to_a_shop_bills_its_new_orders() {
    let app = spawn_app().await;
    let v = post_ok(&app, DEMO, "/shop/priceStrategy/saveOrUpdate", &strategy_body("Hourly")).await;
    let id = v["data"]["priceId"].as_u64().expect("data.priceId names the new strategy");
    assert!(id > 102);
    let p = data(&app, DEMO, &format!("/shop/priceStrategy/detail/{id}")).await;
    assert_eq!(
        (p["name"].clone(), p["price"].clone(), p["timeoutAmount"].clone()),
        (json!("Hourly"), json!(2.5), json!(25.5))
    );
    assert_eq!(
        (p["priceMinute"].clone(), p["shopId"].clone(), p["bindShops"].clone()),
        (json!(60), json!(LOUVRE), json!([]))
    );
    assert_eq!(
        app.device(DEMO, DEMO_CAB).await["data"]["priceStrategy"]["name"],
        "Paris Standard",
        "saving does not bind"
    );

    post_ok(&app, DEMO, "/shop/priceStrategy/bindShop", &json!({"shopId": LOUVRE, "priceId": id, "customType": 0}))
        .await;
    let ps = &app.device(DEMO, DEMO_CAB).await["data"]["priceStrategy"];
    assert_eq!(
        (ps["name"].clone(), ps["price"].clone(), ps["priceMinute"].clone()),
        (json!("Hourly"), json!(2.5), json!(60))
    );
    assert_eq!(shop_row(&app, DEMO, LOUVRE).await["pPriceid"], id);

    // 61 minutes at 2.50 per started hour = 5.00.
    let battery = battery_in(&app, DEMO, DEMO_CAB, 5).await;
    app.rent_slot(DEMO, DEMO_CAB, "26030209000000000001", 5).await;
    app.advance(61 * 60).await;
    let r = app.control(&format!("/cabinets/BJD60152/return?batteryId={battery}")).await;
    assert_eq!(r["data"]["orderAmount"], 5, "{r}");

    // Bound: delete is refused; unbound: the shop falls back to the default and delete works.
    let (_, v) = app.post_json_as(DEMO, "/shop/priceStrategy/delete", &json!([id])).await;
    assert_eq!(v["code"], 3102, "{v}");
    post_ok(&app, DEMO, "/shop/priceStrategy/unbindShop", &json!({"shopId": LOUVRE, "customType": 0})).await;
    assert_eq!(app.device(DEMO, DEMO_CAB).await["data"]["priceStrategy"]["name"], "Default");
    assert_eq!(shop_row(&app, DEMO, LOUVRE).await["pPriceid"], 0);
    post_ok(&app, DEMO, "/shop/priceStrategy/delete", &json!([id])).await;
    let (_, v) = app.get(&format!("/shop/priceStrategy/detail/{id}")).await;
    assert_eq!(v["code"], 3101);
}

#[tokio::test]
async fn a_strategy_update_replaces_it_and_a_timetable_needs_rows() {
    let app = spawn_app().await;
    let mut body = strategy_body("Standard v2");
    body["priceId"] = json!(101);
    body["type"] = json!(2);
    let (_, v) = app.post_json_as(DEMO, "/shop/priceStrategy/saveOrUpdate", &body).await;
    assert_eq!(v["code"], 1001, "type 2 without rows: {v}");
    body["priceStrategyDetailList"] = json!([
        {"startMinute": 60, "endMinute": 180, "setcionFee": 1.5, "totalFee": 2.5, "seqno": 2},
        {"startMinute": 0, "endMinute": 60, "setcionFee": 1, "totalFee": 1, "seqno": 1}]);
    let v = post_ok(&app, DEMO, "/shop/priceStrategy/saveOrUpdate", &body).await;
    assert_eq!(v["data"]["priceId"], 101);
    let p = data(&app, DEMO, "/shop/priceStrategy/detail/101").await;
    assert_eq!(p["name"], "Standard v2");
    assert_eq!(
        p["priceStrategyDetailList"][0],
        json!({"startMinute": 0, "endMinute": 60, "setcionFee": 1, "totalFee": 1, "seqno": 1})
    );
    assert_eq!(p["priceStrategyDetailList"][1]["setcionFee"], 1.5);
    assert_eq!(p["bindShops"].as_array().unwrap().len(), 4, "bindings survive an update");
    assert_eq!(app.device(DEMO, DEMO_CAB).await["data"]["priceStrategy"]["name"], "Standard v2");

    // priceId 0, as Java clients send for "unset", creates.
    let v = post_ok(
        &app,
        DEMO,
        "/shop/priceStrategy/saveOrUpdate",
        &json!({"priceId": 0, "name": "Zero", "type": 3,
        "customType": 1, "depositAmount": 0, "timeoutAmount": 0, "timeoutDay": 0, "freeMinutes": 0, "price": 0.5,
        "priceTime": 1, "priceUnit": 2, "dailyMaxPrice": 0}),
    )
    .await;
    let id = v["data"]["priceId"].as_u64().unwrap();
    let p = data(&app, DEMO, &format!("/shop/priceStrategy/detail/{id}")).await;
    assert_eq!(
        (p["priceMinute"].clone(), p["customType"].clone(), p["shopId"].clone()),
        (json!(1440), json!(1), Value::Null)
    );
}

#[tokio::test]
async fn the_strategy_page_filters_and_pages() {
    let app = spawn_app().await;
    let page = |b: Value| {
        let app = &app;
        async move { post_ok(app, DEMO, "/shop/priceStrategy/page", &b).await["data"].clone() }
    };
    let all = page(json!({})).await;
    assert_eq!(
        (all["total"].clone(), all["size"].clone(), all["current"].clone(), all["pages"].clone()),
        (json!(2), json!(10), json!(1), json!(1))
    );
    let ids: Vec<Value> = all["records"].as_array().unwrap().iter().map(|r| r["priceId"].clone()).collect();
    assert_eq!(ids, [json!(101), json!(102)]);
    assert_eq!(page(json!({"name": "premium"})).await["records"][0]["priceId"], 102);
    assert_eq!(page(json!({"priceId": 101})).await["total"], 1);
    assert_eq!(page(json!({"shopId": GERMAIN})).await["records"][0]["priceId"], 102);
    let second = page(json!({"size": 1, "current": 2})).await;
    assert_eq!((second["records"][0]["priceId"].clone(), second["pages"].clone()), (json!(102), json!(2)));
    assert_eq!(page(json!({"shopId": "c4e2a97b10"})).await["total"], 0, "another merchant's shop matches nothing");
}

#[tokio::test]
async fn a_pos_binding_is_separate_from_the_general_one() {
    let app = spawn_app().await;
    post_ok(&app, DEMO, "/shop/priceStrategy/bindShop", &json!({"shopId": LOUVRE, "priceId": 102, "customType": 1}))
        .await;
    let row = shop_row(&app, DEMO, LOUVRE).await;
    assert_eq!((row["pPriceid"].clone(), row["posPriceId"].clone()), (json!(101), json!(102)));
    assert_eq!(app.device(DEMO, DEMO_CAB).await["data"]["priceStrategy"]["name"], "Paris Standard");
    post_ok(&app, DEMO, "/shop/priceStrategy/unbindShop", &json!({"shopId": LOUVRE, "customType": 1})).await;
    assert_eq!(shop_row(&app, DEMO, LOUVRE).await["posPriceId"], 0);
}

// ----- R1 order list --------------------------------------------------------------------------

#[tokio::test]
async fn the_order_list_shows_rents_with_settled_amounts_and_filters() {
    let app = spawn_app().await;
    app.rent_slot(DEMO, DEMO_CAB, "26030209000000000001", 5).await;
    app.advance(65 * 60).await;
    app.rent_slot(DEMO, "BJD60152", "26030210050000000002", 1).await;

    let (_, list) = app.get("/order/list?page=1&limit=10&dataLevel=3").await;
    assert_eq!(list["code"], 0);
    assert!(list.get("data").is_none(), "the page is top-level: {list}");
    let page = &list["page"];
    assert_eq!((page["total"].clone(), page["size"].clone(), page["current"].clone()), (json!(2), json!(10), json!(1)));
    let open = &page["records"][0];
    assert_eq!(open["pCabinetid"], "BJD60152", "newest first");
    assert!(open["pGhtime"].is_null());
    assert_eq!(open["borrowStatus"], 1);
    let first = page["records"][1].clone();
    let battery = first["pBatteryid"].as_str().unwrap().to_string();
    assert_eq!(first["billingDuration"], 65, "running minutes while in lease");
    assert_eq!(first["settledAmount"], "3.00");

    app.control(&format!("/cabinets/BJD60152/return?batteryId={battery}")).await;
    app.advance(60 * 60).await;
    let (_, list) = app.get(&format!("/order/list?page=1&limit=10&pCabinetid={DEMO_CAB}")).await;
    let rec = &list["page"]["records"][0];
    assert_eq!(list["page"]["total"], 1);
    assert_eq!(rec["pOrderid"], first["pOrderid"]);
    assert_eq!(rec["id"], first["pOrderid"]);
    assert_eq!(
        (rec["pBorrowtime"].clone(), rec["pGhtime"].clone()),
        (json!("2026-03-02 09:00:00"), json!("2026-03-02 10:05:00"))
    );
    assert_eq!(
        (rec["settledAmount"].clone(), rec["billingDuration"].clone()),
        (json!("3.00"), json!(65)),
        "frozen at the return"
    );
    assert_eq!(
        (rec["pShopName"].clone(), rec["currency"].clone(), rec["borrowStatus"].clone()),
        (json!("Café de la Pyramide"), json!("EUR"), json!(3))
    );

    let count = |q: String| {
        let app = &app;
        async move { app.get(&format!("/order/list?page=1&limit=10{q}")).await.1["page"]["total"].clone() }
    };
    assert_eq!(count("&sTime=2026-03-02 09:30:00".into()).await, 1);
    assert_eq!(count("&eTime=2026-03-02 09:30:00".into()).await, 1);
    assert_eq!(count("&sTime=2026-03-03 00:00:00&eTime=".into()).await, 0);
    assert_eq!(count("&dataLevel=2".into()).await, 0, "no sub-agents");
    assert_eq!(count("&dataLevel=1".into()).await, 2);
    let (_, p2) = app.get("/order/list?page=2&limit=1").await;
    assert_eq!(p2["page"]["records"][0]["pOrderid"], first["pOrderid"]);
    assert_eq!(app.get_as(ACME, "/order/list?page=1&limit=10").await.1["page"]["total"], 0);
}

/// Price ids come from one counter after the highest id in the world, whichever merchant
/// creates the strategy: the first new one in the default world is 203.
#[tokio::test]
async fn price_ids_are_numbered_globally_so_the_first_new_strategy_is_203_whoever_creates_it() {
    let mut acmes = strategy_body("Acme hourly");
    acmes.as_object_mut().unwrap().remove("shopId");
    for (first, second) in [(ACME, DEMO), (DEMO, ACME)] {
        let app = spawn_app().await;
        let body = |who: (&str, &str)| if who == ACME { acmes.clone() } else { strategy_body("Demo hourly") };
        let v = post_ok(&app, first, "/shop/priceStrategy/saveOrUpdate", &body(first)).await;
        assert_eq!(v["data"]["priceId"], 203, "{} first: {v}", first.0);
        let v = post_ok(&app, second, "/shop/priceStrategy/saveOrUpdate", &body(second)).await;
        assert_eq!(v["data"]["priceId"], 204, "{} second: {v}", second.0);
    }
}

/// `reason` is documented as required but "may be empty": an absent one is an empty one, and
/// a lock keeps up to 500 characters of it as its reason.
#[tokio::test]
async fn an_absent_reason_is_an_empty_one_and_a_lock_keeps_up_to_500_characters() {
    let app = spawn_app().await;
    let q = [("cabinetid", DEMO_CAB), ("slotNum", "5"), ("operationType", "lock")];
    let v = call(&app, DEMO, "POST", "/cabinet/operation", &q, None).await.1;
    assert_eq!(v["code"], 0, "{v}");
    let s = &slots(&app, DEMO, DEMO_CAB).await[4];
    assert_eq!((s["pLock"].clone(), s["pLockReason"].clone()), (json!(1), json!("")));
    let long = "r".repeat(500);
    let v = operate(&app, DEMO_CAB, "6", "lock", &[("reason", &long)]).await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(slots(&app, DEMO, DEMO_CAB).await[5]["pLockReason"], json!(long));
}
