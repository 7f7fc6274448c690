//! Event push (issue: subscriptions, all nine events, reliable delivery): E1/E2, the body of
//! every event the simulator produces, per-event routing, retries, the journal, isolation of
//! slow receivers, resend and shutdown.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(5);

/// E2 as raw text (to see the key order) and as JSON.
async fn get_config(app: &TestApp, who: (&str, &str)) -> (String, Value) {
    let r = app.client.get(app.api("/cabinet/eventPush/config/get")).basic_auth(who.0, Some(who.1)).send().await;
    let text = r.unwrap().text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap();
    (text, v)
}

fn event_is(name: &'static str) -> impl Fn(&Received) -> bool {
    move |r: &Received| r.json()["event"] == name
}

/// The slot and id of the highest battery of `cab` (O1).
async fn battery_in_slot(app: &TestApp, cab: &str, slot: u64) -> String {
    let v = app.device(DEMO, cab).await;
    let b = v["data"]["batteries"].as_array().unwrap().iter().find(|b| b["slotNum"] == slot).cloned();
    b.unwrap_or_else(|| panic!("no battery in {cab} slot {slot}: {v}"))["batteryId"].as_str().unwrap().to_string()
}

/// The port the cabinet's connection comes from (seeded): read from a CABINET_STATUS push.
fn client_port(r: &Received) -> String {
    let p = r.json()["eventData"]["clientPort"].as_str().expect("clientPort is a string").to_string();
    assert!(p.parse::<u16>().is_ok(), "clientPort {p} is a port number");
    p
}

// ----- E1 / E2 ---------------------------------------------------------------------------

