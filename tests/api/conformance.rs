//! Conformance with the documented operation list (`tests/data/endpoints.json`, a copy of the
//! shared `api/endpoints.json`): every inbound operation is called with every documented
//! parameter in its documented place (query, path, JSON body; the stray Springfox parameters
//! included), and must answer on its route with the documented envelope and field types, its
//! effect visible through the read endpoints afterwards.
//!
//! The documented examples give the field sets and JSON types. Where production behaviour
//! overrides the docs (docs/fidelity.md), the override is listed in [`TYPE_OVERRIDES`].

use crate::admin_kit::*;
use crate::helpers::*;
use bajie_sim::api::auth::sha256_hex;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const SPEC: &str = include_str!("../data/endpoints.json");

/// Production types that differ from the docs' examples: (operation, field, JSON type).
const TYPE_OVERRIDES: &[(&str, &str, &str)] = &[
    // A client reads `key` as the token string.
    ("A1", "key", "string"),
    // Production, over the docs: order-list `settledAmount` is a numeric string.
    ("R1", "settledAmount", "string"),
];

/// Fields that are null until something happens (a return, a binding).
const NULLABLE: &[&str] = &["returnTime", "returnShop", "pGhtime", "shopId"];

const LOUVRE: &str = "04679963e0";
const GERMAIN: &str = "3d7f0b9e51";

/// Values of the stray Springfox parameters (docs/api-reference.md, "Conventions"): sent, and ignored.
fn stray(name: &str) -> &'static str {
    match name {
        "id" => "7",
        "dailiId" => "agent-x",
        "username" => "someone",
        "password" => "secret",
        _ => "1",
    }
}

/// How one operation is exercised: parameter values by name and the JSON body.
#[derive(Default)]
struct Exercise {
    values: BTreeMap<&'static str, String>,
    body: Option<Value>,
    /// Something the preparation made (an order, a strategy, a shop), for the verification.
    made: String,
}

impl Exercise {
    fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.values.insert(name, value.into());
        self
    }
    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

fn example_body(op: &Value) -> Value {
    op["request_body_example"].clone()
}

/// A back-office order on DEMO_CAB (ejectByRent with a new id), already in lease.
async fn rented(app: &TestApp, slot: u16) -> String {
    let id = "26030209000000000042";
    app.rent_slot(DEMO, DEMO_CAB, id, slot).await;
    id.to_string()
}

/// A pending Open API order on DEMO_CAB.
async fn pending(app: &TestApp, sink: &Sink) -> String {
    let (_, v) = call(
        app,
        DEMO,
        "POST",
        "/rent/order/create",
        &[("deviceId", DEMO_CAB), ("callbackURL", &format!("{}/cb", sink.url))],
        None,
    )
    .await;
    v["data"]["tradeNo"].as_str().unwrap().to_string()
}

