//! The type walk: every platform operation of the default world, with a success and error
//! answers, checked against the OpenAPI document the simulator serves (`/_sim/openapi.json`),
//! strictly: a `null` only where the document says `nullable`, undocumented fields included;
//! the documented JSON type (integer, number, string) everywhere; no whole number written as a
//! float (`30.0`); no field spelled two ways in one answer (`shopId` and `shopid`); one JSON
//! type per field across the rows of a list. The event pushes and rent callbacks the walk
//! caused are checked the same way. (docs/fidelity.md, "Types of every answer".)

use crate::helpers::*;
use crate::schema;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const PREFIX: &str = "/cdb-open-api/v1";

/// Follow a `$ref` if `s` is one.
fn deref<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => schema::resolve(doc, r).unwrap_or(s),
        None => s,
    }
}

fn nullable(doc: &Value, s: &Value) -> bool {
    let s = deref(doc, s);
    s.get("nullable") == Some(&Value::Bool(true))
        || s.get("anyOf").and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| nullable(doc, x)))
}

/// The alternative of an `anyOf` that `v` matches (the first), else `s` itself.
fn branch<'a>(doc: &'a Value, s: &'a Value, v: &Value) -> &'a Value {
    let s = deref(doc, s);
    match s.get("anyOf").and_then(Value::as_array) {
        Some(alts) => alts.iter().find(|a| schema::check(doc, a, v, "$").is_ok()).map_or(s, |a| branch(doc, a, v)),
        None => s,
    }
}

/// The schema of member `k` of an object described by `s` (its properties, else its
/// additional properties, else nothing: an undocumented member).
fn member<'a>(doc: &'a Value, s: &'a Value, k: &str) -> Option<&'a Value> {
    let mut parts = vec![s];
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        parts.extend(all.iter().map(|p| deref(doc, p)));
    }
    parts
        .iter()
        .find_map(|p| p["properties"].get(k))
        .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()))
}

/// A key as a client spelling it differently would still mean it.
fn fold(k: &str) -> String {
    k.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase()
}

/// The JSON type of a value, integers and decimals both `number` (money is written either way).
fn kind(v: &Value) -> &'static str {
    match schema::type_name(v) {
        "integer" => "number",
        t => t,
    }
}

/// Every problem of `v` under `s` (None: undocumented), at `at`; `keys` gathers the member
/// names seen, with where, for the spelled-two-ways check.
fn strict(
    doc: &Value,
    s: Option<&Value>,
    v: &Value,
    at: &str,
    keys: &mut BTreeMap<String, BTreeSet<String>>,
    errs: &mut Vec<String>,
) {
    let s = s.map(|s| branch(doc, s, v));
    match v {
        Value::Null if !s.is_some_and(|s| nullable(doc, s)) => {
            let t = s.and_then(|s| s.get("type")).map_or("undocumented".to_string(), |t| t.to_string());
            errs.push(format!("{at}: null where the documented type is {t} and not nullable"));
        }
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) && !n.is_i64() && !n.is_u64() => {
            errs.push(format!("{at}: whole number written as a float ({n})"));
        }
        Value::Array(items) => {
            let item_schema = s.and_then(|s| s.get("items"));
            let mut types: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for (i, item) in items.iter().enumerate() {
                strict(doc, item_schema, item, &format!("{at}[{i}]"), keys, errs);
                for (k, f) in item.as_object().into_iter().flatten() {
                    if !f.is_null() {
                        types.entry(k).or_default().insert(kind(f));
                    }
                }
            }
            for (k, t) in types.iter().filter(|(_, t)| t.len() > 1) {
                errs.push(format!("{at}[].{k}: one field, several JSON types across rows: {t:?}"));
            }
        }
        Value::Object(m) => {
            let mut folded: BTreeMap<String, &str> = BTreeMap::new();
            for (k, f) in m {
                if let Some(other) = folded.insert(fold(k), k) {
                    if !twins(other, k) {
                        errs.push(format!("{at}: '{other}' and '{k}' in one object"));
                    } else if m.get(other) != Some(f) {
                        errs.push(format!("{at}: twins '{other}' and '{k}' differ"));
                    }
                }
                keys.entry(fold(k)).or_default().insert(k.clone());
                strict(doc, s.and_then(|s| member(doc, s, k)), f, &format!("{at}.{k}"), keys, errs);
            }
        }
        _ => {}
    }
}

