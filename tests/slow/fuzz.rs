//! Bad input everywhere: a seeded, bounded fuzz walk over every operation of the OpenAPI
//! document (every route of endpoints.json plus the `/_sim` routes), and a raw-socket walk of
//! malformed HTTP.
//!
//! Each request gets one or more defects: missing, wrong-typed, empty, negative, huge and
//! unicode parameters, duplicated parameters, invalid percent-encoding, a 20 KB query,
//! malformed, deeply nested, wrong-typed and oversized JSON, wrong content types, bodies on
//! GET, bad credentials, wrong methods. Every answer must be the platform's JSON envelope with
//! a documented status (200 business error, 401, 404, 413, 414) and a message, never a 5xx,
//! a dropped connection, a text page or a hang; and a refused request must change nothing:
//! the whole world (compared with `==`, the generator state included) and the push journal
//! are as they were. `/_sim/check` must hold throughout.

use crate::helpers::*;
use bajie_sim::model::World;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Fuzz cases per documented operation (about 60 operations).
const CASES_PER_OPERATION: usize = 32;
/// Seed of the generator: the same seed gives the same requests.
const SEED: u64 = 0x5EED_F022;

/// xorshift64*: small, deterministic, good enough to pick cases.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Values no parameter should choke on.
/// How long one answer may take before the fuzzer calls it a hang.
const ANSWER_DEADLINE: Duration = Duration::from_secs(30);

fn nasty_values() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "0",
        "-1",
        "-0",
        "1.5",
        "1e309",
        "-9223372036854775809",
        "18446744073709551616",
        "99999999999999999999999999999",
        "NaN",
        "Infinity",
        "null",
        "true",
        "[]",
        "{}",
        "{\"a\":1}",
        "日本語のパラメータ",
        "💥🔋",
        "\u{202e}gnp.exe",
        "ǅemo",
        "Ω≈ç√",
        "' OR '1'='1' --",
        "../../../etc/passwd",
        "<script>alert(1)</script>",
        "%",
        "%%",
        "BJD60151",
        "SAB30201",
        "http://127.0.0.1:9/cb?x=1",
        "ftp://127.0.0.1/x",
        "javascript:alert(1)",
        "\t\n",
        "a\u{0}b",
        "DEMO",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("9".repeat(400));
    v.push("x".repeat(5000));
    v.push("é".repeat(1000));
    v
}

/// Ids the walk uses as "valid" values, created in `setup`.
#[derive(Clone)]
struct Known {
    pending_order: String,
    leased_order: String,
    battery: String,
}

/// A plausible value for a parameter, so the other defects of a case get past the first check.
fn valid(name: &str, k: &Known, g: &mut Gen) -> String {
    let v = match name {
        "deviceId" | "cabinetid" | "cabinetId" | "qrcode" | "id" => *g.pick(&["BJD60151", "BJD60203", "BJD60152"]),
        "callbackURL" => "http://127.0.0.1:9/cb?rental=1",
        "tradeNo" | "orderId" | "rentOrderId" | "order" => {
            return g.pick(&[k.pending_order.clone(), k.leased_order.clone()]).clone()
        }
        "batteryId" => return k.battery.clone(),
        "slotNum" | "slot" | "n" | "page" | "count" | "dataLevel" => "1",
        "limit" => "5",
        "coordType" => "WGS-84",
        "zoomLevel" => "5",
        "lat" => "48.8606",
        "lng" => "2.3376",
        "showPrice" | "online" | "freeze" => "true",
        "speed" => "1",
        "advance" | "timeoutMs" | "batteryFault" | "slotFault" | "type" | "batcabFault" | "gpsTime" => "0",
        "username" => "demo",
        "password" => return bajie_sim::api::auth::sha256_hex("demo"),
        "operationType" => "heartbeat",
        "shopid" | "newshopid" => "04679963e0",
        "priceId" => "101",
        "event" => "BATTERY_IN",
        "kind" => "event",
        "status" => "delivered",
        "agent" => "demo",
        "cabinet" => "BJD60151",
        _ => "x",
    };
    v.to_string()
}

