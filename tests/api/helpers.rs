//! Shared test helpers: `spawn_app`, a client with the platform's auth, and a recording sink
//! that stands in for callback and push receivers.

#![allow(dead_code)]

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bajie_sim::app::{self, Running};
use bajie_sim::config::Config;
use parking_lot::Mutex;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The nine documented event names, written out here rather than imported, so the
/// tests check the simulator's own list against the documentation.
pub const EVENT_NAMES: [&str; 9] = [
    "CABINET_ONLINE",
    "CABINET_OFFLINE",
    "CABINET_STATUS",
    "BATTERY_IN",
    "BATTERY_BORROW_OUT",
    "BATTERY_ABNORMAL_WARNING",
    "BATTERY_POPUP",
    "ADMIN_RENTAL_ORDER",
    "POS_INFO_STATUS",
];

/// The demo account's Basic credentials.
pub const DEMO: (&str, &str) = ("demo", "demo");
/// The acme account's Basic credentials.
pub const ACME: (&str, &str) = ("acme", "acme");
/// A healthy online demo cabinet with 4 batteries (slots 1, 3, 5, 8).
pub const DEMO_CAB: &str = "BJD60151";
/// The demo cabinet that is offline in the default world.
pub const OFFLINE_CAB: &str = "BJH20456";
/// An online demo 8-slot cabinet with no battery.
pub const EMPTY_CAB: &str = "BJD60203";
/// An acme cabinet with batteries.
pub const ACME_CAB: &str = "SAB30201";
/// An acme 8-slot cabinet with every slot full.
pub const FULL_CAB: &str = "BJD61507";

/// A running simulator and a client for it.
pub struct TestApp {
    pub running: Running,
    pub base: String,
    pub client: reqwest::Client,
}

/// Start the simulator with the test configuration (frozen clock at 2026-03-02 09:00:00, no
/// simulation, seed 42).
pub async fn spawn_app() -> TestApp {
    spawn_with(Config::for_tests()).await
}

/// Start the simulator with `config`.
pub async fn spawn_with(config: Config) -> TestApp {
    let running = app::build(config).await.expect("simulator starts");
    let base = running.url();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    TestApp { running, base, client }
}

impl TestApp {
    /// Full URL of a platform path (`/rent/...`).
    pub fn api(&self, path: &str) -> String {
        format!("{}/cdb-open-api/v1{}", self.base, path)
    }

    /// Full URL of a control path (`/_sim/...`).
    pub fn sim(&self, path: &str) -> String {
        format!("{}/_sim{}", self.base, path)
    }

    /// GET a platform path as `who`; returns (status, body).
    pub async fn get_as(&self, who: (&str, &str), path: &str) -> (u16, Value) {
        let r = self.client.get(self.api(path)).basic_auth(who.0, Some(who.1)).send().await.unwrap();
        read(r).await
    }

    /// POST a platform path (query parameters, no body) as `who`.
    pub async fn post_as(&self, who: (&str, &str), path: &str) -> (u16, Value) {
        let r = self.client.post(self.api(path)).basic_auth(who.0, Some(who.1)).send().await.unwrap();
        read(r).await
    }

    /// POST a JSON body to a platform path as `who`.
    pub async fn post_json_as(&self, who: (&str, &str), path: &str, body: &Value) -> (u16, Value) {
        let r = self.client.post(self.api(path)).basic_auth(who.0, Some(who.1)).json(body).send().await.unwrap();
        read(r).await
    }