#[tokio::test]
async fn e2_answers_an_empty_config_before_anything_is_configured() {
    let app = spawn_app().await;
    let (text, _) = get_config(&app, DEMO).await;
    assert_eq!(text, r#"{"code":0,"msg":"Successful operation","data":{"pushUrl":"","eventSubscriptions":[]}}"#);
}

#[tokio::test]
async fn e1_saves_the_documented_example_and_e2_returns_it_code_first() {
    let app = spawn_app().await;
    let body = json!({"pushUrl":"https://receiving.push.com/event","eventSubscriptions":[
        {"event":"CABINET_ONLINE","pushUrl":"","enable":true},{"event":"CABINET_OFFLINE","pushUrl":"","enable":true},
        {"event":"CABINET_STATUS","pushUrl":"","enable":true},{"event":"BATTERY_IN","pushUrl":"","enable":true},
        {"event":"BATTERY_BORROW_OUT","pushUrl":"","enable":true},{"event":"BATTERY_ABNORMAL_WARNING","pushUrl":"","enable":true},
        {"event":"BATTERY_POPUP","pushUrl":"","enable":true},{"event":"POS_INFO_STATUS","pushUrl":"","enable":true}]});
    let (status, v) = app.post_json_as(DEMO, "/cabinet/eventPush/config", &body).await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({"msg":"Successful operation","code":0,"data": body}));
    let (text, v) = get_config(&app, DEMO).await;
    assert!(text.starts_with(r#"{"code":0,"msg":"Successful operation","data":{"pushUrl":"#), "{text}");
    assert_eq!(v["data"], body);
    // A per-event URL and a disabled event are kept as given; E1 replaces the whole config.
    let body = json!({"pushUrl":"http://127.0.0.1:9/all","eventSubscriptions":[
        {"event":"BATTERY_IN","pushUrl":"http://127.0.0.1:9/in","enable":true},
        {"event":"ADMIN_RENTAL_ORDER","pushUrl":"","enable":false}]});
    let (_, v) = app.post_json_as(DEMO, "/cabinet/eventPush/config", &body).await;
    assert_eq!(v["data"], body);
    assert_eq!(get_config(&app, DEMO).await.1["data"], body);
}

#[tokio::test]
async fn e1_refuses_bad_configs_with_a_clear_message_and_keeps_the_old_one() {
    let app = spawn_app().await;
    let good = json!({"pushUrl":"http://127.0.0.1:9/hook","eventSubscriptions":[{"event":"BATTERY_IN","pushUrl":"","enable":true}]});
    app.post_json_as(DEMO, "/cabinet/eventPush/config", &good).await;
    let sub = |e: Value| json!({"pushUrl":"http://127.0.0.1:9/hook","eventSubscriptions":[e]});
    let cases: Vec<(&str, String, &str)> = vec![
        ("missing pushUrl", json!({"eventSubscriptions":[]}).to_string(), "pushUrl is required"),
        ("blank pushUrl", json!({"pushUrl":" "}).to_string(), "pushUrl is required"),
        ("relative pushUrl", json!({"pushUrl":"/hook"}).to_string(), "is not an absolute URL"),
        ("not a URL", json!({"pushUrl":"receiving push com"}).to_string(), "is not an absolute URL"),
        ("ftp pushUrl", json!({"pushUrl":"ftp://h/x"}).to_string(), "only http and https"),
        ("pushUrl a number", json!({"pushUrl":42}).to_string(), "pushUrl: expected a string, got a number"),
        ("malformed JSON", r#"{"pushUrl":"http://h/""#.to_string(), "malformed JSON"),
        ("empty body", String::new(), "empty body"),
        ("an array", "[]".to_string(), "expected a JSON object"),
        (
            "unknown event",
            sub(json!({"event":"BATTERY_RETURN","pushUrl":"","enable":true})).to_string(),
            "eventSubscriptions[0].event 'BATTERY_RETURN' is not an event name",
        ),
        (
            "lower-case event",
            sub(json!({"event":"battery_in","pushUrl":"","enable":true})).to_string(),
            "is not an event name",
        ),
        (
            "bad per-event URL",
            sub(json!({"event":"BATTERY_IN","pushUrl":"javascript:alert(1)","enable":true})).to_string(),
            "eventSubscriptions[0].pushUrl: only http and https",
        ),
        ("missing enable", sub(json!({"event":"BATTERY_IN"})).to_string(), "eventSubscriptions[0].enable is required"),
        (
            "subscriptions not a list",
            json!({"pushUrl":"http://h/","eventSubscriptions":{}}).to_string(),
            "eventSubscriptions: expected an array, got an object",
        ),
        (
            "duplicate event",
            json!({"pushUrl":"http://h/","eventSubscriptions":[
                {"event":"BATTERY_IN","enable":true},{"event":"BATTERY_IN","enable":false}]})
            .to_string(),
            "eventSubscriptions[1].event BATTERY_IN is listed twice",
        ),
    ];
    for (what, body, msg) in cases {
        let r = app
            .client
            .post(app.api("/cabinet/eventPush/config"))
            .basic_auth("demo", Some("demo"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, v) = read(r).await;
        assert_eq!(status, 200, "{what}");
        assert_eq!(v["code"], 1002, "{what}: {v}");
        assert!(v["msg"].as_str().unwrap().contains(msg), "{what}: {v}");
        assert!(v.get("data").is_none(), "{what}: a business error has no data key: {v}");
        assert_eq!(get_config(&app, DEMO).await.1["data"], good, "{what} changed the config");
    }
    let r = app.client.post(app.api("/cabinet/eventPush/config")).json(&good).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn demo_and_acme_configs_and_pushes_never_mix() {
    let app = spawn_app().await;
    let (demo_sink, acme_sink) = (Sink::start().await, Sink::start().await);
    app.subscribe_all(DEMO, &demo_sink.url).await;
    assert_eq!(get_config(&app, ACME).await.1["data"], json!({"pushUrl":"","eventSubscriptions":[]}));
    app.subscribe_all(ACME, &format!("{}/acme", acme_sink.url)).await;
    assert_eq!(get_config(&app, DEMO).await.1["data"]["pushUrl"], demo_sink.url);
    assert_eq!(get_config(&app, ACME).await.1["data"]["pushUrl"], format!("{}/acme", acme_sink.url));

    app.control(&format!("/cabinets/{ACME_CAB}/offline")).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await;
    let a = acme_sink.wait_for(1, event_is("CABINET_OFFLINE"), WAIT).await;
    let d = demo_sink.wait_for(1, event_is("CABINET_OFFLINE"), WAIT).await;
    assert_eq!(
        (a[0].json()["agentAccount"].clone(), a[0].json()["eventData"]["cabinetId"].clone()),
        (json!("acme"), json!(ACME_CAB))
    );
    assert_eq!(
        (d[0].json()["agentAccount"].clone(), d[0].json()["eventData"]["cabinetId"].clone()),
        (json!("demo"), json!(DEMO_CAB))
    );
    app.wait_pushes("", 2).await;
    assert_eq!(acme_sink.received().len(), 1);
    assert_eq!(demo_sink.received().len(), 1);
    assert_eq!(app.pushes("agent=acme").await.len(), 1);
}

// ----- the body of every event -----------------------------------------------------------

#[tokio::test]
async fn a_rental_pushes_borrow_out_and_battery_in_with_the_documented_bodies_and_calls_back() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &format!("{}/events", sink.url)).await;
    let battery = battery_in_slot(&app, DEMO_CAB, 5).await;
    let t = app.create_order(DEMO, DEMO_CAB, &format!("{}/cb", sink.url)).await;
    let (_, v) = app.post(&format!("/cabinet/ejectByRent?cabinetid={DEMO_CAB}&rentOrderId={t}&slotNum=5")).await;
    assert_eq!(v["code"], 0, "{v}");
    let got = sink.wait_for(1, event_is("BATTERY_BORROW_OUT"), WAIT).await;
    assert_eq!(got[0].path, "/events");
    assert_eq!(got[0].content_type, "application/json");
    assert_eq!(
        got[0].body,
        format!(
            r#"{{"agentAccount":"demo","event":"BATTERY_BORROW_OUT","eventData":{{"cabinetId":"{DEMO_CAB}","faultCause":"","faultType":0,"orderId":"{t}","outBatteryId":"{battery}","outSlot":5}},"timestamp":"2026-03-02T09:00:00"}}"#
        )
    );

    app.advance(90 * 60).await;
    let v = app.control(&format!("/cabinets/{DEMO_CAB}/return?batteryId={battery}&slot=2")).await;
    assert_eq!(v["code"], 0, "{v}");
    let got = sink.wait_for(1, event_is("BATTERY_IN"), WAIT).await;
    assert_eq!(
        got[0].body,
        format!(
            r#"{{"agentAccount":"demo","event":"BATTERY_IN","eventData":{{"cabinetId":"{DEMO_CAB}","orderId":"{t}","returnBatteryId":"{battery}","returnSlot":2}},"timestamp":"2026-03-02T10:30:00"}}"#
        )
    );

    // Rent callbacks go through the same engine and journal.
    let cbs = sink.wait_for(2, |r| r.path == "/cb", WAIT).await;
    assert_eq!(cbs[0].form(), vec![("status".to_string(), "1".to_string()), ("tradeNo".to_string(), t.clone())]);
    assert_eq!(cbs[1].form()[0], ("status".to_string(), "2".to_string()));
    assert_eq!(cbs[0].content_type, "application/x-www-form-urlencoded");
    let calls = app.wait_pushes(&format!("kind=callback&order={t}"), 2).await;
    assert_eq!(
        calls.iter().map(|c| c["event"].clone()).collect::<Vec<_>>(),
        vec!["RENT_CALLBACK_1", "RENT_CALLBACK_2"]
    );
    let events = app.wait_pushes(&format!("kind=event&order={t}"), 2).await;
    assert_eq!(events.iter().map(|c| c["event"].clone()).collect::<Vec<_>>(), vec!["BATTERY_BORROW_OUT", "BATTERY_IN"]);
}

#[tokio::test]
async fn a_failed_eject_pushes_borrow_out_with_the_fault() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &sink.url).await;
    let t = app.create_order(DEMO, EMPTY_CAB, &format!("{}/cb", sink.url)).await;
    app.advance(1).await;
    let got = sink.wait_for(1, event_is("BATTERY_BORROW_OUT"), WAIT).await;
    assert_eq!(
        got[0].body,
        format!(
            r#"{{"agentAccount":"demo","event":"BATTERY_BORROW_OUT","eventData":{{"cabinetId":"{EMPTY_CAB}","faultCause":"No rentable battery in the cabinet","faultType":0,"orderId":"{t}","outBatteryId":"","outSlot":0}},"timestamp":"2026-03-02T09:00:01"}}"#
        )
    );
    let cb = sink.wait_for(1, |r| r.path == "/cb", WAIT).await;
    assert_eq!(cb[0].form()[0], ("status".to_string(), "0".to_string()));
}

#[tokio::test]
async fn going_offline_and_online_pushes_cabinet_offline_and_online() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &sink.url).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/report")).await;
    let port = client_port(&sink.wait_for(1, event_is("CABINET_STATUS"), WAIT).await[0]);
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await;
    app.advance(60).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/online")).await;
    let off = sink.wait_for(1, event_is("CABINET_OFFLINE"), WAIT).await;
    assert_eq!(
        off[0].body,
        r#"{"agentAccount":"demo","event":"CABINET_OFFLINE","eventData":{"cabinetId":"BJD60151","infoStatus":"Offline","offlineTime":"2026-03-02 09:00:00"},"timestamp":"2026-03-02T09:00:00"}"#
    );
    let on = sink.wait_for(1, event_is("CABINET_ONLINE"), WAIT).await;
    assert_eq!(
        on[0].body,
        format!(
            r#"{{"agentAccount":"demo","event":"CABINET_ONLINE","eventData":{{"cabinetId":"BJD60151","clientIp":"82.66.67.232","clientPort":"{port}","infoStatus":"Online","onlineTime":"2026-03-02 09:01:00"}},"timestamp":"2026-03-02T09:01:00"}}"#
        )
    );
    // No change, no push.
    app.control(&format!("/cabinets/{DEMO_CAB}/online")).await;
    assert_eq!(app.pushes("event=CABINET_ONLINE").await.len(), 1);
}