/// A JSON body that is wrong in one of many ways.
fn bad_json(g: &mut Gen, doc_example: Option<&Value>) -> Vec<u8> {
    match g.below(12) {
        0 => b"".to_vec(),
        1 => b"{".to_vec(),
        2 => b"{\"a\":}".to_vec(),
        3 => b"null".to_vec(),
        4 => format!("{}{}", "[".repeat(3000), "]".repeat(3000)).into_bytes(),
        5 => b"{\"pushUrl\": 1e999999, \"cabinetIdList\": [1, null, {}], \"size\": -1, \"current\": 99999999999999999999}".to_vec(),
        6 => vec![0xFF, 0xFE, b'{', 0x80, b'}'],
        7 => b"[\"BJD60151\", 7, null, \"SAB30201\", \"\\ud800\"]".to_vec(),
        8 => json!({"pNewid": "", "pName": "日本", "pJingdu": "east", "pWeidu": 999, "name": [], "type": "1", "price": "NaN",
                    "priceId": -5, "shopId": {"$gt": ""}, "eventSubscriptions": "all", "adConfigList": [{"code": 1}]})
        .to_string()
        .into_bytes(),
        9 => {
            // The documented example with one member made the wrong type.
            let mut v = doc_example.cloned().unwrap_or(json!({}));
            if let Some(m) = v.as_object_mut() {
                let keys: Vec<String> = m.keys().cloned().collect();
                if !keys.is_empty() {
                    let k = g.pick(&keys).clone();
                    m.insert(k, g.pick(&[json!(null), json!([]), json!({}), json!(-1), json!("x"), json!(1e300), json!(true)]).clone());
                }
            }
            v.to_string().into_bytes()
        }
        10 => b"[]".to_vec(),
        _ => b"\"just a string\"".to_vec(),
    }
}

/// One request of the walk.
#[derive(Debug)]
struct Case {
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    auth: Option<(String, String)>,
    what: String,
}