/// Prepare the world for `op` and say how to call it.
async fn prepare(app: &TestApp, sink: &Sink, op: &Value) -> Exercise {
    let id = op["id"].as_str().unwrap();
    let ex = Exercise::default();
    match id {
        "A1" => ex.with("username", "demo").with("password", sha256_hex("demo")),
        "O1" | "O7" => ex.with("deviceId", DEMO_CAB),
        "O2" => ex.with("deviceId", DEMO_CAB).with("callbackURL", format!("{}/cb?rental=1", sink.url)),
        "O3" | "O4" | "O5" => {
            let t = pending(app, sink).await;
            Exercise { made: t.clone(), ..ex.with("tradeNo", t) }
        }
        "O6" => ex
            .with("coordType", "WGS-84")
            .with("zoomLevel", "5")
            .with("lat", "48.8606")
            .with("lng", "2.3376")
            .with("showPrice", "true"),
        "C1" => ex
            .with("cabinetid", DEMO_CAB)
            .with("slotNum", "1")
            .with("operationType", "pop")
            .with("reason", "")
            .with("batcabFault", "0")
            .with("batteryFault", "0")
            .with("type", "0")
            .with("gpsTime", "0"),
        "C2" => ex.with("cabinetid", DEMO_CAB).with("slotNum", "3"),
        "C3" => {
            let t = pending(app, sink).await;
            Exercise { made: t.clone(), ..ex.with("cabinetid", DEMO_CAB).with("rentOrderId", t).with("slotNum", "5") }
        }
        "C4" | "S1" => ex,
        "C5" | "C8" | "C9" => ex.with("cabinetId", DEMO_CAB),
        "C6" => ex.with("shopid", LOUVRE),
        "C7" => ex.with("page", "1").with("limit", "2"),
        "C10" => ex.with("qrcode", DEMO_CAB).with("newshopid", GERMAIN),
        "C11" | "C13" => {
            let mut b = example_body(op);
            b["cabinetIdList"] = json!([DEMO_CAB, "BJD60152"]);
            ex.body(b)
        }
        "C12" => ex.body(json!([DEMO_CAB])),
        "S2" => ex.with("shopid", LOUVRE),
        "S3" => {
            let mut b = example_body(op);
            b["pNewid"] = json!("c0ffee0001");
            ex.body(b)
        }
        "S4" => {
            let mut b = example_body(op);
            b["pNewid"] = json!(LOUVRE);
            ex.body(b)
        }
        "S5" => {
            post_ok(
                app,
                DEMO,
                "/shop/create",
                &json!({"pNewid": "c0ffee0002", "pName": "Gone", "pJingdu": "2.3", "pWeidu": "48.8"}),
            )
            .await;
            ex.with("shopid", "c0ffee0002")
        }
        "P1" => {
            let mut b = example_body(op);
            b["priceId"] = json!(101);
            b["shopId"] = json!(LOUVRE);
            ex.body(b)
        }
        "P2" => ex.with("priceId", "101"),
        "P3" => ex.body(example_body(op)),
        "P4" => {
            let mut b = example_body(&spec_op("P3"));
            b["shopId"] = json!(LOUVRE);
            let v = post_ok(app, DEMO, "/shop/priceStrategy/saveOrUpdate", &b).await;
            let id = v["data"]["priceId"].as_u64().unwrap();
            Exercise { made: id.to_string(), ..ex.body(json!([id])) }
        }
        "P5" => ex.body(json!({"shopId": LOUVRE, "priceId": 102, "customType": 0})),
        "P6" => {
            let mut b = example_body(op);
            b["shopId"] = json!(LOUVRE);
            ex.body(b)
        }
        "R1" => {
            let t = rented(app, 5).await;
            Exercise {
                made: t,
                ..ex.with("page", "1")
                    .with("limit", "10")
                    .with("dataLevel", "3")
                    .with("sTime", "")
                    .with("eTime", "")
                    .with("pCabinetid", DEMO_CAB)
            }
        }
        "E1" => {
            let mut b = example_body(op);
            b["pushUrl"] = json!(format!("{}/events", sink.url));
            ex.body(b)
        }
        "E2" => {
            let mut b = example_body(&spec_op("E1"));
            b["pushUrl"] = json!(format!("{}/events", sink.url));
            let (s, _) = app.post_json_as(DEMO, "/cabinet/eventPush/config", &b).await;
            Exercise { made: s.to_string(), ..ex }
        }
        other => panic!("the conformance table has no exercise for {other}: add one"),
    }
}

/// O1's `data` for DEMO_CAB.
async fn o1(app: &TestApp) -> Value {
    app.device(DEMO, DEMO_CAB).await["data"].clone()
}

