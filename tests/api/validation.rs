//! Bad input on every Advance operation: missing, wrong-typed and out-of-range parameters and
//! bodies each get a business error with a message naming the problem, no `data` key, and
//! change nothing (the fingerprint of every read endpoint is the same before and after).

use crate::admin_kit::*;
use crate::helpers::*;
use serde_json::{json, Value};

/// A request body of a case.
enum Body {
    None,
    Json(Value),
    Raw(&'static str),
}

/// One bad request: method, path with query, body, expected `code`, a fragment of `msg`.
struct Case(&'static str, String, Body, i64, &'static str);

fn q(method: &'static str, path: &str, code: i64, msg: &'static str) -> Case {
    Case(method, path.to_string(), Body::None, code, msg)
}

fn j(method: &'static str, path: &str, body: Value, code: i64, msg: &'static str) -> Case {
    Case(method, path.to_string(), Body::Json(body), code, msg)
}

fn raw(method: &'static str, path: &str, body: &'static str, code: i64, msg: &'static str) -> Case {
    Case(method, path.to_string(), Body::Raw(body), code, msg)
}

/// `body` with `key` removed.
fn without(body: &Value, key: &str) -> Value {
    let mut b = body.clone();
    b.as_object_mut().unwrap().remove(key);
    b
}

/// `body` with `key` set to `v`.
fn with(body: &Value, key: &str, v: Value) -> Value {
    let mut b = body.clone();
    b[key] = v;
    b
}

fn op(query: &str) -> String {
    format!("/cabinet/operation?{query}")
}

fn cabinet_cases() -> Vec<Case> {
    let base = format!("cabinetid={DEMO_CAB}&reason=");
    vec![
        q("POST", &op("slotNum=1&operationType=pop"), 1001, "'cabinetid' is missing"),
        q("POST", &op(&format!("{base}&slotNum=1")), 1001, "'operationType' is missing"),
        q("POST", &op(&format!("{base}&slotNum=1&operationType=explode")), 1001, "not one of restart, pop"),
        q("POST", &op(&format!("{base}&slotNum=1&operationType=POP")), 1001, "operationType"),
        q("POST", &op(&format!("{base}&slotNum=abc&operationType=pop")), 1001, "'slotNum' is invalid"),
        q("POST", &op(&format!("{base}&slotNum=-1&operationType=pop")), 1001, "'slotNum' is invalid"),
        q("POST", &op(&format!("{base}&slotNum=99&operationType=pop")), 2008, "Slot 99 does not exist"),
        q("POST", &op(&format!("{base}&operationType=pop")), 1001, "'slotNum'"),
        q("POST", &op(&format!("{base}&slotNum=0&operationType=lock")), 2008, "Slot 0 does not exist"),
        q("POST", &op(&format!("{base}&slotNum=9&operationType=unlock")), 2008, "Slot 9"),
        q("POST", &op(&format!("{base}&slotNum=1&operationType=report&batcabFault=9")), 1001, "'batcabFault'"),
        q("POST", &op(&format!("{base}&slotNum=1&operationType=report&batteryFault=12")), 1001, "'batteryFault'"),
        q("POST", &op(&format!("{base}&slotNum=1&operationType=report&type=2")), 1001, "'type'"),
        q("POST", &op(&format!("{base}&slotNum=1&operationType=report&gpsTime=soon")), 1001, "'gpsTime'"),
        q("POST", &op(&format!("{base}&operationType=report&batcabFault=2&type=0")), 1001, "'slotNum'"),
        q(
            "POST",
            &op(&format!("{base}&slotNum=2&operationType=report&batteryFault=5&type=1")),
            2008,
            "holds no battery",
        ),
        q(
            "POST",
            &op(&format!("cabinetid={DEMO_CAB}&slotNum=1&operationType=pop&reason={}", "x".repeat(600))),
            1001,
            "'reason'",
        ),
        q("POST", &op("cabinetid=XYZ00000&slotNum=1&operationType=pop"), 2002, "QR code unbound device."),
        q("POST", "/cabinet/ejectByRepair?slotNum=1", 1001, "'cabinetid' is missing"),
        q("POST", &format!("/cabinet/ejectByRepair?cabinetid={DEMO_CAB}&slotNum=x"), 1001, "'slotNum'"),
        q("POST", &format!("/cabinet/ejectByRepair?cabinetid={DEMO_CAB}&slotNum=9"), 2008, "Slot 9 does not exist"),
        q("POST", &format!("/cabinet/ejectByRepair?cabinetid={DEMO_CAB}&slotNum=2"), 2008, "holds no battery"),
        q("POST", "/cabinet/ejectByRepair?cabinetid=XYZ00000&slotNum=0", 2002, "unbound"),
        q("GET", "/cabinet/detail/XYZ00000", 2002, "unbound"),
        q("GET", "/cabinet/batteryListByCabinetId/XYZ00000", 2002, "unbound"),
        q("GET", "/cabinet/slotByCabinetId/XYZ00000", 2002, "unbound"),
        q("GET", "/cabinet/getDeviceByShopId", 1001, "'shopid' is missing"),
        q("GET", "/cabinet/getDeviceByShopId?shopid=nope", 3001, "Shop nope does not exist."),
        q("GET", "/cabinet/getAllDevicePage?limit=10", 1001, "'page' is missing"),
        q("GET", "/cabinet/getAllDevicePage?page=1", 1001, "'limit' is missing"),
        q("GET", "/cabinet/getAllDevicePage?page=one&limit=10", 1001, "'page' is invalid"),
        q("GET", "/cabinet/getAllDevicePage?page=0&limit=10", 1001, "'page' is invalid"),
        q("GET", "/cabinet/getAllDevicePage?page=1&limit=0", 1001, "'limit' is invalid"),
        q("GET", "/cabinet/getAllDevicePage?page=1&limit=5000", 1001, "'limit' is invalid"),
        q("POST", &format!("/cabinet/bind2shop/{DEMO_CAB}/nope"), 3001, "Shop nope"),
        q("POST", "/cabinet/bind2shop/XYZ00000/04679963e0", 2002, "unbound"),
    ]
}

fn ad_cases() -> Vec<Case> {
    let ad = json!({"code": "P_GG_8_TYPE,0", "mediaType": "image", "mediaPath": "https://cdn.example.com/a.png",
        "startDate": "", "endDate": "", "startTime": "", "endTime": ""});
    let good = json!({"cabinetIdList": [DEMO_CAB], "isRestart": false, "adConfigList": [ad]});
    let with_ad = |k: &str, v: Value| with(&good, "adConfigList", json!([with(&ad, k, v)]));
    let mut cases = vec![
        raw("POST", "/cabinet/bindAd", "{not json", 1002, "malformed JSON"),
        j("POST", "/cabinet/bindAd", json!([DEMO_CAB]), 1002, "expected a JSON object"),
        j("POST", "/cabinet/bindAd", without(&good, "cabinetIdList"), 1001, "'cabinetIdList' is missing"),
        j("POST", "/cabinet/bindAd", with(&good, "cabinetIdList", json!([])), 1001, "list is empty"),
        j("POST", "/cabinet/bindAd", with(&good, "cabinetIdList", json!(DEMO_CAB)), 1001, "expected an array"),
        j("POST", "/cabinet/bindAd", with(&good, "cabinetIdList", json!([1])), 1001, "cabinetIdList[0]"),
        j("POST", "/cabinet/bindAd", with(&good, "cabinetIdList", json!([DEMO_CAB, "XYZ00000"])), 2002, "unbound"),
        j("POST", "/cabinet/bindAd", with(&good, "isRestart", json!("maybe")), 1001, "'isRestart'"),
        j("POST", "/cabinet/bindAd", with(&good, "adConfigList", json!({})), 1001, "'adConfigList'"),
        j(
            "POST",
            "/cabinet/bindAd",
            with(&good, "adConfigList", json!(["x"])),
            1002,
            "adConfigList[0] must be a JSON object",
        ),
        j("POST", "/cabinet/bindAd", with_ad("code", json!("banner")), 1001, "adConfigList[0].code"),
        j("POST", "/cabinet/bindAd", with_ad("code", json!("P_GG_8_TYPE,7")), 1001, "position code"),
        j("POST", "/cabinet/bindAd", with_ad("mediaType", json!("gif")), 1001, "adConfigList[0].mediaType"),
        j("POST", "/cabinet/bindAd", with_ad("mediaPath", json!("")), 1001, "adConfigList[0].mediaPath"),
        j("POST", "/cabinet/bindAd", with_ad("mediaPath", json!("ftp://cdn/a.png")), 1001, "mediaPath"),
        j("POST", "/cabinet/bindAd", with_ad("startDate", json!("tomorrow")), 1001, "adConfigList[0].startDate"),
        j(
            "POST",
            "/cabinet/bindAd",
            with(
                &good,
                "adConfigList",
                json!([with(
                    &with(&ad, "startDate", json!("2026-03-05 00:00:00")),
                    "endDate",
                    json!("2026-03-01 00:00:00")
                )]),
            ),
            1001,
            "before startDate",
        ),
        j("POST", "/cabinet/bindAd", with_ad("startTime", json!("25:00")), 1001, "adConfigList[0].startTime"),
        j("POST", "/cabinet/bindAd", with_ad("mediaType", json!("programSheet")), 1001, "videoList"),
        j(
            "POST",
            "/cabinet/bindAd",
            with(
                &good,
                "adConfigList",
                json!([with(
                    &with(&ad, "mediaType", json!("programSheet")),
                    "videoList",
                    json!([{"url": "https://x.example/1.png", "seq": "first"}])
                )]),
            ),
            1001,
            "videoList[0].seq",
        ),
        j("POST", "/cabinet/publishAd", without(&good, "isRestart"), 1001, "'isRestart' is missing"),
        j("POST", "/cabinet/publishAd", without(&good, "adConfigList"), 1001, "'adConfigList' is missing"),
        j("POST", "/cabinet/publishAd", with(&good, "adConfigList", json!([])), 1001, "list is empty"),
        j(
            "POST",
            "/cabinet/publishAd",
            with_ad("mediaType", json!("programSheet")),
            1001,
            "expected one of image, video",
        ),
        j("POST", "/cabinet/publishAd", with(&good, "cabinetIdList", json!(["XYZ00000"])), 2002, "unbound"),
        q("POST", "/cabinet/unbindShop", 1002, "expected a JSON array of device ids"),
        j("POST", "/cabinet/unbindShop", json!({"ids": [DEMO_CAB]}), 1002, "expected a JSON array"),
        j("POST", "/cabinet/unbindShop", json!([]), 1002, "non-empty"),
        j("POST", "/cabinet/unbindShop", json!([123]), 1001, "body[0]"),
        j("POST", "/cabinet/unbindShop", json!([DEMO_CAB, "XYZ00000"]), 2002, "unbound"),
        j("GET", "/cabinet/unbindShop", json!(["XYZ00000"]), 2002, "unbound"),
    ];
    cases.push(raw("POST", "/cabinet/unbindShop", "[\"BJD60151\",", 1002, "malformed JSON"));
    cases
}

fn shop_cases() -> Vec<Case> {
    let good =
        json!({"pNewid": "abc0000001", "pName": "New", "pJingdu": "2.35", "pWeidu": "48.85", "pCurrency": "EUR"});
    let mut cases = Vec::new();
    for key in ["pNewid", "pName", "pJingdu", "pWeidu"] {
        cases.push(j("POST", "/shop/create", without(&good, key), 1001, "is missing"));
        let update = if key == "pNewid" {
            without(&good, key)
        } else {
            with(&without(&good, key), "pNewid", json!("04679963e0"))
        };
        cases.push(j("PUT", "/shop/update", update, 1001, "is missing"));
    }
    cases.extend([
        j("POST", "/shop/create", with(&good, "pWeidu", json!("91")), 1001, "'pWeidu' is invalid"),
        j("POST", "/shop/create", with(&good, "pJingdu", json!(-181)), 1001, "'pJingdu' is invalid"),
        j("POST", "/shop/create", with(&good, "pWeidu", json!("north")), 1001, "'pWeidu'"),
        j("POST", "/shop/create", with(&good, "pJingdu", json!(true)), 1001, "'pJingdu'"),
        j("POST", "/shop/create", with(&good, "pName", json!(5)), 1001, "'pName' is invalid: expected a string"),
        j("POST", "/shop/create", with(&good, "pName", json!("   ")), 1001, "'pName' is missing"),
        j("POST", "/shop/create", with(&good, "pCurrency", json!("XXX")), 1001, "not a known currency"),
        j("POST", "/shop/create", with(&good, "pSceneType", json!(37)), 1001, "'pSceneType'"),
        j("POST", "/shop/create", with(&good, "pStoreType", json!("a")), 1001, "'pStoreType'"),
        j("POST", "/shop/create", with(&good, "pAuditor", json!(2)), 1001, "'pAuditor'"),
        j("POST", "/shop/create", with(&good, "pNewid", json!("a b/c")), 1001, "'pNewid'"),
        j("POST", "/shop/create", with(&good, "pNewid", json!("x".repeat(65))), 1001, "'pNewid'"),
        j("POST", "/shop/create", with(&good, "pNewid", json!("04679963e0")), 3002, "already exists"),
        j("POST", "/shop/create", json!([good.clone()]), 1002, "expected a JSON object"),
        raw("POST", "/shop/create", "{\"pNewid\": ", 1002, "malformed JSON"),
        q("POST", "/shop/create", 1001, "'pNewid' is missing"),
        j("PUT", "/shop/update", good.clone(), 3001, "Shop abc0000001 does not exist."),
        j(
            "PUT",
            "/shop/update",
            with(&with(&good, "pNewid", json!("04679963e0")), "pWeidu", json!(-90.5)),
            1001,
            "'pWeidu'",
        ),
        j(
            "POST",
            "/shop/update",
            with(&with(&good, "pNewid", json!("04679963e0")), "pCurrency", json!("euro")),
            1001,
            "currency",
        ),
        q("DELETE", "/shop/delete/04679963e0", 3003, "still has 2 cabinet(s)"),
        q("DELETE", "/shop/delete/nope", 3001, "Shop nope does not exist."),
        q("POST", "/shop/delete", 1001, "'newID' is missing"),
        q("POST", "/shop/delete?newID=04679963e0", 3003, "BJD60151, BJD60152"),
        q("GET", "/shop/detail/nope", 3001, "Shop nope"),
    ]);
    cases
}

fn strategy_cases() -> Vec<Case> {
    let good = json!({"priceId": null, "name": "S", "shopId": "04679963e0", "type": 1, "customType": 0, "priority": 1,
        "isDeposit": true, "depositAmount": 10, "timeoutAmount": 20, "timeoutDay": 3, "freeMinutes": 5, "dayUseFreeCount": 1,
        "price": 1, "priceTime": 30, "priceUnit": 0, "dailyMaxPrice": 6, "priceStrategyDetailList": []});
    let save = "/shop/priceStrategy/saveOrUpdate";
    let mut cases = Vec::new();
    for key in [
        "name",
        "type",
        "customType",
        "depositAmount",
        "timeoutAmount",
        "timeoutDay",
        "freeMinutes",
        "price",
        "priceTime",
        "priceUnit",
        "dailyMaxPrice",
    ] {
        cases.push(j("POST", save, without(&good, key), 1001, "is missing"));
    }
    let row = |s: i64, e: i64| json!({"startMinute": s, "endMinute": e, "setcionFee": 1, "totalFee": 1, "seqno": 1});
    cases.extend([
        j("POST", save, with(&good, "type", json!(4)), 1001, "'type' is invalid"),
        j("POST", save, with(&good, "customType", json!(2)), 1001, "'customType'"),
        j("POST", save, with(&good, "priceUnit", json!(3)), 1001, "'priceUnit'"),
        j("POST", save, with(&good, "priceTime", json!(0)), 1001, "'priceTime'"),
        j("POST", save, with(&good, "depositAmount", json!(-1)), 1001, "'depositAmount'"),
        j("POST", save, with(&good, "price", json!("abc")), 1001, "'price'"),
        j("POST", save, with(&good, "price", json!(2_000_000)), 1001, "'price'"),
        j("POST", save, with(&good, "timeoutDay", json!(400)), 1001, "'timeoutDay'"),
        j("POST", save, with(&good, "freeMinutes", json!(1.5)), 1001, "'freeMinutes'"),
        j("POST", save, with(&good, "isDeposit", json!("sometimes")), 1001, "'isDeposit'"),
        j("POST", save, with(&good, "name", json!(["S"])), 1001, "'name'"),
        j("POST", save, with(&good, "type", json!(2)), 1001, "needs at least one row"),
        j("POST", save, with(&good, "priceStrategyDetailList", json!("rows")), 1001, "'priceStrategyDetailList'"),
        j(
            "POST",
            save,
            with(&good, "priceStrategyDetailList", json!([row(60, 60)])),
            1001,
            "priceStrategyDetailList[0].endMinute",
        ),
        j(
            "POST",
            save,
            with(&good, "priceStrategyDetailList", json!([without(&row(0, 60), "totalFee")])),
            1001,
            "priceStrategyDetailList[0].totalFee",
        ),
        j("POST", save, with(&good, "priceId", json!(999)), 3101, "Price strategy 999 does not exist."),
        j("POST", save, with(&good, "priceId", json!("abc")), 1001, "'priceId'"),
        j("POST", save, with(&good, "priceId", json!(-1)), 1001, "'priceId'"),
        j("POST", save, with(&good, "shopId", json!("nope")), 3001, "Shop nope"),
        j("POST", save, json!([1]), 1002, "expected a JSON object"),
        j("POST", "/shop/priceStrategy/page", json!({"size": 0}), 1001, "'size'"),
        j("POST", "/shop/priceStrategy/page", json!({"current": "x"}), 1001, "'current'"),
        j("POST", "/shop/priceStrategy/page", json!([]), 1002, "expected a JSON object"),
        q("GET", "/shop/priceStrategy/detail/abc", 1001, "'priceId'"),
        q("GET", "/shop/priceStrategy/detail/999", 3101, "Price strategy 999"),
        j("POST", "/shop/priceStrategy/delete", json!([]), 1002, "non-empty JSON array of price ids"),
        j("POST", "/shop/priceStrategy/delete", json!({"ids": [101]}), 1002, "expected a JSON array"),
        j("POST", "/shop/priceStrategy/delete", json!(["abc"]), 1001, "'body[0]' is invalid: 'abc' is not an integer"),
        j("POST", "/shop/priceStrategy/delete", json!([true]), 1001, "body[0]"),
        j("POST", "/shop/priceStrategy/delete", json!([101]), 3102, "bound to shop(s) 04679963e0"),
        j("POST", "/shop/priceStrategy/delete", json!([999]), 3101, "999"),
        j("POST", "/shop/priceStrategy/bindShop", json!({"priceId": 101}), 1001, "'shopId' is missing"),
        j("POST", "/shop/priceStrategy/bindShop", json!({"shopId": "04679963e0"}), 1001, "'priceId' is missing"),
        j(
            "POST",
            "/shop/priceStrategy/bindShop",
            json!({"shopId": "04679963e0", "priceId": 101, "customType": 5}),
            1001,
            "'customType'",
        ),
        j("POST", "/shop/priceStrategy/bindShop", json!({"shopId": "04679963e0", "priceId": 999}), 3101, "999"),
        j("POST", "/shop/priceStrategy/bindShop", json!({"shopId": "nope", "priceId": 101}), 3001, "Shop nope"),
        j("POST", "/shop/priceStrategy/unbindShop", json!({"customType": 0}), 1001, "'shopId' is missing"),
        j(
            "POST",
            "/shop/priceStrategy/unbindShop",
            json!({"shopId": "04679963e0", "customType": "x"}),
            1001,
            "'customType'",
        ),
        j("POST", "/shop/priceStrategy/unbindShop", json!({"shopId": "nope"}), 3001, "Shop nope"),
    ]);
    cases
}

fn order_cases() -> Vec<Case> {
    vec![
        q("GET", "/order/list?limit=10", 1001, "'page' is missing"),
        q("GET", "/order/list?page=1", 1001, "'limit' is missing"),
        q("GET", "/order/list?page=0&limit=10", 1001, "'page' is invalid"),
        q("GET", "/order/list?page=1&limit=1001", 1001, "'limit' is invalid"),
        q("GET", "/order/list?page=x&limit=10", 1001, "'page'"),
        q("GET", "/order/list?page=1&limit=10&dataLevel=4", 1001, "'dataLevel'"),
        q("GET", "/order/list?page=1&limit=10&sTime=yesterday", 1001, "'sTime'"),
        q(
            "GET",
            "/order/list?page=1&limit=10&sTime=2026-03-02%2010:00:00&eTime=2026-03-02%2009:00:00",
            1001,
            "before sTime",
        ),
    ]
}

async fn send(app: &TestApp, c: &Case) -> (u16, Value) {
    let Case(method, path, body, _, _) = c;
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut r = app.client.request(m, app.api(path)).basic_auth(DEMO.0, Some(DEMO.1));
    r = match body {
        Body::None => r,
        Body::Json(v) => r.json(v),
        Body::Raw(s) => r.header("content-type", "application/json").body(*s),
    };
    read(r.send().await.unwrap()).await
}

/// Run every case; each must fail as expected and leave the world exactly as it was (the
/// whole in-process world is compared per case, cheaply; the black-box fingerprint of the read
/// endpoints once around the table).
async fn run(cases: Vec<Case>) {
    let app = spawn_app().await;
    let outside = fingerprint(&app).await;
    let world = || app.running.state.store.snapshot();
    let mut before = world();
    let mut failures = Vec::new();
    for c in &cases {
        let (status, v) = send(&app, c).await;
        let Case(method, path, _, code, msg) = c;
        let path: String = path.chars().take(120).collect();
        if status != 200 || v["code"] != *code || v.get("data").is_some() {
            failures.push(format!("{method} {path}: expected code {code}, got HTTP {status} {v}"));
        } else if !v["msg"].as_str().unwrap_or("").contains(msg) {
            failures.push(format!("{method} {path}: message {:?} does not contain {msg:?}", v["msg"]));
        }
        let after = world();
        if after != before {
            failures.push(format!("{method} {path}: the refused request changed the world"));
            before = after;
        }
    }
    assert_eq!(fingerprint(&app).await, outside, "the read endpoints show a change");
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[tokio::test]
async fn bad_cabinet_commands_and_list_queries_are_refused_without_effect() {
    run(cabinet_cases()).await;
}

#[tokio::test]
async fn bad_ad_and_unbind_bodies_are_refused_without_effect() {
    run(ad_cases()).await;
}

#[tokio::test]
async fn bad_shop_writes_are_refused_without_effect() {
    run(shop_cases()).await;
}

#[tokio::test]
async fn bad_price_strategy_requests_are_refused_without_effect() {
    run(strategy_cases()).await;
}

#[tokio::test]
async fn bad_order_list_queries_are_refused() {
    run(order_cases()).await;
}
