//! Isolation between merchants on every Advance operation: an account never reads or changes
//! another account's cabinets, shops, strategies or orders, and a foreign record is answered
//! exactly like a record that does not exist.

use crate::admin_kit::*;
use crate::helpers::*;
use serde_json::{json, Value};

/// One merchant's records, and what the other merchant may use in its own requests.
struct Side {
    who: (&'static str, &'static str),
    cab: &'static str,
    shop: &'static str,
    price: u64,
}

const DEMO_SIDE: Side = Side { who: DEMO, cab: DEMO_CAB, shop: "04679963e0", price: 101 };
const ACME_SIDE: Side = Side { who: ACME, cab: ACME_CAB, shop: "c4e2a97b10", price: 201 };

/// Ids that exist nowhere.
const NO_CAB: &str = "XYZ00000";
const NO_SHOP: &str = "0000000000";
const NO_PRICE: u64 = 999;
const NO_ORDER: &str = "26030209000099999999";

/// A request: label, method, path with query, optional JSON body.
type Req = (&'static str, &'static str, String, Option<Value>);

/// Every operation aimed at cabinet `cab`, shop `shop`, strategy `price` and order `order`
/// (the targets), made by an account whose own cabinet, shop and strategy are `me`.
fn requests(me: &Side, cab: &str, shop: &str, price: u64, order: &str) -> Vec<Req> {
    let save = json!({"name": "X", "type": 1, "customType": 0, "depositAmount": 1, "timeoutAmount": 1, "timeoutDay": 1,
        "freeMinutes": 0, "price": 1, "priceTime": 60, "priceUnit": 0, "dailyMaxPrice": 5});
    let ad = json!([{"code": "P_GG_8_TYPE,0", "mediaType": "image", "mediaPath": "https://cdn.example.com/a.png"}]);
    let mut shop_body = json!({"pNewid": shop, "pName": "Taken over", "pJingdu": "2.3", "pWeidu": "48.8"});
    shop_body["pCurrency"] = json!("EUR");
    let mut save_for_shop = save.clone();
    save_for_shop["shopId"] = json!(shop);
    let mut update = save.clone();
    update["priceId"] = json!(price);
    vec![
        ("C1 pop", "POST", format!("/cabinet/operation?cabinetid={cab}&slotNum=1&operationType=pop&reason="), None),
        (
            "C1 popall",
            "POST",
            format!("/cabinet/operation?cabinetid={cab}&slotNum=0&operationType=popall&reason="),
            None,
        ),
        ("C1 lock", "POST", format!("/cabinet/operation?cabinetid={cab}&slotNum=1&operationType=lock&reason=x"), None),
        (
            "C1 restart",
            "POST",
            format!("/cabinet/operation?cabinetid={cab}&slotNum=0&operationType=restart&reason="),
            None,
        ),
        (
            "C1 heartbeat",
            "POST",
            format!("/cabinet/operation?cabinetid={cab}&slotNum=0&operationType=heartbeat&reason="),
            None,
        ),
        (
            "C1 fault",
            "POST",
            format!("/cabinet/operation?cabinetid={cab}&slotNum=1&operationType=report&reason=&batcabFault=2&type=0"),
            None,
        ),
        ("C2", "POST", format!("/cabinet/ejectByRepair?cabinetid={cab}&slotNum=0"), None),
        (
            "C3",
            "POST",
            format!("/cabinet/ejectByRent?cabinetid={cab}&rentOrderId=26030209000000000777&slotNum=0"),
            None,
        ),
        ("C5", "GET", format!("/cabinet/detail/{cab}"), None),
        ("C6", "GET", format!("/cabinet/getDeviceByShopId?shopid={shop}"), None),
        ("C8", "GET", format!("/cabinet/batteryListByCabinetId/{cab}"), None),
        ("C9", "GET", format!("/cabinet/slotByCabinetId/{cab}"), None),
        ("C10 cabinet", "POST", format!("/cabinet/bind2shop/{cab}/{}", me.shop), None),
        ("C10 shop", "POST", format!("/cabinet/bind2shop/{}/{shop}", me.cab), None),
        (
            "C11",
            "POST",
            "/cabinet/bindAd".into(),
            Some(json!({"cabinetIdList": [cab], "isRestart": true, "adConfigList": ad})),
        ),
        ("C12", "POST", "/cabinet/unbindShop".into(), Some(json!([cab]))),
        (
            "C13",
            "POST",
            "/cabinet/publishAd".into(),
            Some(json!({"cabinetIdList": [cab], "restart": true, "adConfigList": ad})),
        ),
        ("S2", "GET", format!("/shop/detail/{shop}"), None),
        ("S4", "PUT", "/shop/update".into(), Some(shop_body)),
        ("S5", "DELETE", format!("/shop/delete/{shop}"), None),
        ("S5 by query", "POST", format!("/shop/delete?newID={shop}"), None),
        ("P2", "GET", format!("/shop/priceStrategy/detail/{price}"), None),
        ("P3 update", "POST", "/shop/priceStrategy/saveOrUpdate".into(), Some(update)),
        ("P3 for shop", "POST", "/shop/priceStrategy/saveOrUpdate".into(), Some(save_for_shop)),
        ("P4", "POST", "/shop/priceStrategy/delete".into(), Some(json!([price]))),
        (
            "P5 price",
            "POST",
            "/shop/priceStrategy/bindShop".into(),
            Some(json!({"shopId": me.shop, "priceId": price, "customType": 0})),
        ),
        (
            "P5 shop",
            "POST",
            "/shop/priceStrategy/bindShop".into(),
            Some(json!({"shopId": shop, "priceId": me.price, "customType": 0})),
        ),
        ("P6", "POST", "/shop/priceStrategy/unbindShop".into(), Some(json!({"shopId": shop, "customType": 0}))),
        ("O1", "GET", format!("/rent/cabinet/query?deviceId={cab}"), None),
        ("O2", "POST", format!("/rent/order/create?deviceId={cab}&callbackURL=http://127.0.0.1:9/cb"), None),
        ("O3", "POST", format!("/rent/order/query?tradeNo={order}"), None),
        ("O4", "POST", format!("/rent/order/close?tradeNo={order}"), None),
        ("O5", "GET", format!("/rent/order/detail?tradeNo={order}"), None),
        ("R1 by cabinet", "GET", format!("/order/list?page=1&limit=10&pCabinetid={cab}"), None),
    ]
}