/// Check the effect of `op` through the read endpoints.
async fn verify(app: &TestApp, op: &str, v: &Value, ex: &Exercise) {
    match op {
        "A1" => {
            let token = v["key"].as_str().unwrap();
            let r = app.client.get(app.api(&format!("/rent/cabinet/query?deviceId={DEMO_CAB}"))).bearer_auth(token);
            assert_eq!(read(r.send().await.unwrap()).await.1["code"], 0, "the token authenticates");
        }
        "O1" | "O7" => assert_eq!(v["data"]["cabinet"]["id"], DEMO_CAB),
        "O2" => {
            let t = v["data"]["tradeNo"].as_str().unwrap();
            let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={t}")).await;
            assert_eq!(d["data"]["borrowStatus"], 0);
            let (_, l) = app.get("/order/list?page=1&limit=10").await;
            assert_eq!(l["page"]["records"][0]["pOrderid"], t);
        }
        "O3" => assert_eq!(v["data"]["tradeNo"], ex.made.as_str()),
        "O4" => {
            let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={}", ex.made)).await;
            assert_eq!(d["data"]["borrowStatus"], 2, "a pending order closed is revoked");
        }
        "O5" => assert_eq!(v["data"]["orderId"], ex.made.as_str()),
        "O6" => assert!(v["list"].as_array().unwrap().iter().any(|i| i["shop"]["id"] == LOUVRE)),
        "C1" => {
            assert_eq!(battery_in(app, DEMO, DEMO_CAB, 1).await, "");
            assert_eq!(o1(app).await["cabinet"]["busySlots"], 3);
        }
        "C2" => assert_eq!(battery_in(app, DEMO, DEMO_CAB, 3).await, ""),
        "C3" => {
            let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={}", ex.made)).await;
            assert_eq!((d["data"]["borrowStatus"].clone(), d["data"]["borrowSlot"].clone()), (json!(1), json!(5)));
        }
        "C4" => assert!(v["data"].as_array().unwrap().iter().any(|r| r["pCabinetid"] == DEMO_CAB)),
        "C5" => assert_eq!(v["data"]["cabinet"]["batcabs"].as_array().unwrap().len(), 8),
        "C6" => assert_eq!(v["data"].as_array().unwrap().len(), 2),
        "C7" => {
            let all = data(app, DEMO, "/cabinet/getAllDevice").await;
            assert_eq!(v["data"]["total"], all.as_array().unwrap().len());
            assert_eq!(v["data"]["records"].as_array().unwrap().len(), 2);
        }
        "C8" => assert_eq!(v["data"].as_array().unwrap().len(), 4),
        "C9" => assert_eq!(v["data"].as_array().unwrap().len(), 8),
        "C10" => {
            assert_eq!(o1(app).await["cabinet"]["shopId"], GERMAIN);
            assert_eq!(o1(app).await["priceStrategy"]["name"], "Paris Premium");
        }
        "C11" | "C13" => {
            for cab in [DEMO_CAB, "BJD60152"] {
                let c = data(app, DEMO, &format!("/cabinet/detail/{cab}")).await;
                assert_eq!(c["cabinet"]["adConfigList"].as_array().unwrap().len(), 1, "{cab}");
            }
        }
        "C12" => assert_eq!(o1(app).await["cabinet"]["shopId"], ""),
        "S1" => assert!(v["data"].as_array().unwrap().iter().any(|s| s["newID"] == LOUVRE)),
        "S2" => assert_eq!(v["data"]["newID"], LOUVRE),
        "S3" => assert_eq!(data(app, DEMO, "/shop/detail/c0ffee0001").await["shopName"], "Demo shop"),
        "S4" => {
            let s = data(app, DEMO, &format!("/shop/detail/{LOUVRE}")).await;
            assert_eq!((s["shopName"].clone(), s["latitude"].clone()), (json!("Demo shop"), json!("22.989442")));
            assert_eq!(o1(app).await["shop"]["name"], "Demo shop");
        }
        "S5" => assert_eq!(app.get("/shop/detail/c0ffee0002").await.1["code"], 3001),
        "P1" => {
            assert_eq!(v["data"]["total"], 1);
            assert_eq!(v["data"]["records"][0]["priceId"], 101);
        }
        "P2" => assert_eq!(v["data"]["name"], "Paris Standard"),
        "P3" => {
            let id = v["data"]["priceId"].as_u64().unwrap();
            let p = data(app, DEMO, &format!("/shop/priceStrategy/detail/{id}")).await;
            assert_eq!((p["name"].clone(), p["priceTime"].clone()), (json!("Standard"), json!(60)));
        }
        "P4" => assert_eq!(app.get(&format!("/shop/priceStrategy/detail/{}", ex.made)).await.1["code"], 3101),
        "P5" => assert_eq!(o1(app).await["priceStrategy"]["name"], "Paris Premium"),
        "P6" => assert_eq!(o1(app).await["priceStrategy"]["name"], "Default"),
        "R1" => {
            assert_eq!(v["page"]["total"], 1);
            assert_eq!(v["page"]["records"][0]["pOrderid"], ex.made.as_str());
        }
        "E1" => {
            let (_, g) = app.get("/cabinet/eventPush/config/get").await;
            assert_eq!(g["data"]["pushUrl"], v["data"]["pushUrl"]);
        }
        "E2" => assert!(v["data"]["pushUrl"].as_str().unwrap().ends_with("/events")),
        other => panic!("no verification for {other}"),
    }
}

