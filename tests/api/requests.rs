//! The request journal (`/_sim/requests`), contract warnings (`X-Sim-Warnings`, `--strict`)
//! and the integration report (`/_sim/report`), as a client's test would use them: drive the
//! platform API, then assert on what was sent and on what production would treat differently.

use crate::helpers::*;
use bajie_sim::config::Config;
use serde_json::Value;
use std::time::Duration;

/// Send a platform request as demo; (HTTP status, `X-Sim-Warnings`, body).
async fn send(app: &TestApp, method: &str, path: &str, body: Option<(&str, &str)>) -> (u16, Option<String>, Value) {
    let mut req = app.client.request(method.parse().unwrap(), app.api(path)).basic_auth("demo", Some("demo"));
    if let Some((ctype, b)) = body {
        req = req.header("content-type", ctype).body(b.to_string());
    }
    let r = req.send().await.unwrap();
    let warnings = r.headers().get("x-sim-warnings").map(|v| v.to_str().unwrap().to_string());
    let (status, v) = read(r).await;
    (status, warnings, v)
}

#[tokio::test]
async fn a_documented_client_leaves_a_journal_without_warnings() {
    let app = spawn_app().await;
    let cb = urlencode(&format!("{}/_sim/ui/sink/cb?rental=42&token=abc", app.base));
    let (_, w, v) = send(&app, "POST", &format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL={cb}"), None).await;
    assert_eq!((w, &v["code"]), (None, &Value::from(0)), "{v}");
    let trade = v["data"]["tradeNo"].as_str().unwrap().to_string();
    let (_, w, _) = send(&app, "GET", &format!("/rent/order/detail?tradeNo={trade}"), None).await;
    assert_eq!(w, None);

    // Newest first, with the answer, the account, the cabinet and the order.
    let v = app.control_get("/requests").await;
    assert_eq!(v["code"], 0, "{v}");
    let records = v["data"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["op"], "O5");
    let create = &records[1];
    assert_eq!(create["op"], "O2");
    assert_eq!(create["method"], "POST");
    assert_eq!(create["account"], "demo");
    assert_eq!(create["cabinet"], DEMO_CAB);
    assert_eq!(create["order"], trade.as_str(), "O2's entry names the new order");
    assert_eq!(create["response"]["httpStatus"], 200);
    assert_eq!(create["response"]["code"], 0);
    assert_eq!(create["warnings"], serde_json::json!([]));
    let auth = create["headers"].as_array().unwrap().iter().find(|h| h["name"] == "authorization").unwrap();
    assert_eq!(auth["value"], "Basic demo", "the scheme and the account, never the secret");
    assert!(!create.to_string().contains("ZGVtbzpkZW1v"), "the encoded credentials are nowhere");
    assert!(uuid_like(create["id"].as_str().unwrap()));

    // One entry by id; counts and filters.
    let one = app.control_get(&format!("/requests/{}", create["id"].as_str().unwrap())).await;
    assert_eq!(one["data"]["seq"], create["seq"]);
    assert_eq!(app.control_get("/requests/count?warned=true").await["data"]["count"], 0);
    assert_eq!(app.control_get(&format!("/requests/count?order={trade}")).await["data"]["count"], 2);
    assert_eq!(app.control_get("/requests/count?op=O2&code=0&agent=demo").await["data"]["count"], 1);
    let since = app.control_get(&format!("/requests?since={}", create["id"].as_str().unwrap())).await;
    assert_eq!(since["data"]["total"], 1, "since an id: the entries after it");
    // The assertion a client's test ends with: nothing production would treat differently.
    let report = app.control_get("/report").await;
    assert_eq!(report["data"]["warningCount"], 0, "{report}");
}

/// (method, path, body as (content type, text), the one warning expected).
type Case<'a> = (&'a str, String, Option<(&'a str, &'a str)>, &'a str);

#[tokio::test]
async fn each_tolerance_is_named_in_the_header_and_the_entry() {
    let app = spawn_app().await;
    let cb = format!("{}/_sim/ui/sink/cb", app.base);
    let cases: Vec<Case> = vec![
        ("POST", format!("/cabinet/ejectByRent?cabinetId={DEMO_CAB}&rentOrderId=&slotNum=0"), None, "PARAM_SPELLING"),
        (
            "GET",
            "/rent/cabinet/query".into(),
            Some(("application/x-www-form-urlencoded", "deviceId=BJD60151")),
            "BODY_PARAMS",
        ),
        (
            "GET",
            format!("/rent/cabinet/query?deviceId={DEMO_CAB}"),
            Some(("application/json", "")),
            "JSON_WITHOUT_BODY",
        ),
        ("GET", format!("/rent/cabinet/query?deviceId={DEMO_CAB}&deviceid=x"), None, "UNKNOWN_PARAM"),
        // A misspelt member of a JSON body (E1 then saves no subscription at all).
        (
            "POST",
            "/cabinet/eventPush/config".into(),
            Some(("application/json", r#"{"pushUrl":"http://127.0.0.1:9/h","subscriptions":[]}"#)),
            "UNKNOWN_PARAM",
        ),
        ("GET", "/cabinet/info".into(), None, "UNKNOWN_ENDPOINT"),
        ("POST", format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL={cb}"), None, "CALLBACK_URL_NOT_ENCODED"),
        ("POST", "/rent/order/create?deviceId=BJD60152".into(), None, "NO_CALLBACK_URL"),
        ("POST", "/shop/delete?newID=0000000000".into(), None, "UNDOCUMENTED_PATH"),
    ];
    for (method, path, body, code) in &cases {
        let (_, w, v) = send(&app, method, path, *body).await;
        assert_eq!(w.as_deref(), Some(*code), "{method} {path}: {v}");
    }
    // GET where the docs say POST; another account's order; a second eject.
    let (_, w, v) = send(&app, "POST", &format!("/rent/order/create?deviceId={DEMO_CAB}"), None).await;
    let trade = v["data"]["tradeNo"].as_str().unwrap().to_string();
    assert_eq!(w.as_deref(), Some("NO_CALLBACK_URL"));
    let (_, w, _) = send(&app, "GET", &format!("/rent/order/query?tradeNo={trade}"), None).await;
    assert_eq!(w.as_deref(), Some("UNDOCUMENTED_METHOD"));
    let eject = format!("/cabinet/ejectByRent?cabinetid={DEMO_CAB}&rentOrderId={trade}&slotNum=0");
    let (_, w, v) = send(&app, "POST", &eject, None).await;
    assert_eq!((w, &v["code"]), (None, &Value::from(0)), "the first eject is fine: {v}");
    let (_, w, v) = send(&app, "POST", &eject, None).await;
    assert_eq!(w.as_deref(), Some("SECOND_EJECT"), "{v}");
    let r = app.client.post(app.api(&format!("/rent/order/close?tradeNo={trade}"))).basic_auth("acme", Some("acme"));
    let r = r.send().await.unwrap();
    assert_eq!(r.headers().get("x-sim-warnings").unwrap(), "FOREIGN_RECORD");

    // Every warning is in its entry with a message and the documented alternative.
    let v = app.control_get("/requests?warned=true&limit=100").await;
    let mut seen: Vec<String> = Vec::new();
    for e in v["data"]["records"].as_array().unwrap() {
        for w in e["warnings"].as_array().unwrap() {
            assert!(!w["message"].as_str().unwrap().is_empty() && !w["alternative"].as_str().unwrap().is_empty());
            seen.push(w["code"].as_str().unwrap().to_string());
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 11, "{seen:?}");
    let acme = app.control_get("/requests?agent=acme").await;
    assert_eq!(acme["data"]["records"][0]["warnings"][0]["code"], "FOREIGN_RECORD");
    assert_eq!(app.control_get("/requests/count?warning=SECOND_EJECT").await["data"]["count"], 1);

    // The report counts them per operation, and a reset empties the journal.
    let report = app.control_get("/report").await["data"].clone();
    assert_eq!(report["warnings"]["NO_CALLBACK_URL"], 2, "{report}");
    let c3 = report["operations"].as_array().unwrap().iter().find(|o| o["op"] == "C3").unwrap();
    assert_eq!(c3["calls"], 3);
    assert_eq!(app.control("/reset").await["code"], 0);
    assert_eq!(app.control_get("/requests/count").await["data"]["count"], 0);
}

#[tokio::test]
async fn strict_answers_what_production_would() {
    let app = spawn_with(Config { strict: true, ..Config::for_tests() }).await;
    let (s, w, v) =
        send(&app, "POST", &format!("/cabinet/ejectByRent?cabinetId={DEMO_CAB}&rentOrderId=&slotNum=0"), None).await;
    assert_eq!((s, w.as_deref()), (200, Some("PARAM_SPELLING")));
    assert_eq!(v, serde_json::json!({"msg": "Required parameter 'cabinetid' is missing.", "code": 1001}));
    let (s, _, v) = send(&app, "GET", "/rent/order/query?tradeNo=1", None).await;
    assert_eq!((s, &v["code"]), (405, &Value::from(405)));
    let (_, _, v) =
        send(&app, "GET", "/rent/cabinet/query", Some(("application/x-www-form-urlencoded", "deviceId=BJD60151")))
            .await;
    assert_eq!(v["msg"], "Required parameter 'deviceId' is missing.", "the body is not read: {v}");
    let (_, _, v) = send(&app, "POST", &format!("/rent/order/create?deviceId={DEMO_CAB}"), None).await;
    assert_eq!(v["msg"], "Required parameter 'callbackURL' is missing.");
    let (_, w, v) = send(&app, "GET", &format!("/rent/cabinet/query?deviceId={DEMO_CAB}&x=1"), None).await;
    assert_eq!((w.as_deref(), &v["code"]), (Some("UNKNOWN_PARAM"), &Value::from(0)), "ignored, as production does");
    let e = app.control_get("/requests?limit=1&op=O2").await;
    assert_eq!(e["data"]["records"][0]["strict"], true);
}

#[tokio::test]
async fn wait_counts_and_times_out_like_the_push_journal() {
    let app = spawn_app().await;
    let waiter = {
        let (client, url) = (app.client.clone(), app.sim("/requests/wait?op=O1&count=2&timeoutMs=10000"));
        tokio::spawn(async move { read(client.get(url).send().await.unwrap()).await.1 })
    };
    for _ in 0..2 {
        app.device(DEMO, DEMO_CAB).await;
    }
    let v = tokio::time::timeout(Duration::from_secs(20), waiter).await.unwrap().unwrap();
    assert_eq!((&v["code"], &v["data"]["total"]), (&Value::from(0), &Value::from(2)), "{v}");
    let v = app.control_get("/requests/wait?op=O2&count=1&timeoutMs=50").await;
    assert_eq!(v["code"], 9001, "{v}");
    assert_eq!(app.client.delete(app.sim("/requests")).send().await.unwrap().status(), 200);
    assert_eq!(app.control_get("/requests/count").await["data"]["count"], 0);
}

#[tokio::test]
async fn bad_filters_are_refused_naming_the_parameter_and_reads_change_nothing() {
    let app = spawn_app().await;
    let before = app.control_get("/state").await;
    for (query, name) in [
        ("op=Z9", "op"),
        ("code=abc", "code"),
        ("warned=perhaps", "warned"),
        ("since=yesterday", "since"),
        ("since=00000000-0000-4000-8000-000000000000", "since"),
        ("limit=0", "limit"),
        ("method=G%20T", "method"),
        ("warning=NOPE", "warning"),
    ] {
        let v = app.control_get(&format!("/requests?{query}")).await;
        assert_eq!(v["code"], 1001, "{query}: {v}");
        assert!(v["msg"].as_str().unwrap().contains(&format!("'{name}'")), "{query}: {v}");
    }
    assert_eq!(app.control_get("/requests/nope").await["code"], 9001);
    // Journaling, listing and the report draw nothing from the world's generator.
    app.device(DEMO, DEMO_CAB).await;
    app.control_get("/requests").await;
    app.control_get("/report").await;
    assert_eq!(app.control_get("/state").await, before);
}

#[tokio::test]
async fn entries_stay_within_their_caps_and_the_journal_can_be_off() {
    let app = spawn_with(Config { request_journal: 3, ..Config::for_tests() }).await;
    let big = "a=".to_string() + &"x".repeat(200_000);
    let (_, w, _) = send(&app, "POST", "/rent/cabinet/list", Some(("application/x-www-form-urlencoded", &big))).await;
    assert_eq!(w.as_deref(), Some("BODY_PARAMS,UNKNOWN_PARAM"));
    let e = app.control_get("/requests?limit=1").await["data"]["records"][0].clone();
    assert_eq!(e["bodyBytes"], 200_002);
    assert_eq!(e["bodyTruncated"], true);
    assert!(e["body"].as_str().unwrap().len() <= 2048);
    for _ in 0..5 {
        app.device(DEMO, DEMO_CAB).await;
    }
    assert_eq!(app.control_get("/requests/count").await["data"]["count"], 3, "a ring of 3");
    let report = app.control_get("/report").await;
    assert_eq!(report["data"]["calls"], 6, "the report counts beyond the ring");

    let off = spawn_with(Config { request_journal: 0, ..Config::for_tests() }).await;
    let (_, w, _) = send(&off, "GET", &format!("/rent/cabinet/query?deviceId={DEMO_CAB}&x=1"), None).await;
    assert_eq!(w.as_deref(), Some("UNKNOWN_PARAM"), "warnings do not need the journal");
    let v = off.control_get("/requests").await;
    assert_eq!((&v["data"]["total"], &v["data"]["enabled"]), (&Value::from(0), &Value::from(false)));
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn an_entry_written_where_an_evicted_one_was_shows_nothing_of_it() {
    // A ring of one: each request's entry reuses the buffer of the one it evicts.
    let app = spawn_with(Config { request_journal: 1, ..Config::for_tests() }).await;
    let r = app
        .client
        .post(app.api("/rent/cabinet/query?extra=1"))
        .basic_auth("demo", Some("demo"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-long", "v".repeat(1000))
        .body(format!("deviceId={DEMO_CAB}"))
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("x-sim-warnings"));
    let first = app.control_get("/requests").await["data"]["records"][0].clone();
    assert_eq!(first["body"], format!("deviceId={DEMO_CAB}"));
    let long = first["headers"].as_array().unwrap().iter().find(|h| h["name"] == "x-long").unwrap();
    assert_eq!(long["value"].as_str().unwrap().len(), 256, "a header value is capped");
    for _ in 0..3 {
        app.device(DEMO, DEMO_CAB).await;
    }
    let v = app.control_get("/requests").await;
    assert_eq!(v["data"]["total"], 1, "{v}");
    let e = &v["data"]["records"][0];
    assert_eq!(
        (&e["op"], &e["method"], &e["query"]),
        (&Value::from("O1"), &Value::from("GET"), &Value::from(format!("deviceId={DEMO_CAB}")))
    );
    assert_eq!(
        (&e["body"], &e["bodyBytes"], &e["bodyTruncated"]),
        (&Value::Null, &Value::from(0), &Value::from(false))
    );
    assert_eq!(e["warnings"], serde_json::json!([]));
    assert_eq!(e["cabinet"], DEMO_CAB);
    assert_eq!(e["seq"].as_u64().unwrap(), first["seq"].as_u64().unwrap() + 3);
    let names: Vec<&str> = e["headers"].as_array().unwrap().iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert!(!names.contains(&"x-long") && !names.contains(&"content-type"), "{names:?}");
    assert_eq!(app.control_get(&format!("/requests/{}", e["id"].as_str().unwrap())).await["data"]["seq"], e["seq"]);
    let gone = app.control_get(&format!("/requests/{}", first["id"].as_str().unwrap())).await;
    assert_ne!(gone["code"], 0, "the evicted entry's id names nothing: {gone}");
}

#[tokio::test]
async fn the_journal_names_the_account_of_any_basic_header_and_no_secret() {
    use base64::Engine;
    let app = spawn_app().await;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    // A name longer than the journal's decoding buffer, a name with no password separator,
    // and text that is not base64.
    let long = "n".repeat(400);
    for header in
        [format!("Basic {}", b64(&format!("{long}:pw"))), format!("Basic {}", b64("nocolon")), "Basic !!!".into()]
    {
        let r = app
            .client
            .get(app.api(&format!("/rent/cabinet/query?deviceId={DEMO_CAB}")))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let v = app.control_get("/requests").await;
    let records = v["data"]["records"].as_array().unwrap();
    assert_eq!(records.len(), 3, "{v}");
    let shown = |r: &Value| {
        let auth = r["headers"].as_array().unwrap().iter().find(|h| h["name"] == "authorization").unwrap();
        (r["account"].as_str().map(str::to_string), auth["value"].as_str().unwrap().to_string())
    };
    let (account, value) = shown(&records[2]);
    // Decoded past the journal's buffer, and shown up to the account part's cap.
    let account = account.expect("a long name is read");
    assert!(account.len() >= 200 && long.starts_with(&account), "{account}");
    assert!(value.starts_with("Basic nnnn"), "{value}");
    for r in &records[..2] {
        let (account, value) = shown(r);
        assert_eq!(account, None, "{r}");
        assert!(!value.contains("nocolon") && !value.contains("!!!"), "{value}");
    }
    assert!(!v.to_string().contains(":pw"), "no password anywhere");
}

/// One client after another on one server: the account each request's Basic header names,
/// whatever the header before it named (the journal remembers the last header it decoded).
#[tokio::test]
async fn each_entry_names_its_own_requests_account_whatever_came_before() {
    use base64::Engine;
    let app = spawn_app().await;
    let b64 = |s: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(s));
    let long = "n".repeat(400);
    let sent: Vec<(String, Option<&str>)> = vec![
        (b64("demo:demo"), Some("demo")),
        ("Basic !!!".into(), None),
        (b64("demo:demo"), Some("demo")),
        (b64("other:pw"), Some("other")),
        (b64("other:pw"), Some("other")),
        (b64("nocolon"), None),
        (b64("nocolon"), None),
        ("Basic ".into(), None),
        (b64("demo:wrong"), Some("demo")),
        (b64(&format!("{long}:pw")), Some(long.as_str())),
        ("Basic ".into(), None),
        (b64("demo:demo"), Some("demo")),
    ];
    for (header, _) in &sent {
        app.client
            .get(app.api(&format!("/rent/cabinet/query?deviceId={DEMO_CAB}")))
            .header("authorization", header.as_str())
            .send()
            .await
            .unwrap();
    }
    let v = app.control_get("/requests?limit=100").await;
    let records = v["data"]["records"].as_array().unwrap();
    assert_eq!(records.len(), sent.len(), "{v}");
    for ((header, want), r) in sent.iter().zip(records.iter().rev()) {
        let got = r["account"].as_str();
        match want {
            Some(w) if w.len() > 200 => assert!(got.is_some_and(|g| g.len() >= 200 && w.starts_with(g)), "{header}"),
            _ => assert_eq!(got, *want, "{header}: {r}"),
        }
    }
}

/// Every platform path answers the methods it is served on, and every other method with the
/// platform's 404 envelope, never actix's `405` page: a path is one resource whatever its
/// methods (`api::route::resource`), with the envelope as its fallback.
#[tokio::test]
async fn every_path_answers_its_methods_and_any_other_with_the_404_envelope() {
    let app = spawn_app().await;
    for op in bajie_sim::api::all_operations() {
        // A template's parameters as literal segments: the route is found, the id is not.
        let path = op.path.replace(['{', '}'], "");
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let (status, _, v) = send(&app, method, &path, None).await;
            let what = format!("{} {method} {path}: {status} {v}", op.id);
            let no_endpoint = v["msg"].as_str().is_some_and(|m| m.starts_with("No endpoint"));
            if op.methods.iter().any(|m| m.as_str().eq_ignore_ascii_case(method)) {
                assert!(!no_endpoint, "served, yet {what}");
            } else {
                assert!(no_endpoint && status == 404 && v["code"] == 404, "{what}");
            }
        }
    }
}