/// Every problem of one answer: the document's own check, then the strict rules.
fn problems(doc: &Value, schema_: &Value, v: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    if let Err(e) = schema::check(doc, schema_, v, "$") {
        errs.push(e);
    }
    let mut keys = BTreeMap::new();
    strict(doc, Some(schema_), v, "$", &mut keys, &mut errs);
    for spellings in keys.values().filter(|s| s.len() > 1) {
        // One field spelled two ways in one answer, in different objects.
        let v: Vec<&str> = spellings.iter().map(String::as_str).collect();
        if !(v.len() == 2 && twins(v[0], v[1])) {
            errs.push(format!("one field spelled {spellings:?}"));
        }
    }
    errs
}

/// The only fields written twice on purpose, with the same value under both spellings: slot
/// and battery rows (C5 `batcabs`, C8, C9) carry `pBatteryid` and `pbatteryid`, `pCabinetid`
/// and `pcabinetid`, because production clients read one or the other (docs/fidelity.md).
const TWINS: &[[&str; 2]] = &[["pBatteryid", "pbatteryid"], ["pCabinetid", "pcabinetid"]];

fn twins(a: &str, b: &str) -> bool {
    TWINS.iter().any(|t| (t[0] == a && t[1] == b) || (t[0] == b && t[1] == a))
}

/// One request of the walk.
struct Call {
    method: &'static str,
    template: &'static str,
    url: String,
    body: Option<Value>,
    who: Option<(&'static str, &'static str)>,
    /// Expected `code`: 0 for a success, else the error.
    code: i64,
}

fn ok(method: &'static str, template: &'static str, query: &str) -> Call {
    let path = template.replace("{cabinetId}", DEMO_CAB).replace("{shopid}", "04679963e0").replace("{priceId}", "101");
    Call { method, template, url: format!("{PREFIX}{path}{query}"), body: None, who: Some(DEMO), code: 0 }
}

impl Call {
    fn url(mut self, url: String) -> Self {
        self.url = format!("{PREFIX}{url}");
        self
    }
    fn body(mut self, b: Value) -> Self {
        self.body = Some(b);
        self
    }
    fn fails(mut self, code: i64) -> Self {
        self.code = code;
        self
    }
    fn anonymous(mut self) -> Self {
        self.who = None;
        self.code = 401;
        self
    }
}