#[tokio::test]
async fn a_status_report_pushes_cabinet_status_with_the_battery_list() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &sink.url).await;
    let v = app.control(&format!("/cabinets/{DEMO_CAB}/report")).await;
    assert_eq!(v, json!({"msg":"Successful operation","code":0,"data":{"cabinetId":DEMO_CAB}}));
    let got = sink.wait_for(1, event_is("CABINET_STATUS"), WAIT).await;
    let port = client_port(&got[0]);
    let row = |slot: u16, id: &str, vol: u8| {
        format!(
            r#"{{"batteryFaultCause":"","batteryFaultType":0,"batteryId":"{id}","faultCause":"","faultType":0,"infoStatus":"Online","slot":{slot},"vol":{vol}}}"#
        )
    };
    let rows = [row(1, "D1D87A6E39", 69), row(3, "609287EDCA", 69), row(5, "04949171D4", 97), row(8, "D4B4D1357F", 90)];
    assert_eq!(
        got[0].body,
        format!(
            r#"{{"agentAccount":"demo","event":"CABINET_STATUS","eventData":{{"batteryList":[{}],"cabinetId":"BJD60151","clientIp":"82.66.67.232","clientPort":"{port}","geoHash":"","icCard":"89331081200408000001","infoStatus":"Online","rentableCount":4,"returnableCount":4,"signal":"19","totalCount":8}},"timestamp":"2026-03-02T09:00:00"}}"#,
            rows.join(",")
        )
    );
    // C5 answers the same block as the cabinet's subDeviceStatusReport, keys sorted as well,
    // with the shop's geohash and the time of the report added.
    let pushed = got[0].json()["eventData"].clone();
    let (_, c5) = app.get(&format!("/cabinet/detail/{DEMO_CAB}")).await;
    let report = c5["data"]["cabinet"]["subDeviceStatusReport"].as_object().unwrap().clone();
    let keys: Vec<&String> = report.keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "{c5}");
    assert_eq!(report["geoHash"].as_str().map(str::len), Some(12), "{c5}");
    assert!(report["reportTime"].is_string(), "{c5}");
    for (k, v) in pushed.as_object().unwrap().iter().filter(|(k, _)| *k != "geoHash") {
        assert_eq!(&report[k], v, "C5's {k} differs from the push's");
    }
    assert_eq!(report.len(), pushed.as_object().unwrap().len() + 1, "{c5}");
    // An offline cabinet cannot report; an unknown one is unknown.
    app.control(&format!("/cabinets/{OFFLINE_CAB}/offline")).await;
    assert_eq!(app.control(&format!("/cabinets/{OFFLINE_CAB}/report")).await["code"], 2004);
    assert_eq!(app.control("/cabinets/XXX00000/report").await["code"], 2002);
}

