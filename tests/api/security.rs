//! Security: the optional control token on every `/_sim` route, size limits answered in the
//! envelope, callback and push URLs limited to http(s), bounded bearer tokens.

use crate::helpers::*;
use bajie_sim::config::{Config, Secret};
use serde_json::{json, Value};

const TOKEN: &str = "c0ntrol-t0ken";

/// Every documented `/_sim` route, with its path parameters filled in.
fn control_routes() -> Vec<(String, String)> {
    let doc: Value = serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
    let mut v = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/_sim") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            v.push((method.to_ascii_uppercase(), path.replace("{id}", DEMO_CAB)));
        }
    }
    v
}

async fn send(app: &TestApp, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Value, String) {
    let mut req = app.client.request(method.parse().unwrap(), format!("{}{path}", app.base));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let challenge = r.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), challenge)
}

#[tokio::test]
async fn with_a_control_token_every_control_route_needs_it_and_the_platform_api_does_not() {
    let mut cfg = Config::for_tests();
    cfg.control_token = Some(Secret::new(TOKEN));
    let app = spawn_with(cfg).await;
    let routes = control_routes();
    assert!(routes.len() >= 20);
    let bearer = format!("Bearer {TOKEN}");
    for (method, path) in &routes {
        for (what, headers) in [
            ("no token", vec![]),
            ("wrong token", vec![("x-sim-token", "c0ntrol-t0kem")]),
            ("token prefix", vec![("x-sim-token", "c0ntrol")]),
            ("token as Basic", vec![("authorization", "Basic YzBudHJvbC10MGtlbjo=")]),
            ("token in the query string", vec![]),
        ] {
            let p = if what == "token in the query string" && !path.starts_with("/_sim/ui") {
                format!("{path}?token={TOKEN}")
            } else {
                path.clone()
            };
            let (status, v, challenge) = send(&app, method, &p, &headers).await;
            assert_eq!(status, 401, "{method} {p} ({what}): {v}");
            assert_eq!(v["code"], 401, "{method} {p}: {v}");
            assert!(v["msg"].as_str().unwrap().contains("X-Sim-Token"), "{v}");
            assert!(v.get("data").is_none());
            assert!(challenge.starts_with("Bearer"), "{challenge}");
        }
        for headers in [vec![("x-sim-token", TOKEN)], vec![("authorization", bearer.as_str())]] {
            let p = if path.ends_with("/pushes/wait") { format!("{path}?timeoutMs=0") } else { path.clone() };
            let (status, v, _) = send(&app, method, &p, &headers).await;
            assert_ne!(status, 401, "{method} {p} with the token: {v}");
        }
    }
    // Spellings the router decodes to a control route need the token as well.
    for path in
        ["/%5Fsim/health", "/%5fsim/reset", "/_sim/%68ealth", "/%5Fsim/ui?token=c0ntrol-t0ken-not", "/_sim/health/"]
    {
        let method = if path.contains("reset") { "POST" } else { "GET" };
        let (status, v, _) = send(&app, method, path, &[]).await;
        assert!(status == 401 || status == 404, "{path}: {status} {v}");
        assert_ne!(v["code"], 0, "{path}: {v}");
    }
    // The dashboard also takes it from the address bar.
    let (status, v, _) = send(&app, "GET", &format!("/_sim/ui?token={TOKEN}"), &[]).await;
    assert_ne!(status, 401, "{v}");
    // The platform API is unaffected: Basic as always, no token needed (after undoing what
    // the walk above did with the token: it called every control route).
    let (status, _, _) = send(&app, "POST", "/_sim/reset", &[("x-sim-token", TOKEN)]).await;
    assert_eq!(status, 200);
    let (status, v) = app.get(&format!("/rent/cabinet/query?deviceId={DEMO_CAB}")).await;
    assert_eq!((status, &v["code"]), (200, &json!(0)));
    // A token configured for /_sim is no platform credential.
    let (status, _, _) =
        send(&app, "GET", "/cdb-open-api/v1/rent/cabinet/query?deviceId=BJD60151", &[("authorization", &bearer)]).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn bodies_and_urls_over_the_limits_get_413_and_414_in_the_envelope() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let big = "a".repeat(256 * 1024 + 1);
    for (method, path, ctype) in [
        ("POST", "/cdb-open-api/v1/rent/order/create", "application/x-www-form-urlencoded"),
        ("POST", "/cdb-open-api/v1/cabinet/eventPush/config", "application/json"),
        ("POST", "/_sim/tick", "application/json"),
        ("GET", "/cdb-open-api/v1/rent/cabinet/query", "text/plain"),
        ("POST", "/nowhere", "text/plain"),
    ] {
        let r = app
            .client
            .request(method.parse().unwrap(), format!("{}{path}", app.base))
            .basic_auth("demo", Some("demo"))
            .header("content-type", ctype)
            .body(big.clone())
            .send()
            .await
            .unwrap();
        let (status, v) = read(r).await;
        assert_eq!((status, &v["code"]), (413, &json!(413)), "{path}: {v}");
        assert_eq!(v["msg"], "Request body is larger than 256 KiB.");
    }
    // Exactly at the limit is read (callbackURL is optional: the order is created).
    let at_limit = format!("deviceId=BJD60151&pad={}", "a".repeat(256 * 1024 - 22));
    assert_eq!(at_limit.len(), 256 * 1024);
    let r = app
        .client
        .post(app.api("/rent/order/create"))
        .basic_auth("demo", Some("demo"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(at_limit)
        .send()
        .await
        .unwrap();
    let (status, v) = read(r).await;
    assert_eq!((status, &v["code"]), (200, &json!(0)), "{v}");

    // A chunked body (no Content-Length) is cut at the limit too.
    let mut s = tokio::net::TcpStream::connect(app.running.addr).await.unwrap();
    let mut req =
        b"POST /_sim/tick HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for _ in 0..40 {
        req.extend_from_slice(format!("{:x}\r\n{}\r\n", 8192, "a".repeat(8192)).as_bytes());
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let _ = s.write_all(&req).await;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains(r#"{"msg":"Request body is larger than 256 KiB.","code":413}"#), "{text}");

    // URLs: 16 KiB is the limit of path and query together.
    for (len, status) in [(16 * 1024, 200), (16 * 1024 + 1, 414), (60 * 1024, 414)] {
        let prefix = format!("/cdb-open-api/v1/rent/cabinet/query?deviceId={DEMO_CAB}&pad=");
        let url = format!("{prefix}{}", "p".repeat(len - prefix.len()));
        let r = app.client.get(format!("{}{url}", app.base)).basic_auth("demo", Some("demo")).send().await.unwrap();
        let (s, v) = read(r).await;
        assert_eq!(s, status, "{len}: {v}");
        if status == 414 {
            assert_eq!(v["code"], 414);
            assert!(v["msg"].as_str().unwrap().contains("at most 16 KiB"), "{v}");
        } else {
            assert_eq!(v["code"], 0);
        }
    }
}

#[tokio::test]
async fn only_absolute_http_and_https_urls_are_called_back_or_pushed_to() {
    let app = spawn_app().await;
    let cases = [
        ("file:///etc/passwd", false),
        ("ftp://127.0.0.1/cb", false),
        ("gopher://127.0.0.1:70/_x", false),
        ("javascript:alert(1)", false),
        ("data:text/plain,hi", false),
        ("mailto:ops@example.com", false),
        ("//127.0.0.1:9/cb", false),
        ("/cb", false),
        ("http://", false),
        ("127.0.0.1:9/cb", false),
        ("http://127.0.0.1:9/cb?token=a%20b", true),
        ("HTTP://127.0.0.1:9/CB", true),
        ("https://127.0.0.1:9/cb", true),
        ("http://[::1]:9/cb", true),
    ];
    for (url, ok) in cases {
        let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL={}", urlencode(url))).await;
        if ok {
            assert_eq!(v["code"], 0, "callbackURL {url}: {v}");
        } else {
            assert_eq!(v["code"], 1001, "callbackURL {url}: {v}");
            assert!(v["msg"].as_str().unwrap().contains("callbackURL"), "{v}");
        }
        let body = json!({"pushUrl": "http://127.0.0.1:9/e", "eventSubscriptions": [{"event": "BATTERY_IN", "pushUrl": url, "enable": true}]});
        let (_, v) = app.post_json_as(DEMO, "/cabinet/eventPush/config", &body).await;
        assert_eq!(v["code"], if ok { 0 } else { 1002 }, "per-event pushUrl {url}: {v}");
    }
    app.assert_consistent().await;
}

#[tokio::test]
async fn bearer_tokens_stay_bounded_however_often_a_client_logs_in() {
    let app = spawn_with(Config { max_tokens_per_account: 20, ..Config::for_tests() }).await;
    let sha = bajie_sim::api::auth::sha256_hex("demo");
    let login = || async {
        let r = app.client.post(app.api(&format!("/oauth2/login?username=demo&password={sha}"))).send().await.unwrap();
        read(r).await
    };
    let mut token = String::new();
    for _ in 0..20 {
        let (status, v) = login().await;
        assert_eq!(status, 200, "{v}");
        token = v["key"].as_str().unwrap().to_string();
    }
    // Past the cap the login is refused, in the envelope, naming the limit.
    let (status, v) = login().await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(v["code"], 429);
    assert!(v["msg"].as_str().unwrap().contains("--max-tokens-per-account"), "{v}");
    assert!(v.get("data").is_none());
    // The tokens work; a guess that shares a prefix does not.
    let r = app.client.get(app.api("/cabinet/eventPush/config/get")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.client.get(app.api("/cabinet/eventPush/config/get")).bearer_auth(&token[..31]).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // Wrong-case accounts and swapped passwords are refused.
    for (u, p) in [("Demo", "demo"), ("DEMO", "demo"), ("acme", "demo"), ("demo", "Demo"), ("demo ", "demo"), ("", "")]
    {
        let r = app.client.get(app.api("/cabinet/eventPush/config/get")).basic_auth(u, Some(p)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{u}:{p}");
    }
}