    /// GET as demo.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(DEMO, path).await
    }

    /// The demo account's online cabinets, in id order (C4).
    pub async fn online_cabinets(&self) -> Vec<String> {
        let (_, all) = self.get("/cabinet/getAllDevice").await;
        all["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["pOnline"] == true)
            .map(|r| r["pCabinetid"].as_str().unwrap().to_string())
            .collect()
    }

    /// POST as demo.
    pub async fn post(&self, path: &str) -> (u16, Value) {
        self.post_as(DEMO, path).await
    }

    /// POST to a control route.
    pub async fn control(&self, path: &str) -> Value {
        let r = self.client.post(self.sim(path)).send().await.unwrap();
        read(r).await.1
    }

    /// GET a control route.
    pub async fn control_get(&self, path: &str) -> Value {
        let r = self.client.get(self.sim(path)).send().await.unwrap();
        read(r).await.1
    }

    /// Advance the virtual clock by `secs`.
    pub async fn advance(&self, secs: u64) {
        let now_ms = || async { self.control_get("/clock").await["data"]["nowMs"].as_i64().expect("nowMs") };
        let end = now_ms().await + secs as i64 * 1000;
        let v = self.control(&format!("/clock?advance={secs}")).await;
        assert_eq!(v["code"], 0, "{v}");
        // The server answers after 20 s even when the advance still runs, which a long advance
        // on a loaded machine can take: wait for the clock itself (a hang deadline, not a
        // speed bound).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        while now_ms().await < end {
            assert!(tokio::time::Instant::now() < deadline, "an advance of {secs} s did not finish");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Assert that `/_sim/check` holds.
    pub async fn assert_consistent(&self) {
        let v = self.control_get("/check").await;
        assert_eq!(v["code"], 0, "invariants: {v}");
    }

    /// O1 for `device` as `who`.
    pub async fn device(&self, who: (&str, &str), device: &str) -> Value {
        let (s, v) = self.get_as(who, &format!("/rent/cabinet/query?deviceId={device}")).await;
        assert_eq!(s, 200);
        v
    }

    /// O2 as `who`: a new order on `device` with callbacks to `callback` (percent-encoded
    /// here); its trade number.
    pub async fn create_order(&self, who: (&str, &str), device: &str, callback: &str) -> String {
        let (s, v) = self
            .post_as(who, &format!("/rent/order/create?deviceId={device}&callbackURL={}", urlencode(callback)))
            .await;
        assert_eq!((s, &v["code"]), (200, &serde_json::json!(0)), "O2 on {device}: {v}");
        let t = v["data"]["tradeNo"].as_str().expect("tradeNo is a string").to_string();
        assert_eq!(t.len(), 20, "tradeNo is yyMMddHHmmss + 8 digits: {t}");
        t
    }

    /// C3 as `who`: eject `slot` of `cabinet` (0: the cabinet picks) for `order`, an O2 trade
    /// number or a new back-office order id; the answer.
    pub async fn eject_by_rent(&self, who: (&str, &str), cabinet: &str, order: &str, slot: u16) -> Value {
        let path = format!("/cabinet/ejectByRent?cabinetid={cabinet}&rentOrderId={}&slotNum={slot}", urlencode(order));
        self.post_as(who, &path).await.1
    }

    /// C3 that must succeed: `order` is in lease from `cabinet` afterwards.
    pub async fn rent_slot(&self, who: (&str, &str), cabinet: &str, order: &str, slot: u16) {
        let v = self.eject_by_rent(who, cabinet, order, slot).await;
        assert_eq!(v["code"], 0, "ejectByRent {order} on {cabinet} slot {slot}: {v}");
    }

    /// O5 as `who`: the order's detail (`data`).
    pub async fn order_detail(&self, who: (&str, &str), trade: &str) -> Value {
        let (_, v) = self.get_as(who, &format!("/rent/order/detail?tradeNo={trade}")).await;
        assert_eq!(v["code"], 0, "O5 {trade}: {v}");
        v["data"].clone()
    }

    /// E1 as `who`: every event pushed to `url`.
    pub async fn subscribe_all(&self, who: (&str, &str), url: &str) {
        let subs: Vec<Value> =
            EVENT_NAMES.iter().map(|e| serde_json::json!({"event": e, "pushUrl": "", "enable": true})).collect();
        let body = serde_json::json!({ "pushUrl": url, "eventSubscriptions": subs });
        let (s, v) = self.post_json_as(who, "/cabinet/eventPush/config", &body).await;
        assert_eq!((s, &v["code"]), (200, &serde_json::json!(0)), "E1 refused the configuration: {v}");
    }

    /// Delivery-journal records matching a query string (`event=..&status=..`),
    /// `GET /_sim/pushes`.
    pub async fn pushes(&self, query: &str) -> Vec<Value> {
        let v = self.control_get(&format!("/pushes?{query}")).await;
        assert_eq!(v["code"], 0, "{v}");
        v["data"]["records"].as_array().expect("records is an array").clone()
    }

    /// Wait (on the server, 5 s deadline) until `count` delivery-journal records match
    /// `query`, `GET /_sim/pushes/wait`.
    pub async fn wait_pushes(&self, query: &str, count: usize) -> Vec<Value> {
        let v = self.control_get(&format!("/pushes/wait?count={count}&timeoutMs=5000&{query}")).await;
        assert_eq!(v["code"], 0, "waiting for {count} x {query}: {v}");
        v["data"]["records"].as_array().expect("records is an array").clone()
    }
}

/// Percent-encode every byte but the unreserved ones (RFC 3986), for query values.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Status and JSON body of a response (the body must be JSON).
pub async fn read(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, v)
}