#[tokio::test]
async fn eject_by_rent_with_an_unknown_order_pushes_admin_rental_order_then_borrow_out() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &sink.url).await;
    let battery = battery_in_slot(&app, DEMO_CAB, 1).await;
    let id = "26030209000000000001";
    let (_, v) = app.post(&format!("/cabinet/ejectByRent?cabinetid={DEMO_CAB}&rentOrderId={id}&slotNum=1")).await;
    assert_eq!(v["code"], 0, "{v}");
    let got = sink.wait_for(2, |_| true, WAIT).await;
    assert_eq!(
        got[0].body,
        format!(
            r#"{{"agentAccount":"demo","event":"ADMIN_RENTAL_ORDER","eventData":{{"cabinetId":"{DEMO_CAB}","orderId":"{id}","outBatteryId":"{battery}","outSlot":1}},"timestamp":"2026-03-02T09:00:00"}}"#
        )
    );
    assert_eq!(got[1].json()["event"], "BATTERY_BORROW_OUT");
    assert_eq!(got[1].json()["eventData"]["orderId"], id);
}

#[tokio::test]
async fn a_pos_terminal_changing_state_pushes_pos_info_status() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &sink.url).await;
    let v = app.control("/cabinets/DTA10341/pos?online=false").await;
    assert_eq!(
        v,
        json!({"msg":"Successful operation","code":0,"data":{"cabinetId":"DTA10341","posSn":"POS-000123","posOnline":false,"changed":true}})
    );
    assert_eq!(app.control("/cabinets/DTA10341/pos?online=false").await["data"]["changed"], false);
    app.advance(5).await;
    app.control("/cabinets/DTA10341/pos?online=true").await;
    let got = sink.wait_for(2, event_is("POS_INFO_STATUS"), WAIT).await;
    assert_eq!(
        got[0].body,
        r#"{"agentAccount":"demo","event":"POS_INFO_STATUS","eventData":{"cabinetId":"DTA10341","posInfoStatus":"0","posSn":"POS-000123"},"timestamp":"2026-03-02T09:00:00"}"#
    );
    assert_eq!(
        got[1].body,
        r#"{"agentAccount":"demo","event":"POS_INFO_STATUS","eventData":{"cabinetId":"DTA10341","posInfoStatus":"1","posSn":"POS-000123"},"timestamp":"2026-03-02T09:00:05"}"#
    );
    assert_eq!(app.pushes("event=POS_INFO_STATUS").await.len(), 2);
    // Refusals: no terminal, missing or bad parameter.
    let v = app.control(&format!("/cabinets/{DEMO_CAB}/pos?online=false")).await;
    assert_eq!((v["code"].clone(), v["msg"].clone()), (json!(9001), json!("Cabinet BJD60151 has no POS terminal.")));
    assert_eq!(app.control("/cabinets/DTA10341/pos").await["code"], 1001);
    assert_eq!(app.control("/cabinets/DTA10341/pos?online=maybe").await["code"], 1001);
}

// ----- routing ---------------------------------------------------------------------------

