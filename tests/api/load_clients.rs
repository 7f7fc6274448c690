//! What a load test's clients meet: many bearer tokens on one account, fault rules that do
//! not concern them, request bodies that never arrive, the process's open-file limit.

use crate::helpers::*;
use bajie_sim::config::Config;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn login(app: &TestApp, account: &str) -> (u16, Value) {
    let sha = bajie_sim::api::auth::sha256_hex(account);
    let r = app.client.post(app.api(&format!("/oauth2/login?username={account}&password={sha}"))).send().await.unwrap();
    read(r).await
}

async fn with_token(app: &TestApp, token: &str) -> u16 {
    let r = app.client.get(app.api("/cabinet/eventPush/config/get")).bearer_auth(token).send().await.unwrap();
    r.status().as_u16()
}

#[tokio::test]
async fn two_hundred_users_of_one_account_all_keep_their_tokens_until_they_expire() {
    let app = spawn_with(Config { token_ttl_s: 3600, ..Config::for_tests() }).await;
    let app = std::sync::Arc::new(app);
    let mut logins = Vec::new();
    for _ in 0..200 {
        let app = app.clone();
        logins.push(tokio::spawn(async move { login(&app, "demo").await }));
    }
    let mut tokens = Vec::new();
    for l in logins {
        let (status, v) = l.await.unwrap();
        assert_eq!(status, 200, "{v}");
        tokens.push(v["key"].as_str().unwrap().to_string());
    }
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 200, "200 distinct tokens");
    for t in &tokens {
        assert_eq!(with_token(&app, t).await, 200, "every token still works");
    }
    // They expire by age (virtual time), all of them, and a new login works again.
    app.advance(3599).await;
    assert_eq!(with_token(&app, &tokens[0]).await, 200);
    app.advance(1).await;
    for t in &tokens {
        assert_eq!(with_token(&app, t).await, 401, "an hour-old token has expired");
    }
    let (status, v) = login(&app, "demo").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(with_token(&app, v["key"].as_str().unwrap()).await, 200);
}

#[tokio::test]
async fn a_request_fault_rule_that_does_not_match_changes_nothing_and_one_that_matches_fires() {
    let app = spawn_app().await;
    let store = || app.running.state.store.stamp();
    for rule in [
        "/faults?effect=error&endpoint=O2",
        "/faults?effect=httpStatus&httpStatus=503&device=BJD99999",
        "/faults?effect=latency&latencyMs=5000&agent=acme",
    ] {
        assert_eq!(app.control(rule).await["code"], 0, "{rule}");
    }
    let before = store();
    let baseline = app.device(DEMO, DEMO_CAB).await;
    assert_eq!(baseline["code"], 0, "{baseline}");
    for _ in 0..20 {
        assert_eq!(app.device(DEMO, DEMO_CAB).await, baseline);
    }
    // Deciding took no write: the world's version did not move.
    assert_eq!(store(), before, "a non-matching rule took the write lock");
    let rules = app.control_get("/faults").await;
    assert!(rules["data"]["rules"].as_array().unwrap().iter().all(|r| r["fired"] == 0), "{rules}");
    // A rule that matches still fires, and counts.
    assert_eq!(
        app.control(&format!("/faults?effect=error&code=7777&msg=boom&device={DEMO_CAB}&times=1")).await["code"],
        0
    );
    let v = app.device(DEMO, DEMO_CAB).await;
    assert_eq!((v["code"].as_i64(), v["msg"].as_str()), (Some(7777), Some("boom")), "{v}");
    assert_eq!(app.device(DEMO, DEMO_CAB).await, baseline, "used up after one firing");
}

/// Send `head` on a raw connection and read until the server closes it (at most 10 s).
async fn raw_exchange(app: &TestApp, head: &str, then: Option<(Duration, &str)>) -> String {
    let addr = app.running.addr;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    if let Some((pause, rest)) = then {
        tokio::time::sleep(pause).await;
        s.write_all(rest.as_bytes()).await.unwrap();
    }
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the connection was not closed within 10 s; got so far: {}", String::from_utf8_lossy(&out));
    String::from_utf8_lossy(&out).into_owned()
}

fn head(method: &str, path: &str, length: usize) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: sim\r\nAuthorization: Basic ZGVtbzpkZW1v\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408_in_the_envelope_and_the_connection_closed() {
    let app = spawn_with(Config { body_timeout_ms: 300, ..Config::for_tests() }).await;
    for (method, path) in [
        ("POST", "/cdb-open-api/v1/cabinet/eventPush/config"),
        ("POST", "/cdb-open-api/v1/rent/order/create"),
        ("POST", "/_sim/faults"),
        ("PUT", "/_sim/state"),
    ] {
        let answer = raw_exchange(&app, &head(method, path, 100), None).await;
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        assert!(head.starts_with("HTTP/1.1 408"), "{method} {path}: {answer}");
        assert!(head.to_ascii_lowercase().contains("connection: close"), "{method} {path}: {answer}");
        let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{method} {path}: {e}: {body}"));
        assert_eq!(v["code"], 408, "{v}");
        assert!(v["msg"].as_str().unwrap().contains("300 ms (--body-timeout-ms)"), "{v}");
        assert!(v.get("data").is_none());
    }
    // A body that arrives in pieces, each within the timeout, is read as usual.
    let body = r#"{"effect":"dropPush","event":"BATTERY_IN"}"#;
    let (first, rest) = body.split_at(10);
    let req = head("POST", "/_sim/faults", body.len()).replace("Host: sim\r\n", "Host: sim\r\nConnection: close\r\n");
    let answer = raw_exchange(&app, &format!("{req}{first}"), Some((Duration::from_millis(100), rest))).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""code":0"#), "{answer}");
    app.assert_consistent().await;
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_binary_raises_its_soft_open_file_limit_to_the_hard_one() {
    use std::process::{Command, Stdio};
    let hard = String::from_utf8(Command::new("sh").args(["-c", "ulimit -Hn"]).output().unwrap().stdout).unwrap();
    let hard = hard.trim().to_string();
    // Started with a soft limit of 256 (below the hard one), as many systems start a process
    // at 1024.
    let mut child = Command::new("sh")
        .args(["-c", "ulimit -Sn 256 && exec \"$0\" --bind 127.0.0.1:0 --no-sim --frozen --seed 1"])
        .arg(env!("CARGO_BIN_EXE_bajie-sim"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut l = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut l);
        l
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !reader.is_finished() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if reader.is_finished() {
        line = reader.join().unwrap();
    }
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("bajie-sim listening on"), "{line}");
    let row = limits.lines().find(|l| l.starts_with("Max open files")).unwrap_or_default().to_string();
    let numbers: Vec<&str> = row.split_whitespace().skip(3).take(2).collect();
    let want = if hard == "unlimited" { "unlimited" } else { hard.as_str() };
    assert_eq!(numbers, [want, want], "{row}");
}