/// `attacker` aims every operation at `victim`'s records, then at records that do not exist:
/// the answers must be the same (ids aside), and the world must not change.
async fn foreign_is_like_missing(attacker: &Side, victim: &Side) {
    let app = spawn_app().await;
    // The victim has an order in lease, so order operations have a target.
    let order = "26030209000000000001";
    let (_, v) = app
        .post_as(victim.who, &format!("/cabinet/ejectByRent?cabinetid={}&rentOrderId={order}&slotNum=0", victim.cab))
        .await;
    assert_eq!(v["code"], 0, "{v}");
    let outside = fingerprint(&app).await;
    let world = app.running.state.store.snapshot();

    let foreign = requests(attacker, victim.cab, victim.shop, victim.price, order);
    let missing = requests(attacker, NO_CAB, NO_SHOP, NO_PRICE, NO_ORDER);
    let mut failures = Vec::new();
    for ((label, method, path, body), (_, _, mpath, mbody)) in foreign.iter().zip(&missing) {
        let (s1, a) = call(&app, attacker.who, method, path, &[], body.as_ref()).await;
        let (s2, b) = call(&app, attacker.who, method, mpath, &[], mbody.as_ref()).await;
        let unify = |v: &Value| {
            let text = v.to_string();
            text.replace(victim.cab, NO_CAB)
                .replace(victim.shop, NO_SHOP)
                .replace(order, NO_ORDER)
                .replace(&format!("strategy {}", victim.price), &format!("strategy {NO_PRICE}"))
        };
        if s1 != s2 || unify(&a) != unify(&b) {
            failures.push(format!("{label}: foreign answered {s1} {a}, missing answered {s2} {b}"));
        }
        let is_list = a["page"].is_object();
        if !is_list && (a["code"] == 0 || a["code"] == "0") {
            failures.push(format!("{label}: a foreign record was served: {a}"));
        }
        if is_list && a["page"]["total"] != 0 {
            failures.push(format!("{label}: foreign orders listed: {a}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(app.running.state.store.snapshot() == world, "a foreign request changed the world");
    assert_eq!(fingerprint(&app).await, outside);
}

#[tokio::test]
async fn acme_cannot_reach_demos_records_through_any_operation() {
    foreign_is_like_missing(&ACME_SIDE, &DEMO_SIDE).await;
}

#[tokio::test]
async fn demo_cannot_reach_acmes_records_through_any_operation() {
    foreign_is_like_missing(&DEMO_SIDE, &ACME_SIDE).await;
}

#[tokio::test]
async fn lists_show_only_the_accounts_own_records() {
    let app = spawn_app().await;
    // Each merchant rents once, so both have an order.
    for (who, cab) in [(DEMO, DEMO_CAB), (ACME, ACME_CAB)] {
        let (_, v) = app
            .post_as(
                who,
                &format!("/cabinet/ejectByRent?cabinetid={cab}&rentOrderId=2603020900000000{}&slotNum=0", &cab[4..]),
            )
            .await;
        assert_eq!(v["code"], 0, "{v}");
    }
    for (me, other) in [(&DEMO_SIDE, &ACME_SIDE), (&ACME_SIDE, &DEMO_SIDE)] {
        let who = me.who;
        let devices = data(&app, who, "/cabinet/getAllDevice").await.to_string();
        let page = data(&app, who, "/cabinet/getAllDevicePage?page=1&limit=1000").await.to_string();
        let shops = data(&app, who, "/shop/getShopList").await.to_string();
        let (_, strategies) = app.post_json_as(who, "/shop/priceStrategy/page", &json!({"size": 1000})).await;
        let (_, orders) = app.get_as(who, "/order/list?page=1&limit=1000").await;
        for text in [&devices, &page, &shops] {
            assert!(text.contains(me.cab) || text.contains(me.shop), "own records listed");
            assert!(!text.contains(other.cab) && !text.contains(other.shop), "{}: foreign record in {text}", who.0);
        }
        let ids: Vec<u64> =
            strategies["data"]["records"].as_array().unwrap().iter().map(|r| r["priceId"].as_u64().unwrap()).collect();
        assert!(ids.contains(&me.price) && !ids.contains(&other.price), "{ids:?}");
        let records = orders["page"]["records"].as_array().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0]["pCabinetid"], me.cab);
    }
}

#[tokio::test]
async fn shop_ids_are_global_so_a_taken_id_is_refused_even_across_merchants() {
    let app = spawn_app().await;
    let world = app.running.state.store.snapshot();
    let body = json!({"pNewid": "04679963e0", "pName": "Mine now", "pJingdu": "-0.12", "pWeidu": "51.5"});
    let (_, v) = app.post_json_as(ACME, "/shop/create", &body).await;
    assert_eq!(v, json!({"msg": "Shop 04679963e0 already exists.", "code": 3002}));
    assert!(app.running.state.store.snapshot() == world);
    assert_eq!(data(&app, DEMO, "/shop/detail/04679963e0").await["shopName"], "Café de la Pyramide");
}