#[tokio::test]
async fn per_event_urls_and_disabled_or_missing_subscriptions_are_honoured() {
    let app = spawn_app().await;
    let (main, special) = (Sink::start().await, Sink::start().await);
    let cfg = json!({"pushUrl": format!("{}/main", main.url), "eventSubscriptions": [
        {"event":"CABINET_ONLINE","pushUrl":"","enable":true},
        {"event":"CABINET_OFFLINE","pushUrl":"","enable":false},
        {"event":"BATTERY_IN","pushUrl": format!("{}/in?token=abc", special.url),"enable":true},
    ]});
    let (_, v) = app.post_json_as(DEMO, "/cabinet/eventPush/config", &cfg).await;
    assert_eq!(v["code"], 0, "{v}");
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await; // disabled
    app.control(&format!("/cabinets/{DEMO_CAB}/online")).await; // default URL
    app.control(&format!("/cabinets/{DEMO_CAB}/report")).await; // not subscribed
    let battery = battery_in_slot(&app, DEMO_CAB, 8).await;
    let t = app.create_order(DEMO, DEMO_CAB, "").await;
    app.post(&format!("/cabinet/ejectByRent?cabinetid={DEMO_CAB}&rentOrderId={t}&slotNum=8")).await; // not subscribed
    app.control(&format!("/cabinets/{DEMO_CAB}/return?batteryId={battery}")).await; // its own URL

    let on = main.wait_for(1, event_is("CABINET_ONLINE"), WAIT).await;
    assert_eq!(on[0].path, "/main");
    let back = special.wait_for(1, event_is("BATTERY_IN"), WAIT).await;
    assert_eq!((back[0].path.as_str(), back[0].query.as_str()), ("/in", "token=abc"));
    // Deliveries are journaled when the change happens, so what is not there never will be.
    let all = app.wait_pushes("", 2).await;
    assert_eq!(all.iter().map(|e| e["event"].clone()).collect::<Vec<_>>(), vec!["CABINET_ONLINE", "BATTERY_IN"]);
    assert_eq!(main.received().len(), 1);
    assert_eq!(special.received().len(), 1);
}