fn build_case(op: &Op, k: &Known, g: &mut Gen) -> Case {
    let mut what = Vec::new();
    // Path parameters: valid, or one of the nasty values (percent-encoded, or raw bad escapes).
    let mut path = op.path.clone();
    for p in op.params.iter().filter(|p| p.place == "path") {
        let v = if g.chance(50) {
            valid(&p.name, k, g)
        } else {
            what.push(format!("path {}", p.name));
            g.pick(&nasty_values()).clone()
        };
        let encoded = match g.below(10) {
            0 => "%ZZ%FF%E2%82".to_string(),
            1 => "%2e%2e%2f%2e%2e".to_string(),
            _ => urlencode(&v),
        };
        path = path.replace(&format!("{{{}}}", p.name), &encoded);
    }
    // Query parameters.
    let mode = g.below(10);
    let mut pairs: Vec<(String, String)> = Vec::new();
    let query_params: Vec<&Param> = op.params.iter().filter(|p| p.place == "query").collect();
    match mode {
        0 => what.push("no parameters".into()),
        _ => {
            let victim = if query_params.is_empty() { None } else { Some(g.below(query_params.len())) };
            for (i, p) in query_params.iter().enumerate() {
                if Some(i) == victim || g.chance(15) {
                    match g.below(4) {
                        0 => what.push(format!("{} missing", p.name)),
                        1 => {
                            what.push(format!("{} duplicated", p.name));
                            pairs.push((p.name.clone(), g.pick(&nasty_values()).clone()));
                            pairs.push((p.name.clone(), valid(&p.name, k, g)));
                        }
                        _ => {
                            what.push(format!("{} nasty", p.name));
                            pairs.push((p.name.clone(), g.pick(&nasty_values()).clone()));
                        }
                    }
                } else if p.required || g.chance(50) {
                    pairs.push((p.name.clone(), valid(&p.name, k, g)));
                }
            }
        }
    }
    if g.chance(10) {
        what.push("unknown parameters".into());
        pairs.push(("shopId".into(), "x".into()));
        pairs.push(("\u{1F50B}".into(), "\u{1F50B}".into()));
    }
    // /_sim/pushes/wait waits by design: keep its waits short whatever else the case does.
    if op.path == "/_sim/pushes/wait" {
        let long = |v: &str| v.trim().parse::<i64>().is_ok_and(|n| n > 50);
        pairs.retain(|(n, v)| !(n == "timeoutMs" && long(v)));
        if !pairs.iter().any(|(n, _)| n == "timeoutMs") || g.chance(50) {
            pairs.insert(0, ("timeoutMs".into(), "0".into()));
        }
    }
    let mut query: String =
        pairs.iter().map(|(n, v)| format!("{}={}", urlencode(n), urlencode(v))).collect::<Vec<_>>().join("&");
    match g.below(25) {
        0 => {
            what.push("20 KB query".into());
            query.push_str(&format!("&junk={}", "A".repeat(20 * 1024)));
        }
        1 => {
            what.push("invalid percent-encoding".into());
            query.push_str("&deviceId=%ZZ%&tradeNo=%FF%FE%00&%=%");
        }
        2 => {
            what.push("raw separators".into());
            query.push_str("&&&=&==&a=b=c&;");
        }
        _ => {}
    }
    let mut target = path;
    if !query.is_empty() {
        target = format!("{target}?{query}");
    }

    // Method: the documented one, sometimes another.
    let mut method = op.method.to_ascii_uppercase();
    if g.chance(6) {
        method = g.pick(&["PATCH", "PUT", "DELETE", "OPTIONS", "TRACE"]).to_string();
        what.push(format!("method {method}"));
    }

    // Body and content type.
    let mut headers = Vec::new();
    let mut body = None;
    let content_types = [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "a/b;;;=",
        "application/json; charset=latin1",
    ];
    match g.below(8) {
        0 | 1 if op.json_body => {
            what.push("bad JSON body".into());
            body = Some(bad_json(g, op.body_example.as_ref()));
            headers.push(("content-type".into(), b"application/json".to_vec()));
        }
        2 => {
            what.push("body with a random content type".into());
            let ct = g.pick(&content_types).to_string();
            body = Some(match g.below(4) {
                0 => b"deviceId=%ZZ&tradeNo=\xff".to_vec(),
                1 => b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--".to_vec(),
                2 => b"<xml><deviceId>BJD60151</deviceId></xml>".to_vec(),
                _ => bad_json(g, None),
            });
            headers.push(("content-type".into(), ct.into_bytes()));
        }
        3 if g.chance(30) => {
            what.push("300 KB body".into());
            body = Some(vec![b'a'; 300 * 1024]);
            headers.push(("content-type".into(), g.pick(&content_types).as_bytes().to_vec()));
        }
        4 if !op.json_body => {
            what.push("JSON body where none is taken".into());
            body = Some(br#"{"deviceId":"SAB30201","tradeNo":1}"#.to_vec());
        }
        5 if op.json_body => {
            what.push("gzip-labelled garbage".into());
            body = Some(b"not gzip".to_vec());
            headers.push(("content-encoding".into(), b"gzip".to_vec()));
            headers.push(("content-type".into(), b"application/json".to_vec()));
        }
        _ if op.json_body => {
            // The example body, with the other defects of the case.
            body = op.body_example.as_ref().map(|v| v.to_string().into_bytes());
            headers.push(("content-type".into(), b"application/json".to_vec()));
        }
        _ => {}
    }

    // Credentials (ignored by /_sim unless a token is configured).
    let mut auth = Some(("demo".to_string(), "demo".to_string()));
    if g.chance(12) {
        match g.below(6) {
            0 => {
                auth = None;
                what.push("no credentials".into());
            }
            1 => {
                auth = Some(("demo".into(), "wrong".into()));
                what.push("wrong password".into());
            }
            2 => {
                auth = None;
                headers.push(("authorization".into(), b"Basic !!!not-base64!!!".to_vec()));
                what.push("malformed Basic".into());
            }
            3 => {
                auth = None;
                headers.push(("authorization".into(), b"Bearer 00000000000000000000000000000000".to_vec()));
                what.push("unknown bearer".into());
            }
            4 => {
                auth = None;
                headers.push(("authorization".into(), format!("Basic {}", "QUFB".repeat(2000)).into_bytes()));
                what.push("8 KB credentials".into());
            }
            _ => {
                auth = None;
                headers.push(("authorization".into(), b"Digest \xff\xfe".to_vec()));
                what.push("unknown scheme with obs-text".into());
            }
        }
    }
    if g.chance(3) {
        headers.push(("x-forwarded-for".into(), b"10.0.0.1".to_vec()));
        headers.push(("accept".into(), b"text/html".to_vec()));
        what.push("browser-like headers".into());
    }
    Case { method, target, headers, body, auth, what: what.join(", ") }
}

/// A documented parameter.
#[derive(Debug, Clone)]
struct Param {
    name: String,
    place: String,
    required: bool,
}

/// A documented operation.
#[derive(Debug, Clone)]
struct Op {
    method: String,
    path: String,
    params: Vec<Param>,
    json_body: bool,
    body_example: Option<Value>,
}

fn operations() -> Vec<Op> {
    let doc: Value = serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, o) in item.as_object().unwrap() {
            let params = o["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| Param {
                    name: p["name"].as_str().unwrap().to_string(),
                    place: p["in"].as_str().unwrap().to_string(),
                    required: p["required"].as_bool().unwrap_or(false),
                })
                .collect();
            let json_body = o["requestBody"]["content"]["application/json"].is_object();
            let body_example = match path.as_str() {
                p if p.ends_with("/eventPush/config") => {
                    Some(json!({"pushUrl": "http://127.0.0.1:9/e", "eventSubscriptions": []}))
                }
                p if p.ends_with("/unbindShop") || p.ends_with("/priceStrategy/delete") => Some(json!(["BJD60203"])),
                _ if json_body => Some(
                    json!({"pNewid": "fuzz01", "pName": "Fuzz", "pJingdu": "2.3", "pWeidu": "48.8", "name": "Fuzz"}),
                ),
                _ => None,
            };
            ops.push(Op { method: method.clone(), path: path.clone(), params, json_body, body_example });
        }
    }
    ops
}