fn spec() -> Vec<Value> {
    serde_json::from_str(SPEC).expect("tests/data/endpoints.json is JSON")
}

fn spec_op(id: &str) -> Value {
    spec().into_iter().find(|o| o["id"] == id).unwrap()
}

/// Percent-encode a path segment.
fn segment(v: &str) -> String {
    serde_urlencoded::to_string([("", v)]).unwrap()[1..].replace('+', "%20")
}

/// Call `op` with every documented parameter in its documented place.
async fn send(app: &TestApp, op: &Value, ex: &Exercise) -> (u16, Value) {
    let id = op["id"].as_str().unwrap();
    let mut path = op["path"].as_str().unwrap().to_string();
    let mut query: Vec<(String, String)> = Vec::new();
    let mut body = None;
    for p in op["params"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        let value = || {
            ex.values.get(name).cloned().unwrap_or_else(|| panic!("{id}: no value for documented parameter '{name}'"))
        };
        match p["in"].as_str().unwrap() {
            "path" => path = path.replace(&format!("{{{name}}}"), &segment(&value())),
            "query" if p["stray"] == true => query.push((name.to_string(), stray(name).to_string())),
            "query" => query.push((name.to_string(), value())),
            // The documented optional `Authorization` header: every call carries Basic auth.
            "header" => assert_eq!(name, "Authorization"),
            "body" => body = Some(ex.body.clone().unwrap_or_else(|| panic!("{id}: no body"))),
            other => panic!("{id}: unknown parameter place {other}"),
        }
    }
    let q: Vec<(&str, &str)> = query.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let method = op["method"].as_str().unwrap();
    if op["auth"] == "none" {
        let url = app.api(&path);
        let r = app.client.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url).query(&q);
        return read(r.send().await.unwrap()).await;
    }
    call(app, DEMO, method, &path, &q, body.as_ref()).await
}

use crate::schema::type_name as json_type;

/// Every field of `expected` must be in `actual` with the same JSON type (an integer where
/// the example has an integer; any number where it has a decimal). Arrays are compared by
/// their first items. Extra fields are allowed.
fn same_shape(op: &str, at: &str, key: &str, expected: &Value, actual: &Value, errs: &mut Vec<String>) {
    let want = TYPE_OVERRIDES
        .iter()
        .find(|(o, k, _)| *o == op && *k == key)
        .map(|(_, _, t)| *t)
        .unwrap_or_else(|| json_type(expected));
    let got = json_type(actual);
    if got == "null" && NULLABLE.contains(&key) {
        return;
    }
    let ok = match (want, got) {
        ("null", _) => true,
        ("number", "integer") => true,
        (w, g) => w == g,
    };
    if !ok {
        errs.push(format!("{op} {at}: expected {want}, got {got} ({actual})"));
        return;
    }
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) if want == "object" => {
            for (k, ev) in e {
                match a.get(k) {
                    None => errs.push(format!("{op} {at}.{k}: missing")),
                    Some(av) => same_shape(op, &format!("{at}.{k}"), k, ev, av, errs),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let (Some(ev), Some(av)) = (e.first(), a.first()) {
                same_shape(op, &format!("{at}[0]"), key, ev, av, errs);
            }
        }
        _ => {}
    }
}