#[tokio::test]
async fn pushes_about_one_cabinet_arrive_in_the_order_they_happened() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &sink.url).await;
    // Concurrent requests race for the world lock; whatever order they win in, the state
    // alternates, so the pushes must alternate too.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (client, url) =
            (app.client.clone(), app.sim(&format!("/cabinets/{DEMO_CAB}/{}", ["offline", "online"][i % 2])));
        tasks.push(tokio::spawn(async move { client.post(url).send().await.unwrap().status() }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let n = app.pushes(&format!("cabinet={DEMO_CAB}")).await.len();
    assert!(n >= 1);
    let got = sink.wait_for(n, |_| true, WAIT).await;
    let names: Vec<String> = got.iter().map(|r| r.json()["event"].as_str().unwrap().to_string()).collect();
    for pair in names.windows(2) {
        assert_ne!(pair[0], pair[1], "two {} in a row: {names:?}", pair[0]);
    }
    assert_eq!(names[0], "CABINET_OFFLINE");
}

// ----- retries and the journal -----------------------------------------------------------

#[tokio::test]
async fn a_receiver_answering_500_is_retried_until_it_recovers_and_the_journal_tells_the_story() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    sink.set(Behaviour::Status(500));
    app.subscribe_all(DEMO, &sink.url).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await;
    sink.wait_for(2, |_| true, WAIT).await;
    sink.set(Behaviour::Ok);
    let e = &app.wait_pushes("event=CABINET_OFFLINE", 1).await[0];
    assert_eq!(e["status"], "delivered");
    assert_eq!(e["error"], Value::Null);
    let attempts = e["attempts"].as_array().unwrap();
    let (last, failed) = attempts.split_last().unwrap();
    assert!(failed.len() >= 2, "{e}");
    for a in failed {
        assert_eq!(a["httpStatus"], 500, "{e}");
        assert_eq!(a["error"], "receiver answered HTTP 500");
        assert!(a["retryInMs"].as_u64().is_some(), "{e}");
    }
    assert_eq!(last["httpStatus"], 200);
    assert_eq!(last["response"], r#"{"code":0,"msg":"success"}"#);
    assert_eq!(last["retryInMs"], Value::Null);
    // Every attempt carried the same body.
    let bodies: Vec<String> = sink.received().iter().map(|r| r.body.clone()).collect();
    assert!(bodies.iter().all(|b| *b == bodies[0]) && bodies.len() == attempts.len());
}

#[tokio::test]
async fn a_delivery_gives_up_after_the_retry_schedule() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    sink.set(Behaviour::Status(503));
    app.subscribe_all(DEMO, &sink.url).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await;
    let e = &app.wait_pushes("status=failed", 1).await[0];
    // The test schedule is 50, 100, 200 ms: one attempt and three retries.
    let attempts = e["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4, "{e}");
    assert!(attempts.iter().all(|a| a["httpStatus"] == 503));
    let delays: Vec<u64> = attempts[..3].iter().map(|a| a["retryInMs"].as_u64().unwrap()).collect();
    for (d, base) in delays.iter().zip([50, 100, 200]) {
        assert!((base * 8 / 10 - 1..=base * 12 / 10).contains(d), "delay {d} for {base} ms +-20 %: {e}");
    }
    assert_eq!(attempts[3]["retryInMs"], Value::Null);
    assert_eq!(e["error"], "receiver answered HTTP 503");
    assert_eq!(sink.received().len(), 4);
    assert_eq!(app.pushes("status=delivered").await.len(), 0);
}

#[tokio::test]
async fn connection_refusals_are_retried_until_the_receiver_comes_up() {
    let mut config = bajie_sim::config::Config::for_tests();
    config.push_retries_ms = vec![200, 200, 200, 200, 200, 200, 200, 200];
    let app = spawn_with(config).await;
    // A port nothing listens on (yet).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    app.subscribe_all(DEMO, &format!("http://127.0.0.1:{port}/late")).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await;
    let e = &app.wait_pushes("status=retrying", 1).await[0];
    assert_eq!(e["attempts"][0]["httpStatus"], Value::Null);
    assert!(e["attempts"][0]["error"].as_str().unwrap().starts_with("connection failed"), "{e}");
    let sink = Sink::start_on(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap()).await;
    let got = sink.wait_for(1, event_is("CABINET_OFFLINE"), WAIT).await;
    assert_eq!(got[0].path, "/late");
    let e = &app.wait_pushes("event=CABINET_OFFLINE", 1).await[0];
    let attempts = e["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 2);
    assert_eq!(attempts.last().unwrap()["httpStatus"], 200);
}

#[tokio::test]
async fn refused_connections_give_up_after_the_schedule() {
    let app = spawn_app().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    app.subscribe_all(DEMO, &format!("http://127.0.0.1:{port}/")).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await;
    let e = &app.wait_pushes("status=failed", 1).await[0];
    let attempts = e["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4, "{e}");
    assert!(attempts
        .iter()
        .all(|a| a["httpStatus"].is_null() && a["error"].as_str().unwrap().starts_with("connection failed")));
}

#[tokio::test]
async fn the_journal_filters_by_event_cabinet_order_status_and_limit() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &sink.url).await;
    let t = app.create_order(DEMO, DEMO_CAB, &format!("{}/cb", sink.url)).await;
    app.advance(1).await; // the cabinet ejects on its own
    app.control("/cabinets/BJD60152/offline").await;
    app.wait_pushes("", 3).await;
    let only = |v: Vec<Value>| v.iter().map(|e| e["event"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(only(app.pushes("event=BATTERY_BORROW_OUT").await), ["BATTERY_BORROW_OUT"]);
    assert_eq!(only(app.pushes("cabinet=BJD60152").await), ["CABINET_OFFLINE"]);
    assert_eq!(only(app.pushes(&format!("order={t}")).await), ["BATTERY_BORROW_OUT", "RENT_CALLBACK_1"]);
    assert_eq!(only(app.pushes("kind=callback").await), ["RENT_CALLBACK_1"]);
    assert_eq!(app.pushes("status=delivered").await.len(), 3);
    assert_eq!(app.pushes("status=failed").await.len(), 0);
    assert_eq!(only(app.pushes("limit=1").await), ["CABINET_OFFLINE"]);
    let e = &app.pushes("event=BATTERY_BORROW_OUT").await[0];
    for key in [
        "id",
        "kind",
        "event",
        "agent",
        "cabinet",
        "order",
        "url",
        "contentType",
        "body",
        "status",
        "createdAt",
        "attempts",
    ] {
        assert!(e.get(key).is_some(), "journal entries have {key}: {e}");
    }
    assert_eq!(e["createdAt"], "2026-03-02 09:00:01");
    // Waiting for what does not come ends at the deadline with code 9001.
    let v = app.control_get("/pushes/wait?event=BATTERY_IN&timeoutMs=50").await;
    assert_eq!(v["code"], 9001, "{v}");
    assert_eq!(app.control_get("/pushes?limit=0").await["code"], 1001);
}

#[tokio::test]
async fn resend_delivers_a_journaled_push_again() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    app.subscribe_all(DEMO, &sink.url).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await;
    let first = &app.wait_pushes("", 1).await[0];
    let id = first["id"].as_u64().unwrap();
    let v = app.control(&format!("/pushes/{id}/resend")).await;
    assert_eq!(v["code"], 0, "{v}");
    let new_id = v["data"]["id"].as_u64().unwrap();
    assert_ne!(new_id, id);
    assert_eq!(v["data"]["resentFrom"], id);
    let got = sink.wait_for(2, |_| true, WAIT).await;
    assert_eq!(got[0].body, got[1].body);
    let all = app.wait_pushes("", 2).await;
    assert_eq!(all[1]["id"], new_id);
    assert_eq!(all[1]["body"], first["body"]);
    assert_eq!(app.control("/pushes/999999/resend").await["code"], 9001);
    assert_eq!(app.control("/pushes/abc/resend").await["code"], 1001);
}

// ----- isolation and shutdown ------------------------------------------------------------

/// `n` requests, `concurrency` at a time: every 10th toggles a demo cabinet (a push), the
/// others are O1 calls. Returns the elapsed time.
async fn load(app: &TestApp, n: usize, concurrency: usize) -> Duration {
    let cabs = ["BJD60152", "DTA10342", "BJD60188", "DTA10377"];
    let started = Instant::now();
    let mut next = 0;
    while next < n {
        let batch: Vec<_> = (next..(next + concurrency).min(n))
            .map(|i| {
                let client = app.client.clone();
                let (url, post) = if i % 10 == 0 {
                    (
                        app.sim(&format!("/cabinets/{}/{}", cabs[(i / 10) % 4], ["offline", "online"][(i / 40) % 2])),
                        true,
                    )
                } else {
                    (app.api(&format!("/rent/cabinet/query?deviceId={DEMO_CAB}")), false)
                };
                async move {
                    let req = if post { client.post(url) } else { client.get(url).basic_auth("demo", Some("demo")) };
                    let r = req.send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    r.bytes().await.unwrap();
                }
            })
            .collect();
        next += batch.len();
        futures_join(batch).await;
    }
    started.elapsed()
}

async fn futures_join<F: std::future::Future<Output = ()> + Send + 'static>(fs: Vec<F>) {
    let handles: Vec<_> = fs.into_iter().map(tokio::spawn).collect();
    for h in handles {
        h.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_slows_neither_the_api_nor_other_receivers() {
    let app = spawn_app().await;
    let (stuck, healthy) = (Sink::start().await, Sink::start().await);
    app.subscribe_all(DEMO, &stuck.url).await;
    app.subscribe_all(ACME, &healthy.url).await;
    let baseline = load(&app, 1000, 8).await;
    app.wait_pushes("agent=demo", 100).await;

    stuck.set(Behaviour::Hang);
    // Queue deliveries behind the stuck receiver, one in flight per cabinet.
    for round in 0..4 {
        for cab in ["BJD60151", "BJD60152", "DTA10341", "DTA10342", "BJH20417", "BJD60188", "DTA10377", "BJH20433"] {
            app.control(&format!("/cabinets/{cab}/{}", ["offline", "online"][round % 2])).await;
        }
    }
    let with_hang = load(&app, 1000, 8).await;
    // Another agent's receiver is served at once, not after the stuck one's 2 s timeout.
    let t = Instant::now();
    app.control(&format!("/cabinets/{ACME_CAB}/offline")).await;
    healthy.wait_for(1, event_is("CABINET_OFFLINE"), Duration::from_millis(1500)).await;
    let other = t.elapsed();
    let pending = app.control_get("/health").await["data"]["pendingPushes"].as_u64().unwrap();
    assert!(pending >= 32, "deliveries are stuck behind the hanging receiver ({pending})");
    let ratio = with_hang.as_secs_f64() / baseline.as_secs_f64().max(0.2);
    eprintln!("baseline {baseline:?}, with a hanging receiver {with_hang:?} (x{ratio:.2}), other receiver {other:?}");
    assert!(ratio < 4.0, "1,000 requests took {with_hang:?} with a hanging receiver, {baseline:?} without");
}

#[tokio::test]
async fn shutdown_skips_the_back_off_and_gives_pending_deliveries_a_grace_period() {
    let mut config = bajie_sim::config::Config::for_tests();
    config.push_retries_ms = vec![60_000];
    let app = spawn_with(config).await;
    let sink = Sink::start().await;
    sink.set(Behaviour::Status(500));
    app.subscribe_all(DEMO, &sink.url).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await;
    app.wait_pushes("status=retrying", 1).await;
    sink.set(Behaviour::Ok);
    let state = app.running.state.clone();
    app.running.shutdown(Duration::from_secs(10)).await;
    // Delivered within a 10 s grace period although the back-off said 60 s: it was skipped.
    assert_eq!(sink.received().len(), 2);
    let e = &state.push.list(&Default::default(), None)[0];
    assert_eq!(e.status, bajie_sim::push::journal::Status::Delivered);
    assert_eq!(state.push.pending(), 0);
}

#[tokio::test]
async fn shutdown_abandons_what_a_hanging_receiver_holds_after_the_grace_period() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    sink.set(Behaviour::Hang);
    app.subscribe_all(DEMO, &sink.url).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await;
    sink.wait_for(1, |_| true, WAIT).await;
    let state = app.running.state.clone();
    tokio::time::timeout(WAIT, app.running.shutdown(Duration::from_millis(300)))
        .await
        .expect("shutdown ends after its grace period, whatever the receiver does");
    let e = &state.push.list(&Default::default(), None)[0];
    assert_eq!(e.status, bajie_sim::push::journal::Status::Dropped);
    assert_eq!(e.error.as_deref(), Some("abandoned at shutdown after the grace period"));
    assert_eq!(state.push.pending(), 0);
}

#[tokio::test]
async fn reset_cancels_queued_deliveries() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    sink.set(Behaviour::Hang);
    app.subscribe_all(DEMO, &sink.url).await;
    for i in 0..6 {
        app.control(&format!("/cabinets/{DEMO_CAB}/{}", ["offline", "online"][i % 2])).await;
    }
    sink.wait_for(1, |_| true, WAIT).await;
    assert_eq!(app.control("/reset").await["code"], 0);
    let deadline = Instant::now() + WAIT;
    while app.control_get("/health").await["data"]["pendingPushes"] != 0 {
        assert!(Instant::now() < deadline, "deliveries still pending after a reset");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(app.pushes("").await.len(), 0);
    assert_eq!(get_config(&app, DEMO).await.1["data"]["pushUrl"], "");
}

/// An `https` receiver is called over TLS: a receiver that answers plain HTTP at an `https`
/// URL never sees a request (a plain-text client would have delivered to it), and each
/// attempt is journaled as failed with the reason.
#[tokio::test]
async fn an_https_receiver_is_called_over_tls_and_a_failed_handshake_is_journaled_with_the_reason() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    let https = sink.url.replacen("http://", "https://", 1);
    assert!(https.starts_with("https://127.0.0.1:"), "{https}");
    app.subscribe_all(DEMO, &format!("{https}/events")).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await;
    let e = &app.wait_pushes("status=failed", 1).await[0];
    let attempts = e["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4, "{e}");
    for a in attempts {
        let error = a["error"].as_str().unwrap_or_default();
        assert!(a["httpStatus"].is_null() && !error.is_empty(), "{e}");
        // rustls's reason: the receiver's plain-text answer is no TLS record.
        assert!(error.contains("received corrupt message"), "{e}");
    }
    assert!(sink.received().is_empty(), "plain text reached the receiver: {:?}", sink.received().len());
}

/// Redirects are not followed: a receiver answering 302 with a `Location` is a failed
/// attempt, journaled with its status, and the URL it points to never gets the push.
#[tokio::test]
async fn a_receiver_answering_a_redirect_is_a_failed_attempt_and_the_redirect_is_not_followed() {
    let app = spawn_app().await;
    let elsewhere = Sink::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let answer = format!(
        "HTTP/1.1 302 Found\r\nLocation: {}/moved\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        elsewhere.url
    );
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = vec![0u8; 64 * 1024];
            let _ = conn.read(&mut buf).await;
            let _ = conn.write_all(answer.as_bytes()).await;
            let _ = conn.shutdown().await;
        }
    });
    app.subscribe_all(DEMO, &format!("http://127.0.0.1:{port}/events")).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await;
    let e = &app.wait_pushes("status=failed", 1).await[0];
    let attempts = e["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4, "{e}");
    assert!(attempts.iter().all(|a| a["httpStatus"] == 302), "{e}");
    assert!(elsewhere.received().is_empty(), "the redirect was followed");
}