/// Orders and a battery the walk refers to.
async fn setup(app: &TestApp) -> Known {
    let cb = "http://127.0.0.1:9/cb";
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL={cb}")).await;
    let pending_order = v["data"]["tradeNo"].as_str().unwrap().to_string();
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL={cb}")).await;
    let leased_order = v["data"]["tradeNo"].as_str().unwrap().to_string();
    let (_, v) =
        app.post(&format!("/cabinet/ejectByRent?cabinetid={DEMO_CAB}&rentOrderId={leased_order}&slotNum=1")).await;
    assert_eq!(v["code"], 0, "{v}");
    let (_, v) = app.get(&format!("/rent/order/detail?tradeNo={leased_order}")).await;
    let battery = v["data"]["batteryId"].as_str().unwrap().to_string();
    Known { pending_order, leased_order, battery }
}

/// What a refused request must leave untouched: the world and the journal's length.
fn fingerprint(app: &TestApp) -> (World, Option<u64>) {
    let s = &app.running.state;
    // Journal ids only grow: the newest id tells whether anything was queued.
    (s.store.snapshot(), s.push.list(&Default::default(), Some(1)).first().map(|e| e.id))
}

/// Put back what an accepted control request may have changed for the rest of the walk.
async fn restore(app: &TestApp) {
    app.control("/clock?freeze=true&speed=1").await;
    // Fault rules, once that module is merged; a 404 envelope before.
    app.client.delete(app.sim("/faults")).send().await.unwrap();
}