/// The documented envelope: `msg`, `code` of the example's type and value 0, the payload
/// where `response_data_kind` says, and the example's fields with their types.
fn check_response(op: &Value, status: u16, v: &Value, errs: &mut Vec<String>) {
    let id = op["id"].as_str().unwrap();
    if status != 200 {
        errs.push(format!("{id}: HTTP {status}: {v}"));
        return;
    }
    let example = &op["example_response"];
    if id != "A1" {
        if !v["msg"].is_string() {
            errs.push(format!("{id}: msg is not a string: {v}"));
        }
        // A string `code` on S1 and C4 only; S2's inferred example copies S1's envelope, but
        // S2 answers an integer like every other operation.
        let code_ok = match (id, &example["code"]) {
            ("S1" | "C4", Value::String(_)) => v["code"] == "0",
            _ => v["code"] == 0,
        };
        if !code_ok {
            errs.push(format!(
                "{id}: code {} is not a success of the documented type ({}): {v}",
                v["code"], example["code"]
            ));
            return;
        }
    }
    let payload_ok = match op["response_data_kind"].as_str().unwrap() {
        "object" if id == "A1" => v["key"].is_string(),
        "object" => v["data"].is_object(),
        "array" if example.get("list").is_some() => v["list"].is_array(),
        "array" => v["data"].is_array(),
        "page" => {
            let page = if example.get("page").is_some() { &v["page"] } else { &v["data"] };
            ["records", "total", "size", "current"].iter().all(|k| page.get(*k).is_some()) && page["records"].is_array()
        }
        _ => true,
    };
    if !payload_ok {
        errs.push(format!("{id}: payload not where documented ({}): {v}", op["response_data_kind"]));
    }
    if let Value::Object(e) = example {
        for (k, ev) in e.iter().filter(|(k, _)| *k != "msg" && *k != "code") {
            match v.get(k) {
                None => errs.push(format!("{id}: top-level '{k}' missing: {v}")),
                Some(av) => same_shape(id, k, k, ev, av, errs),
            }
        }
    }
}

#[tokio::test]
async fn every_documented_inbound_operation_answers_as_documented_and_takes_effect() {
    let ops: Vec<Value> = spec().into_iter().filter(|o| o["direction"] == "inbound").collect();
    let ids: BTreeSet<&str> = ops.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 35, "36 documented operations, one of them outbound (E3)");

    let app = spawn_app().await;
    let sink = Sink::start().await;
    let mut errs = Vec::new();
    for op in &ops {
        let id = op["id"].as_str().unwrap();
        let reset = app.control("/reset").await;
        assert_eq!(reset["code"], 0);
        let ex = prepare(&app, &sink, op).await;
        let (status, v) = send(&app, op, &ex).await;
        let before = errs.len();
        check_response(op, status, &v, &mut errs);
        if errs.len() == before {
            verify(&app, id, &v, &ex).await;
        }
        app.assert_consistent().await;
    }
    assert!(errs.is_empty(), "{} conformance problem(s):\n{}", errs.len(), errs.join("\n"));
}

#[tokio::test]
async fn routes_answer_only_with_their_documented_methods_and_c12_with_post_too() {
    let app = spawn_app().await;
    // A documented path with an undocumented method is a 404 in the envelope, like any
    // unknown route.
    for (method, path) in [("DELETE", "/cabinet/getAllDevice"), ("GET", "/cabinet/operation"), ("GET", "/shop/create")]
    {
        let (s, v) = call(&app, DEMO, method, path, &[], None).await;
        assert_eq!((s, v["code"].clone()), (404, json!(404)), "{method} {path}: {v}");
    }
    // The tolerated alternatives: POST unbindShop, POST shop update.
    let (_, v) = call(&app, DEMO, "POST", "/cabinet/unbindShop", &[], Some(&json!([DEMO_CAB]))).await;
    assert_eq!(v["code"], 0, "{v}");
}

#[test]
fn the_shape_check_catches_missing_fields_and_wrong_types() {
    let expected = json!({"a": 1, "b": "x", "c": 1.5, "d": [{"e": true}], "shopId": "s", "settledAmount": 2.0});
    let mut errs = Vec::new();
    same_shape(
        "R1",
        "data",
        "data",
        &expected,
        &json!({"a": 1, "b": "x", "c": 2, "d": [{"e": true}], "shopId": null, "settledAmount": "2.00", "extra": 0}),
        &mut errs,
    );
    assert!(errs.is_empty(), "{errs:?}");
    same_shape(
        "R1",
        "data",
        "data",
        &expected,
        &json!({"a": 1.5, "b": 1, "d": [{"e": "no"}], "shopId": "s", "settledAmount": 2.0}),
        &mut errs,
    );
    assert_eq!(errs.len(), 5, "{errs:#?}");
}