/// What counts as delivered is any 2xx, whatever its body says (here not even JSON), and the
/// journal keeps its first 512 bytes; a 4xx is retried like any other failure (a receiver route
/// that is not deployed yet often comes up later).
#[tokio::test]
async fn a_4xx_is_retried_and_any_2xx_is_delivered_keeping_512_bytes_of_its_answer() {
    let app = spawn_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let long = "x".repeat(2000);
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut n = 0;
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = vec![0u8; 64 * 1024];
            let _ = conn.read(&mut buf).await;
            n += 1;
            let (status, body) = if n == 1 { ("404 Not Found", "no route yet") } else { ("200 OK", long.as_str()) };
            let answer =
                format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            let _ = conn.write_all(answer.as_bytes()).await;
            let _ = conn.shutdown().await;
        }
    });
    app.subscribe_all(DEMO, &format!("http://127.0.0.1:{port}/events")).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await;
    let e = &app.wait_pushes("status=delivered", 1).await[0];
    let attempts = e["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{e}");
    assert_eq!((&attempts[0]["httpStatus"], &attempts[1]["httpStatus"]), (&Value::from(404), &Value::from(200)), "{e}");
    assert_eq!(attempts[1]["response"], "x".repeat(512), "{e}");
}

/// The configuration that counts is the one in force when the change happened: a push being
/// retried keeps going to the URL it was queued for after E1 names another receiver.
#[tokio::test]
async fn a_queued_push_keeps_the_url_of_the_configuration_in_force_when_it_happened() {
    let app = spawn_app().await;
    let (old, new) = (Sink::start().await, Sink::start().await);
    old.set(Behaviour::Status(500));
    app.subscribe_all(DEMO, &old.url).await;
    app.control(&format!("/cabinets/{DEMO_CAB}/offline")).await;
    old.wait_for(1, |_| true, Duration::from_secs(10)).await;
    // The push failed once and waits for its retry; now the configuration moves.
    app.subscribe_all(DEMO, &new.url).await;
    old.set(Behaviour::Ok);
    let e = &app.wait_pushes("event=CABINET_OFFLINE&status=delivered", 1).await[0];
    assert!(e["url"].as_str().unwrap().starts_with(&old.url), "{e}");
    assert!(e["attempts"].as_array().unwrap().len() >= 2, "{e}");
    assert!(new.received().is_empty(), "the queued push was re-routed");
}