/// Send a case; check the answer is the envelope with a documented status. Returns whether
/// the request was accepted (may have changed state) and a short description.
async fn send(app: &TestApp, c: &Case) -> (bool, String) {
    let url = format!("{}{}", app.base, c.target);
    let mut req = app.client.request(c.method.parse().unwrap(), url);
    if let Some((u, p)) = &c.auth {
        req = req.basic_auth(u, Some(p));
    }
    for (n, v) in &c.headers {
        req = req.header(n.as_str(), reqwest::header::HeaderValue::from_bytes(v).unwrap());
    }
    if let Some(b) = &c.body {
        req = req.body(b.clone());
    }
    let short_target: String = c.target.chars().take(160).collect();
    let label = format!("{} {short_target} [{}]", c.method, c.what);
    // A deadline, not a speed bound: an answer that has not come within it never will.
    let r = tokio::time::timeout(ANSWER_DEADLINE, req.send())
        .await
        .unwrap_or_else(|_| panic!("{label}: no answer within {ANSWER_DEADLINE:?} (a hang)"))
        .unwrap_or_else(|e| panic!("{label}: no answer ({e})"));
    let status = r.status().as_u16();
    let ctype = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = r.text().await.unwrap_or_else(|e| panic!("{label}: answer cut short ({e})"));
    let big = c.target.starts_with("/_sim/openapi.json") || (c.method == "GET" && c.target.starts_with("/_sim/state"));
    if big && status == 200 {
        // The document and the world export (checked by tests/api/openapi.rs): parsing them
        // each time is slow in a debug build.
        assert!(ctype.starts_with("application/json") && text.starts_with('{'), "{label}");
        return (false, format!("{label} -> 200"));
    }
    let label = format!("{label} -> {status} {}", &text.chars().take(300).collect::<String>());
    assert!([200, 401, 404, 413, 414].contains(&status), "{label}: undocumented status");
    if c.target.starts_with("/_sim/ui") && status == 200 {
        assert!(ctype.starts_with("text/html"), "{label}");
        return (false, label);
    }
    if c.target.starts_with("/_sim/metrics") && status == 200 {
        // The Prometheus text format, not the envelope (tests/api/metrics.rs reads it).
        assert!(ctype.starts_with("text/plain; version=0.0.4") && text.starts_with("# HELP"), "{label}");
        return (false, label);
    }
    assert!(ctype.starts_with("application/json"), "{label}: content-type '{ctype}'");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{label}: not JSON ({e})"));
    assert!(v.is_object(), "{label}: not an object");
    if status == 200 && v.get("key").is_some_and(Value::is_string) {
        return (true, label); // A1's {key}
    }
    let code = v["code"].as_i64().or_else(|| v["code"].as_str().and_then(|s| s.parse().ok()));
    let code = code.unwrap_or_else(|| panic!("{label}: no code"));
    assert!(v["msg"].as_str().is_some_and(|m| !m.trim().is_empty()), "{label}: no message");
    if status != 200 {
        assert_eq!(code, i64::from(status), "{label}: code repeats the status");
    }
    if code != 0 {
        let carries_data = c.target.starts_with("/_sim/check") || c.target.starts_with("/_sim/pushes/wait");
        assert!(carries_data || v.get("data").is_none(), "{label}: an error has no data key");
        assert!(code != 9001 || !c.target.starts_with("/_sim/check"), "{label}: invariants broken");
    }
    (status == 200 && code == 0, label)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_input_gets_anything_but_the_envelope_and_refused_input_changes_nothing() {
    let app = spawn_app().await;
    let known = setup(&app).await;
    let ops = operations();
    assert!(ops.len() >= 60, "{} operations", ops.len());
    let mut g = Gen(SEED);
    let mut cases = Vec::new();
    for op in &ops {
        for _ in 0..CASES_PER_OPERATION {
            cases.push((op.path.clone(), build_case(op, &known, &mut g)));
        }
    }
    // Interleave operations so state built by one is met by the others.
    for i in (1..cases.len()).rev() {
        let j = g.below(i + 1);
        cases.swap(i, j);
    }
    let started = Instant::now();
    let (mut accepted, mut refused, mut by_status) = (0, 0, std::collections::BTreeMap::<u16, usize>::new());
    let mut before = fingerprint(&app);
    let mut fp_time = Duration::ZERO;
    for (n, (path, c)) in cases.iter().enumerate() {
        let (ok, label) = send(&app, c).await;
        *by_status.entry(label.split(" -> ").nth(1).and_then(|s| s[..3].parse().ok()).unwrap_or(0)).or_default() += 1;
        if ok {
            accepted += 1;
            if path.starts_with("/_sim") {
                restore(&app).await;
            }
            if path == "/_sim/reset" {
                // Same seed, same start: the same orders come back under the same ids, so
                // the prepared cases keep referring to real records.
                let again = setup(&app).await;
                assert_eq!((&again.pending_order, &again.leased_order), (&known.pending_order, &known.leased_order));
            }
            before = fingerprint(&app);
        } else {
            refused += 1;
            let t = Instant::now();
            let after = fingerprint(&app);
            fp_time += t.elapsed();
            assert!(after.1 == before.1, "{label}: a refused request queued a push or callback");
            if path.ends_with("/cabinet/ejectByRent") && after.0 != before.0 {
                // A refused ejectByRent still takes its pending order over (docs/fidelity.md):
                // the order's automatic eject leaves the world's schedule, nothing else moves.
                assert!(
                    after.0.eq_except_due(&before.0),
                    "{label}: a refused ejectByRent changed more than the order's schedule"
                );
                before = after;
            } else {
                assert!(after.0 == before.0, "{label}: a refused request changed the world");
            }
        }
        if n % 200 == 199 {
            app.assert_consistent().await;
        }
    }
    app.assert_consistent().await;
    let elapsed = started.elapsed();
    eprintln!(
        "fuzz: {} requests over {} operations in {elapsed:?} (fingerprints {fp_time:?}): {accepted} accepted, {refused} refused; statuses {by_status:?}",
        cases.len(),
        ops.len()
    );
    assert!(refused > accepted, "most fuzz cases are refused");
}

/// Raw bytes on a socket: what actix's HTTP parser refuses before the application, and what
/// reaches the application only as raw bytes (invalid UTF-8, control characters).
#[tokio::test]
async fn malformed_http_is_refused_and_the_server_keeps_serving() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let addr = app.running.addr;
    let big_head = format!("GET /_sim/health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(140 * 1024));
    let many_headers = format!("GET /_sim/health HTTP/1.1\r\nHost: x\r\n{}\r\n", "X-A: b\r\n".repeat(200));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not HTTP", b"GARBAGE\r\n\r\n".to_vec()),
        ("bad Content-Length", b"POST /_sim/reset HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".to_vec()),
        ("two Content-Lengths", b"POST /_sim/reset HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".to_vec()),
        ("head over 128 KiB", big_head.into_bytes()),
        ("200 headers", many_headers.into_bytes()),
        ("bad chunk size", b"POST /_sim/tick HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nab\r\n0\r\n\r\n".to_vec()),
        ("invalid UTF-8 in the path", b"GET /cdb-open-api/v1/rent/cabinet/query\xff\xfe?deviceId=\xff HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("control character in the target", b"GET /_sim/health\x01 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("HTTP/0.9", b"GET /_sim/health\r\n\r\n".to_vec()),
        ("unknown version", b"GET /_sim/health HTTP/7.3\r\nHost: x\r\n\r\n".to_vec()),
        ("truncated body", b"POST /cdb-open-api/v1/cabinet/eventPush/config HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nContent-Type: application/json\r\n\r\n{\"a\"".to_vec()),
    ];
    for (what, bytes) in cases {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _ = s.write_all(&bytes).await;
        if what == "truncated body" {
            // The client stops sending; the server must answer or close once it hangs up.
            let _ = s.shutdown().await;
        }
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
        let text = String::from_utf8_lossy(&buf).to_string();
        assert!(read.is_ok(), "{what}: the connection was held open");
        let head = text.split("\r\n").next().unwrap_or("");
        if let Some(status) = head.split(' ').nth(1) {
            assert!(!status.starts_with('5'), "{what}: {head}");
            let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
            // Answers from the application are the envelope; the parser's own (400, 431) are
            // empty, with the connection closed.
            if !body.is_empty() {
                let v: Value =
                    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{what}: {head} {body} ({e})"));
                assert!(v["code"].is_i64() && v["msg"].is_string(), "{what}: {body}");
            } else {
                assert!(["400", "431", "505"].contains(&status) || head.is_empty(), "{what}: {head}");
            }
        }
        let (s, v) = read_health(&app).await;
        assert_eq!((s, &v["code"]), (200, &json!(0)), "{what}: the server still serves");
    }
}

/// A request head that does not complete within 5 s is answered by the HTTP parser, before
/// the application: 408 with an empty body, and the connection closed.
#[tokio::test]
async fn a_request_head_that_never_completes_is_answered_408_and_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let mut s = tokio::net::TcpStream::connect(app.running.addr).await.unwrap();
    s.write_all(b"GET /_sim/health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was held open");
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    assert!(head.starts_with("HTTP/1.1 408"), "{text}");
    assert!(body.is_empty(), "{text}");
    let (s, v) = read_health(&app).await;
    assert_eq!((s, &v["code"]), (200, &json!(0)), "the server still serves");
}

async fn read_health(app: &TestApp) -> (u16, Value) {
    read(app.client.get(app.sim("/health")).send().await.unwrap()).await
}