/// One request a sink received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: String,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    /// The body as form pairs.
    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_str(&self.body).unwrap_or_default()
    }
}

/// How a sink answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Behaviour {
    /// 200 `{"code":0,"msg":"success"}`.
    Ok,
    /// The given status.
    Status(u16),
    /// Never answer (until the test ends).
    Hang,
    /// Answer 200 like `Ok`, after this many milliseconds.
    Delay(u64),
}

struct SinkState {
    got: Mutex<Vec<Received>>,
    behaviour: Mutex<Behaviour>,
    notify: Notify,
}

/// A local HTTP receiver recording every request.
#[derive(Clone)]
pub struct Sink {
    state: Arc<SinkState>,
    pub url: String,
}

async fn record(req: HttpRequest, body: web::Bytes, st: web::Data<Arc<SinkState>>) -> HttpResponse {
    let behaviour = *st.behaviour.lock();
    st.got.lock().push(Received {
        path: req.path().to_string(),
        query: req.query_string().to_string(),
        content_type: req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string(),
        body: String::from_utf8_lossy(&body).to_string(),
    });
    st.notify.notify_waiters();
    match behaviour {
        Behaviour::Ok => HttpResponse::Ok().json(serde_json::json!({"code":0,"msg":"success"})),
        Behaviour::Status(s) => HttpResponse::build(actix_web::http::StatusCode::from_u16(s).unwrap()).finish(),
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            HttpResponse::Ok().finish()
        }
        Behaviour::Delay(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            HttpResponse::Ok().json(serde_json::json!({"code":0,"msg":"success"}))
        }
    }
}

impl Sink {
    /// Start a sink on a free local port.
    pub async fn start() -> Sink {
        Sink::start_on(std::net::TcpListener::bind("127.0.0.1:0").unwrap()).await
    }

    /// Start a sink on an already bound listener (e.g. a port that refused connections so far).
    pub async fn start_on(listener: std::net::TcpListener) -> Sink {
        let state = Arc::new(SinkState {
            got: Mutex::new(Vec::new()),
            behaviour: Mutex::new(Behaviour::Ok),
            notify: Notify::new(),
        });
        let data = web::Data::new(state.clone());
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(record)))
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
        tokio::spawn(server);
        Sink { state, url: format!("http://127.0.0.1:{port}") }
    }

    /// Change how it answers.
    pub fn set(&self, b: Behaviour) {
        *self.state.behaviour.lock() = b;
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.got.lock().clone()
    }

    /// Wait (with a deadline) until `pred` holds for at least `n` received requests.
    pub async fn wait_for(&self, n: usize, pred: impl Fn(&Received) -> bool, deadline: Duration) -> Vec<Received> {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            let notified = self.state.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let got: Vec<Received> = self.received().into_iter().filter(|r| pred(r)).collect();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(end, notified).await.is_err() {
                let got: Vec<Received> = self.received().into_iter().filter(|r| pred(r)).collect();
                assert!(
                    got.len() >= n,
                    "expected {n} matching requests within {deadline:?}, got {}: {:?}",
                    got.len(),
                    self.received()
                );
                return got;
            }
        }
    }
}
