//! `GET /_sim/metrics` and `/_sim/latency`: counters read back after real requests, answer-time
//! profiles that hold answers without holding a worker, and bad input named in the envelope.

use crate::helpers::*;
use crate::sim::{export, sim_config};
use bajie_sim::config::Config;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The scrape as text, after checking its status and content type.
async fn scrape(app: &TestApp) -> String {
    let r = app.client.get(app.sim("/metrics")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    r.text().await.unwrap()
}

/// The value of the sample line `name{labels}` (exactly as exposed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test]
async fn requests_are_counted_by_operation_and_code_with_a_latency_histogram() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.device(DEMO, DEMO_CAB).await;
    }
    assert_eq!(app.get(&format!("/rent/cabinet/query?deviceId={OFFLINE_CAB}")).await.1["code"], 2004);
    assert_eq!(app.get_as(("demo", "wrong"), "/order/list?page=1&limit=5").await.0, 401);
    assert_eq!(app.get("/rent/cabinet/query").await.1["code"], 1001);
    let text = scrape(&app).await;
    let at = |s: &str| sample(&text, s);
    assert_eq!(at(r#"bajie_sim_requests_total{operation="O1",code="0"}"#), Some(3.0), "{text}");
    assert_eq!(at(r#"bajie_sim_requests_total{operation="O1",code="2004"}"#), Some(1.0));
    assert_eq!(at(r#"bajie_sim_requests_total{operation="O1",code="1001"}"#), Some(1.0));
    assert_eq!(at(r#"bajie_sim_requests_total{operation="R1",code="401"}"#), Some(1.0));
    assert_eq!(at(r#"bajie_sim_request_duration_seconds_count{operation="O1"}"#), Some(5.0));
    assert_eq!(at(r#"bajie_sim_request_duration_seconds_bucket{operation="O1",le="+Inf"}"#), Some(5.0));
    assert!(text.contains("# TYPE bajie_sim_request_duration_seconds histogram"), "{text}");
    // The scrape counts itself from the next scrape on, as a control request.
    let again = scrape(&app).await;
    assert_eq!(sample(&again, r#"bajie_sim_requests_total{operation="control",code="0"}"#), Some(1.0), "{again}");
}

/// S5 takes its shop id in the path or, as production clients send it, in the query: both
/// forms count as S5, and a fault rule naming S5 applies to both.
#[tokio::test]
async fn both_forms_of_s5_are_one_operation_for_metrics_and_fault_rules() {
    let app = spawn_app().await;
    let (_, by_path) = app.post("/shop/delete/nosuchshop").await;
    let (_, by_query) = app.post("/shop/delete?newID=nosuchshop").await;
    assert_eq!(by_path["code"], by_query["code"], "{by_path} {by_query}");
    let text = scrape(&app).await;
    assert_eq!(sample(&text, r#"bajie_sim_request_duration_seconds_count{operation="S5"}"#), Some(2.0), "{text}");
    let rule = app.control("/faults?endpoint=S5&effect=httpStatus&httpStatus=503").await;
    assert_eq!(rule["code"], 0, "{rule}");
    assert_eq!(app.post("/shop/delete/nosuchshop").await.0, 503);
    assert_eq!(app.post("/shop/delete?newID=nosuchshop").await.0, 503);
}

#[tokio::test]
async fn world_size_callbacks_and_simulation_steps_show_in_the_metrics() {
    let app = spawn_with(sim_config()).await;
    let sink = Sink::start().await;
    let world = export(&app).await;
    let cabinets = world["world"]["cabinets"].as_object().unwrap().len() as f64;
    let batteries = world["world"]["batteries"].as_object().unwrap().len() as f64;
    let before = scrape(&app).await;
    let steps_before = sample(&before, "bajie_sim_sim_step_duration_seconds_count").unwrap();
    assert_eq!(sample(&before, r#"bajie_sim_world{thing="cabinets"}"#), Some(cabinets));
    assert_eq!(sample(&before, r#"bajie_sim_world{thing="batteries"}"#), Some(batteries));

    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL={}/cb", sink.url)).await;
    assert_eq!(v["code"], 0, "{v}");
    let open = scrape(&app).await;
    assert_eq!(sample(&open, r#"bajie_sim_world{thing="open_orders"}"#), Some(1.0), "{open}");
    app.advance(2).await;
    let v = app.control_get("/pushes/wait?event=RENT_CALLBACK_1&count=1&timeoutMs=10000").await;
    assert_eq!(v["code"], 0, "{v}");
    let after = scrape(&app).await;
    let delivered = r#"bajie_sim_deliveries_total{kind="callback",event="RENT_CALLBACK_1",outcome="delivered"}"#;
    assert_eq!(sample(&after, delivered), Some(1.0), "{after}");
    assert_eq!(sample(&after, r#"bajie_sim_journal_entries{journal="pushes"}"#), Some(1.0));
    assert_eq!(sample(&after, "bajie_sim_delivery_queue_depth"), Some(0.0));
    assert!(sample(&after, "bajie_sim_sim_step_duration_seconds_count").unwrap() > steps_before, "{after}");
    assert!(sample(&after, "bajie_sim_sim_step_events_count").unwrap() > steps_before);
}

#[tokio::test]
async fn failed_deliveries_and_retries_are_counted_per_event() {
    let app = spawn_app().await;
    let sink = Sink::start().await;
    sink.set(Behaviour::Status(500));
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL={}/cb", sink.url)).await;
    assert_eq!(v["code"], 0, "{v}");
    app.advance(2).await;
    let v = app.control_get("/pushes/wait?status=failed&count=1&timeoutMs=10000").await;
    assert_eq!(v["code"], 0, "{v}");
    let text = scrape(&app).await;
    let labels = r#"kind="callback",event="RENT_CALLBACK_1""#;
    assert_eq!(sample(&text, &format!("bajie_sim_deliveries_total{{{labels},outcome=\"failed\"}}")), Some(1.0));
    // The test configuration retries three times.
    assert_eq!(sample(&text, &format!("bajie_sim_delivery_retries_total{{{labels}}}")), Some(3.0), "{text}");
}

#[tokio::test]
async fn with_metrics_off_the_scrape_says_so_in_the_envelope() {
    let app = spawn_with(Config { metrics: false, ..Config::for_tests() }).await;
    app.device(DEMO, DEMO_CAB).await;
    let v = app.control_get("/metrics").await;
    assert_eq!(v["code"], 9001, "{v}");
    assert!(v["msg"].as_str().unwrap().contains("--metrics=false"), "{v}");
}

/// POST `/_sim/latency` with these parameters.
async fn set_latency(app: &TestApp, query: &[(&str, &str)]) -> Value {
    let r = app.client.post(app.sim("/latency")).query(query).send().await.unwrap();
    read(r).await.1
}

#[tokio::test]
async fn a_fixed_profile_holds_the_answer_and_is_counted() {
    let app = spawn_app().await;
    let v = set_latency(&app, &[("operation", "o1"), ("kind", "fixed"), ("ms", "400")]).await;
    assert_eq!(v["data"]["profiles"]["O1"], serde_json::json!({ "kind": "fixed", "ms": 400.0 }), "{v}");
    assert_eq!(app.control_get("/latency").await["data"], v["data"]);
    let started = Instant::now();
    app.device(DEMO, DEMO_CAB).await;
    assert!(started.elapsed() >= Duration::from_millis(400), "answered after {:?}", started.elapsed());
    // Other operations are not held.
    assert_eq!(app.get("/order/list?page=1&limit=5").await.1["code"], 0);
    let text = scrape(&app).await;
    assert_eq!(sample(&text, r#"bajie_sim_latency_profile_wait_seconds_sum{operation="O1"}"#), Some(0.4), "{text}");
    assert_eq!(sample(&text, r#"bajie_sim_latency_profile_wait_seconds_count{operation="R1"}"#), None);
    // kind=none removes it; DELETE removes all; a reset returns to the start (none here).
    let v = set_latency(&app, &[("operation", "*"), ("kind", "lognormal"), ("medianMs", "1"), ("p99Ms", "2")]).await;
    assert_eq!(v["data"]["profiles"].as_object().unwrap().len(), 2, "{v}");
    let v = set_latency(&app, &[("operation", "O1"), ("kind", "none")]).await;
    assert_eq!(v["data"]["profiles"].as_object().unwrap().keys().collect::<Vec<_>>(), ["*"]);
    assert_eq!(app.control("/reset").await["code"], 0);
    assert_eq!(app.control_get("/latency").await["data"]["profiles"], serde_json::json!({}));
}

#[tokio::test]
async fn held_answers_wait_without_holding_a_worker_or_the_world() {
    // Two workers and forty held rents: a thread sleep would block both workers for the
    // whole wait; an async one leaves them free for everything else.
    let app = spawn_with(Config { latency: Some("O2=fixed:3000".into()), ..Config::for_tests() }).await;
    let mut held = Vec::new();
    for _ in 0..40 {
        let (client, url) = (app.client.clone(), app.api(&format!("/rent/order/create?deviceId={DEMO_CAB}")));
        held.push(tokio::spawn(async move {
            client.post(url).basic_auth("demo", Some("demo")).send().await.unwrap().status().as_u16()
        }));
    }
    // Every rent has been made (the handler runs before the wait)...
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, v) = app.get("/order/list?page=1&limit=100").await;
        if v["page"]["total"].as_u64() == Some(40) {
            break;
        }
        assert!(Instant::now() < deadline, "40 orders were not made: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...and while their answers are held, reads and writes of the world go on.
    app.device(DEMO, DEMO_CAB).await;
    assert_eq!(app.control("/cabinets/BJD60152/offline").await["code"], 0);
    assert!(held.iter().all(|h| !h.is_finished()), "held answers came back early");
    for h in held {
        assert_eq!(h.await.unwrap(), 200);
    }
}

#[tokio::test]
async fn profiles_are_seeded_and_come_from_the_flag_and_the_fixtures() {
    let spec = "O1=lognormal:20:60";
    let mut sums = Vec::new();
    for _ in 0..2 {
        let app = spawn_with(Config { latency: Some(spec.into()), ..Config::for_tests() }).await;
        for _ in 0..4 {
            app.device(DEMO, DEMO_CAB).await;
        }
        let text = scrape(&app).await;
        sums.push(sample(&text, r#"bajie_sim_latency_profile_wait_seconds_sum{operation="O1"}"#).unwrap());
    }
    assert_eq!(sums[0], sums[1], "the same seed draws the same waits");
    assert!(sums[0] > 0.0);

    let mut fixture: Value = serde_json::from_str(bajie_sim::fixtures::DEFAULT_FIXTURES).unwrap();
    fixture["latency"] = serde_json::json!({ "c7": { "kind": "fixed", "ms": 5 }, "*": { "kind": "fixed", "ms": 1 } });
    let path = std::env::temp_dir().join(format!("bajie-latency-{}.json", std::process::id()));
    std::fs::write(&path, fixture.to_string()).unwrap();
    let config = Config { fixtures: Some(path.clone()), latency: Some("*=none".into()), ..Config::for_tests() };
    let app = spawn_with(config).await;
    std::fs::remove_file(&path).unwrap();
    let profiles = app.control_get("/latency").await["data"]["profiles"].clone();
    assert_eq!(profiles, serde_json::json!({ "C7": { "kind": "fixed", "ms": 5.0 } }), "the flag overrides *");
}

#[tokio::test]
async fn bad_latency_input_is_refused_naming_the_parameter() {
    let app = spawn_app().await;
    for (query, param) in [
        (vec![("kind", "fixed"), ("ms", "5")], "'operation' is missing"),
        (vec![("operation", "Z1"), ("kind", "fixed"), ("ms", "5")], "'operation' is invalid"),
        (vec![("operation", "O1")], "'kind' is missing"),
        (vec![("operation", "O1"), ("kind", "gamma")], "'kind' is invalid"),
        (vec![("operation", "O1"), ("kind", "fixed")], "'ms' is missing"),
        (vec![("operation", "O1"), ("kind", "fixed"), ("ms", "soon")], "'ms'"),
        (vec![("operation", "O1"), ("kind", "fixed"), ("ms", "-3")], "'ms' is invalid"),
        (vec![("operation", "O1"), ("kind", "lognormal"), ("medianMs", "50")], "'p99Ms' is missing"),
        (vec![("operation", "O1"), ("kind", "lognormal"), ("medianMs", "0"), ("p99Ms", "9")], "'medianMs' is invalid"),
        (vec![("operation", "O1"), ("kind", "lognormal"), ("medianMs", "50"), ("p99Ms", "9")], "'p99Ms' is invalid"),
        (vec![("operation", "O1"), ("kind", "fixed"), ("ms", "9e9")], "'ms' is invalid"),
        (vec![("reset", "perhaps")], "'reset'"),
    ] {
        let v = set_latency(&app, &query).await;
        assert_eq!(v["code"], 1001, "{query:?}: {v}");
        assert!(v["msg"].as_str().unwrap().contains(param), "{query:?}: {v}");
        assert!(v.get("data").is_none());
    }
    assert_eq!(app.control_get("/latency").await["data"]["profiles"], serde_json::json!({}));
    let err = bajie_sim::app::build(Config { latency: Some("O1=fixed".into()), ..Config::for_tests() }).await;
    assert!(err.is_err_and(|e| e.contains("--latency")));
}