/// Send `c`; the problems of its answer against the served document.
async fn walk(app: &TestApp, doc: &Value, c: &Call) -> Vec<String> {
    let mut req = app.client.request(c.method.to_ascii_uppercase().parse().unwrap(), format!("{}{}", app.base, c.url));
    if let Some((u, p)) = c.who {
        req = req.basic_auth(u, Some(p));
    }
    if let Some(b) = &c.body {
        req = req.json(b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let what = format!("{} {} -> {status} {}", c.method, c.url, &text[..text.len().min(300)]);
    let v: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return vec![format!("{what}: not JSON ({e})")],
    };
    let code = v["code"].as_i64().or_else(|| v["code"].as_str().and_then(|s| s.parse().ok()));
    let login = c.template == "/oauth2/login" && c.code == 0;
    if !login && code != Some(c.code) {
        return vec![format!("{what}: expected code {}", c.code)];
    }
    // A string `code` on the successes of S1 and C4 only; an integer everywhere else, their
    // errors included; none on A1's `{key}`.
    let string_code = c.code == 0 && matches!(c.template, "/shop/getShopList" | "/cabinet/getAllDevice");
    let code_ok = if login {
        v.get("code").is_none()
    } else if string_code {
        v["code"] == "0"
    } else {
        v["code"].is_i64()
    };
    if !code_ok {
        return vec![format!("{what}: code of the wrong JSON type")];
    }
    let o = &doc["paths"][format!("{PREFIX}{}", c.template)][c.method];
    let Some(r) = o["responses"].get(status.to_string()).or_else(|| o["responses"].get("default")) else {
        return vec![format!("{what}: status not documented")];
    };
    let s = &deref(doc, r)["content"]["application/json"]["schema"];
    problems(doc, s, &v).into_iter().map(|p| format!("{what}\n    {p}")).collect()
}

#[tokio::test]
async fn every_operation_answers_the_documented_types_without_undocumented_nulls() {
    let app = spawn_app().await;
    let doc: Value = app.client.get(app.sim("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let sink = format!("{}/_sim/ui/sink", app.base);
    let enc = |u: &str| u.replace(':', "%3A").replace('/', "%2F");
    let v = app.control(&format!("/agents/demo/push?pushUrl={}", enc(&format!("{sink}/events")))).await;
    assert_eq!(v["code"], 0, "{v}");
    let cb = enc(&format!("{sink}/cb"));
    let sha = bajie_sim::api::auth::sha256_hex("demo");
    let mut errs = Vec::new();
    let mut seen = BTreeSet::new();

    // Orders in three states for the order operations: in lease, returned, failed.
    let create = |device: &str| ok("post", "/rent/order/create", &format!("?deviceId={device}&callbackURL={cb}"));
    let mut trades = Vec::new();
    for device in [DEMO_CAB, DEMO_CAB, EMPTY_CAB] {
        let (_, v) = app.post(&format!("/rent/order/create?deviceId={device}&callbackURL={cb}")).await;
        trades.push(v["data"]["tradeNo"].as_str().unwrap().to_string());
    }
    app.advance(2).await;
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={}", trades[1])).await;
    let battery = d["data"]["batteryId"].as_str().unwrap().to_string();
    app.advance(600).await;
    app.control(&format!("/cabinets/BJD60152/return?batteryId={battery}")).await;
    let (leased, returned, failed) = (&trades[0], &trades[1], &trades[2]);
    let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={leased}")).await;
    let slot = d["data"]["borrowSlot"].as_i64().unwrap();
    let ad = json!({"cabinetIdList": [EMPTY_CAB], "isRestart": false,
        "adConfigList": [{"code": "P_GG_8_TYPE,0", "mediaType": "image", "mediaPath": "http://127.0.0.1:9/a.png"}]});
    let strategy = json!({"priceId": null, "name": "Hourly", "type": 1, "customType": 0, "depositAmount": 20,
        "timeoutAmount": 25, "timeoutDay": 2, "freeMinutes": 0, "price": 2.5, "priceTime": 1, "priceUnit": 1, "dailyMaxPrice": 12});
    let shop = json!({"pNewid": "f00dcafe01", "pName": "Kiosque", "pJingdu": "2.331", "pWeidu": "48.8719", "pCurrency": "EUR"});
    let o6 = "?coordType=WGS-84&zoomLevel=5&lat=48.8606&lng=2.3376";
    let calls = vec![
        // A1
        ok("post", "/oauth2/login", &format!("?username=demo&password={sha}")).anonymous().fails(0),
        ok("post", "/oauth2/login", "?username=demo&password=00").anonymous(),
        ok("post", "/oauth2/login", "?username=demo").anonymous().fails(1001),
        // O1-O7
        ok("get", "/rent/cabinet/query", &format!("?deviceId={DEMO_CAB}")),
        ok("get", "/rent/cabinet/query", &format!("?deviceId={EMPTY_CAB}")),
        ok("get", "/rent/cabinet/query", &format!("?deviceId={OFFLINE_CAB}")).fails(2004),
        ok("get", "/rent/cabinet/query", &format!("?deviceId={ACME_CAB}")).fails(2002),
        ok("get", "/rent/cabinet/query", &format!("?deviceId={DEMO_CAB}")).anonymous(),
        ok("post", "/rent/cabinet/query", &format!("?deviceId={DEMO_CAB}")),
        ok("post", "/rent/cabinet/query", "").fails(1001),
        ok("post", "/cdb-open-api/v1/rent/cabinet/query", &format!("?deviceId={DEMO_CAB}"))
            .url(format!("{PREFIX}/rent/cabinet/query?deviceId={DEMO_CAB}")),
        create(DEMO_CAB),
        create(OFFLINE_CAB).fails(2004),
        ok("post", "/rent/order/create", "?deviceId=NOPE12345").fails(2002),
        ok("post", "/rent/order/query", &format!("?tradeNo={leased}")),
        ok("post", "/rent/order/query", "?tradeNo=1").fails(2006),
        ok("post", "/rent/order/close", "?tradeNo=1").fails(2006),
        ok("post", "/rent/order/close", "").fails(1001),
        ok("get", "/rent/order/detail", &format!("?tradeNo={leased}")),
        ok("get", "/rent/order/detail", &format!("?tradeNo={returned}")),
        ok("get", "/rent/order/detail", &format!("?tradeNo={failed}")),
        ok("get", "/rent/order/detail", "?tradeNo=1").fails(2006),
        ok("post", "/rent/cabinet/list", o6),
        ok("post", "/rent/cabinet/list", &format!("{o6}&showPrice=false")),
        ok("post", "/rent/cabinet/list", "?coordType=WGS-84&zoomLevel=1&lat=-60&lng=-170"),
        ok("post", "/rent/cabinet/list", "?coordType=WGS-84&zoomLevel=9&lat=1&lng=2").fails(1001),
        // C1-C13
        ok("post", "/cabinet/operation", &format!("?cabinetid={DEMO_CAB}&slotNum=1&operationType=heartbeat&reason=")),
        ok("post", "/cabinet/operation", &format!("?cabinetid={DEMO_CAB}&slotNum=1&operationType=fly&reason="))
            .fails(1001),
        ok("post", "/cabinet/ejectByRepair", &format!("?cabinetid={EMPTY_CAB}&slotNum=0")),
        ok("post", "/cabinet/ejectByRepair", "?cabinetid=BJD60152&slotNum=0"),
        ok("post", "/cabinet/ejectByRepair", &format!("?cabinetid={OFFLINE_CAB}&slotNum=0")).fails(2004),
        ok("post", "/cabinet/ejectByRent", &format!("?cabinetid={DEMO_CAB}&rentOrderId={leased}&slotNum={slot}"))
            .fails(2007),
        ok(
            "post",
            "/cabinet/ejectByRent",
            &format!("?cabinetid={DEMO_CAB}&rentOrderId=26030209000000000077&slotNum=2"),
        )
        .fails(2008),
        ok(
            "post",
            "/cabinet/ejectByRent",
            &format!("?cabinetid={DEMO_CAB}&rentOrderId=26030209000000000077&slotNum=0"),
        ),
        ok("post", "/cabinet/ejectByRent", &format!("?cabinetid={DEMO_CAB}&rentOrderId=26030209000000000077"))
            .fails(1001),
        ok("get", "/cabinet/getAllDevice", ""),
        ok("get", "/cabinet/getAllDevice", "").anonymous(),
        ok("get", "/cabinet/detail/{cabinetId}", ""),
        ok("get", "/cabinet/detail/{cabinetId}", "").url("/cabinet/detail/NOPE12345".into()).fails(2002),
        ok("get", "/cabinet/getDeviceByShopId", "?shopid=04679963e0"),
        ok("get", "/cabinet/getDeviceByShopId", "?shopid=nope").fails(3001),
        ok("get", "/cabinet/getAllDevicePage", "?page=1&limit=5"),
        ok("get", "/cabinet/getAllDevicePage", "?page=x&limit=5").fails(1001),
        ok("get", "/cabinet/batteryListByCabinetId/{cabinetId}", ""),
        ok("get", "/cabinet/batteryListByCabinetId/{cabinetId}", "")
            .url("/cabinet/batteryListByCabinetId/NOPE12345".into())
            .fails(2002),
        ok("get", "/cabinet/slotByCabinetId/{cabinetId}", ""),
        ok("get", "/cabinet/slotByCabinetId/{cabinetId}", "")
            .url(format!("/cabinet/slotByCabinetId/{ACME_CAB}"))
            .fails(2002),
        ok("post", "/cabinet/bind2shop/{qrcode}/{newshopid}", "")
            .url(format!("/cabinet/bind2shop/{EMPTY_CAB}/04679963e0")),
        ok("post", "/cabinet/bind2shop/{qrcode}/{newshopid}", "")
            .url(format!("/cabinet/bind2shop/{EMPTY_CAB}/nope"))
            .fails(3001),
        ok("post", "/cabinet/bindAd", "").body(ad.clone()),
        ok("post", "/cabinet/bindAd", "").body(json!({"cabinetIdList": 7})).fails(1001),
        ok("get", "/cabinet/detail/{cabinetId}", "").url(format!("/cabinet/detail/{EMPTY_CAB}")),
        ok("post", "/cabinet/publishAd", "").body(ad),
        ok("post", "/cabinet/publishAd", "").body(json!([])).fails(1002),
        ok("post", "/cabinet/unbindShop", "").body(json!([EMPTY_CAB])),
        ok("post", "/cabinet/unbindShop", "").body(json!({})).fails(1002),
        // S1-S5
        ok("get", "/shop/getShopList", ""),
        ok("get", "/shop/getShopList", "").anonymous(),
        ok("get", "/shop/detail/{shopid}", ""),
        ok("get", "/shop/detail/{shopid}", "").url("/shop/detail/nope".into()).fails(3001),
        ok("post", "/shop/create", "").body(shop.clone()),
        ok("post", "/shop/create", "").body(shop).fails(3002),
        ok("put", "/shop/update", "")
            .body(json!({"pNewid": "f00dcafe01", "pName": "Kiosque Garnier", "pJingdu": "2.3316", "pWeidu": "48.872"})),
        ok("put", "/shop/update", "").body(json!({"pNewid": "f00dcafe01"})).fails(1001),
        // P1-P6
        ok("post", "/shop/priceStrategy/page", "").body(json!({"size": 10, "current": 1})),
        ok("post", "/shop/priceStrategy/page", "").body(json!({"size": "x"})).fails(1001),
        ok("get", "/shop/priceStrategy/detail/{priceId}", ""),
        ok("get", "/shop/priceStrategy/detail/{priceId}", "")
            .url("/shop/priceStrategy/detail/999999".into())
            .fails(3101),
        ok("post", "/shop/priceStrategy/saveOrUpdate", "").body(strategy),
        ok("post", "/shop/priceStrategy/saveOrUpdate", "").body(json!({"name": "x"})).fails(1001),
        ok("post", "/shop/priceStrategy/bindShop", "")
            .body(json!({"shopId": "f00dcafe01", "priceId": 102, "customType": 0})),
        ok("post", "/shop/priceStrategy/bindShop", "")
            .body(json!({"shopId": "f00dcafe01", "priceId": 999999, "customType": 0}))
            .fails(3101),
        ok("post", "/shop/priceStrategy/unbindShop", "").body(json!({"shopId": "f00dcafe01", "customType": 0})),
        ok("post", "/shop/priceStrategy/unbindShop", "").body(json!({"shopId": "nope", "customType": 0})).fails(3001),
        ok("post", "/shop/priceStrategy/delete", "").body(json!([999_999])).fails(3101),
        ok("delete", "/shop/delete/{shopid}", "").url("/shop/delete/f00dcafe01".into()),
        ok("delete", "/shop/delete/{shopid}", "").url("/shop/delete/04679963e0".into()).fails(3003),
        // R1, E1, E2
        ok("get", "/order/list", "?page=1&limit=10&dataLevel=3"),
        ok("get", "/order/list", "?page=0&limit=10").fails(1001),
        ok("get", "/cabinet/eventPush/config/get", ""),
        ok("get", "/cabinet/eventPush/config/get", "").anonymous(),
        ok("post", "/cabinet/eventPush/config", "").body(json!({"pushUrl": format!("{sink}/events"),
            "eventSubscriptions": [{"event": "BATTERY_IN", "pushUrl": "", "enable": true}]})),
        ok("post", "/cabinet/eventPush/config", "").body(json!({"pushUrl": 7})).fails(1002),
    ];
    for c in &calls {
        seen.insert((c.method, c.template));
        errs.extend(walk(&app, &doc, c).await);
    }
    // P4 with a strategy of its own (the one saveOrUpdate made), then the cabinet's order list
    // with every record type.
    let page = app.post_json_as(DEMO, "/shop/priceStrategy/page", &json!({"size": 100, "current": 1})).await.1;
    let made =
        page["data"]["records"].as_array().unwrap().iter().map(|r| r["priceId"].as_i64().unwrap()).max().unwrap();
    errs.extend(walk(&app, &doc, &ok("post", "/shop/priceStrategy/delete", "").body(json!([made]))).await);

    // Every operation of the document's platform paths was walked.
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(template) = path.strip_prefix(PREFIX) else { continue };
        for method in item.as_object().unwrap().keys() {
            let known = seen.iter().any(|(m, t)| *m == method && *t == template)
                || (template == "/shop/priceStrategy/delete" && method == "post");
            let alias = matches!(
                (method.as_str(), template),
                ("get", "/rent/order/query")
                    | ("get", "/cdb-open-api/v1/rent/cabinet/query")
                    | ("post", "/rent/order/detail")
                    | ("get", "/rent/cabinet/list")
                    | ("get", "/cabinet/unbindShop")
                    | ("post", "/shop/update")
                    | ("post", "/shop/delete/{shopid}")
                    | ("post", "/shop/delete")
                    | ("delete", "/shop/delete")
            );
            assert!(known || alias, "{method} {template} is not walked");
        }
    }

    // What the walk made the platform send: event pushes against E3's schema, callbacks as
    // documented (form-encoded status and tradeNo).
    let push_schema = &doc["paths"][format!("{PREFIX}/cabinet/eventPush/config")]["post"]["callbacks"]
        ["cabinetEventPush"]["{$request.body#/pushUrl}"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    let journal = app.control_get("/pushes").await;
    let mut events = BTreeSet::new();
    for r in journal["data"]["records"].as_array().unwrap() {
        let body = r["body"].as_str().unwrap();
        if r["kind"] == "event" {
            let v: Value = serde_json::from_str(body).unwrap();
            events.insert(v["event"].as_str().unwrap().to_string());
            errs.extend(problems(&doc, push_schema, &v).into_iter().map(|p| format!("push {body}\n    {p}")));
        } else {
            let form: BTreeMap<String, String> = serde_urlencoded::from_str(body).unwrap();
            let fine = form.len() == 2
                && ["0", "1", "2"].contains(&form["status"].as_str())
                && form["tradeNo"].len() == 20
                && form["tradeNo"].bytes().all(|b| b.is_ascii_digit());
            if !fine {
                errs.push(format!("callback {body}: not status=0|1|2&tradeNo=<20 digits>"));
            }
        }
    }
    assert!(errs.is_empty(), "{} type problem(s):\n{}", errs.len(), errs.join("\n"));
    for e in ["BATTERY_BORROW_OUT", "BATTERY_IN", "ADMIN_RENTAL_ORDER", "BATTERY_POPUP", "CABINET_STATUS"] {
        assert!(events.contains(e), "the walk pushed no {e}: {events:?}");
    }
}

#[test]
fn the_strict_rules_catch_nulls_floats_spellings_and_mixed_rows() {
    let doc = json!({"components": {"schemas": {}}});
    let s = json!({"type": "object", "properties": {
        "a": {"type": "string"}, "b": {"type": "string", "nullable": true}, "n": {"type": "number"},
        "rows": {"type": "array", "items": {"type": "object"}}}, "additionalProperties": true});
    let p = |v: Value| problems(&doc, &s, &v);
    assert!(p(json!({"a": "x", "b": null, "n": 30, "rows": [{"k": 1}, {"k": 2.5}]})).is_empty());
    assert_eq!(p(json!({"a": null})).len(), 2, "null in a string, and the type check");
    assert_eq!(p(json!({"extra": null})).len(), 1, "null in an undocumented field");
    assert_eq!(p(json!({"n": 30.0})).len(), 1, "30.0");
    assert_eq!(p(json!({"shopId": "1", "shopid": "1"})).len(), 2, "one object, and one answer");
    assert_eq!(p(json!({"rows": [{"shopId": "1"}, {"shop_id": "1"}]})).len(), 1, "one answer");
    assert_eq!(p(json!({"rows": [{"k": 1}, {"k": "1"}]})).len(), 1, "mixed types across rows");
    assert!(p(json!({"rows": [{"pBatteryid": "B", "pbatteryid": "B"}]})).is_empty(), "documented twins");
    assert_eq!(p(json!({"rows": [{"pBatteryid": "B", "pbatteryid": "C"}]})).len(), 1, "twins that differ");
}
