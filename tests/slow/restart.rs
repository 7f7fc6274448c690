//! Restarts, black-box: the built binary under load receives SIGTERM (or SIGINT) with
//! requests in flight and a callback being delivered. It stops accepting connections,
//! finishes the requests in flight, delivers the pending callback within its grace period and
//! exits 0 within a deadline, having logged neither credentials nor tokens.

use crate::helpers::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The built simulator on a free loopback port, with its URL and a reader of its stderr.
struct Process {
    child: Child,
    url: String,
    stderr: std::sync::Arc<parking_lot::Mutex<String>>,
    /// Lines on stdout after the listening line (there must be none: scripts parse stdout).
    extra_stdout: std::sync::Arc<parking_lot::Mutex<Vec<String>>>,
}

fn start(extra: &[&str], env: &[(&str, &str)]) -> Process {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bajie-sim"));
    cmd.args(["--bind", "127.0.0.1:0", "--no-sim", "--frozen", "--seed", "1"])
        .args(extra)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = std::sync::Arc::new(parking_lot::Mutex::new(String::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut l = sink.lock();
            l.push_str(&line);
            l.push('\n');
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let extra_stdout = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let extra = extra_stdout.clone();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(first)) = lines.next() {
            let _ = tx.send(first);
        }
        extra.lock().extend(lines.map_while(Result::ok));
    });
    let first = rx.recv_timeout(Duration::from_secs(20)).expect("the listening line");
    let url =
        first.strip_prefix("bajie-sim listening on ").unwrap_or_else(|| panic!("listening line: {first}")).to_string();
    Process { child, url, stderr: log, extra_stdout }
}

fn signal(p: &Process, sig: &str) {
    let ok = Command::new("kill").args([&format!("-{sig}"), &p.child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill -{sig}");
}

/// Wait for the process to exit, at most `deadline`.
async fn exit_within(p: &mut Process, deadline: Duration) -> std::process::ExitStatus {
    let end = Instant::now() + deadline;
    loop {
        if let Some(s) = p.child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > end {
            let _ = p.child.kill();
            panic!("the simulator did not exit within {deadline:?}; log:\n{}", p.stderr.lock());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether the log has `text`, waiting a little for the reader thread to catch up.
async fn logged(p: &Process, text: &str) -> bool {
    let end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < end {
        if p.stderr.lock().contains(text) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn json(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_finishes_in_flight_requests_delivers_the_pending_callback_and_exits_0() {
    let sink = Sink::start().await;
    sink.set(Behaviour::Delay(1200));
    let mut p = start(&["--control-token", "tok-3f9a"], &[]);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let api = |path: &str| format!("{}/cdb-open-api/v1{path}", p.url);
    let sim = |path: &str| format!("{}/_sim{path}", p.url);

    // A rental whose status=1 callback is being delivered (the receiver takes 1.2 s).
    // Secrets in flight: a bearer token, and a token in the callback URL's own query string.
    let sha = bajie_sim::api::auth::sha256_hex("demo");
    let v = json(client.post(api(&format!("/oauth2/login?username=demo&password={sha}"))).send().await.unwrap()).await;
    let bearer = v["key"].as_str().unwrap().to_string();
    let create = api(&format!("/rent/order/create?deviceId=BJD60151&callbackURL={}/cb%3Fsecret%3Dcb-5e5", sink.url));
    let v = json(client.post(create).bearer_auth(&bearer).send().await.unwrap()).await;
    let trade = v["data"]["tradeNo"].as_str().unwrap().to_string();
    let v = json(
        client
            .post(api(&format!("/cabinet/ejectByRent?cabinetid=BJD60151&rentOrderId={trade}&slotNum=0")))
            .basic_auth("demo", Some("demo"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["code"], 0, "{v}");
    sink.wait_for(1, |_| true, Duration::from_secs(5)).await; // the attempt is on the wire

    // Requests in flight: long polls that end on their own after 1.5 s, and steady load.
    let in_flight: Vec<_> = (0..3)
        .map(|_| {
            let (c, u) = (client.clone(), sim("/pushes/wait?count=99&timeoutMs=1500"));
            tokio::spawn(async move { c.get(u).header("x-sim-token", "tok-3f9a").send().await })
        })
        .collect();
    let load = {
        let (c, u) = (client.clone(), api("/rent/cabinet/query?deviceId=BJD60151"));
        tokio::spawn(async move {
            let (mut ok, mut refused) = (0, 0);
            let end = Instant::now() + Duration::from_secs(3);
            while Instant::now() < end {
                match c.get(&u).basic_auth("demo", Some("demo")).send().await {
                    Ok(r) => {
                        assert_eq!(r.status(), 200);
                        let v: Value = r.json().await.unwrap();
                        assert_eq!(v["code"], 0);
                        ok += 1;
                    }
                    Err(_) => refused += 1,
                }
            }
            (ok, refused)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    signal(&p, "TERM");

    // Stops accepting: a fresh connection is refused soon after the signal.
    let mut refused_new = false;
    for _ in 0..50 {
        let fresh =
            reqwest::Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_secs(2)).build().unwrap();
        if fresh.get(sim("/health")).header("x-sim-token", "tok-3f9a").send().await.is_err() {
            refused_new = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Finishes in-flight requests: every long poll gets its (timed-out) answer.
    for h in in_flight {
        let r = h.await.unwrap().expect("an in-flight request is answered, not cut");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], 9001, "{v}");
    }
    let status = exit_within(&mut p, Duration::from_secs(12)).await;
    let took = signalled.elapsed();
    let (ok, _) = load.await.unwrap();
    assert!(status.success(), "exit status {status:?}; log:\n{}", p.stderr.lock());
    assert!(refused_new, "new connections were still accepted after SIGTERM");
    assert!(ok > 0);
    // The callback that was on the wire was delivered, not abandoned.
    let got = sink.received();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].form()[1], ("tradeNo".to_string(), trade));
    assert!(logged(&p, "stopped").await, "{}", p.stderr.lock());
    assert!(p.extra_stdout.lock().is_empty(), "stdout has only the listening line: {:?}", p.extra_stdout.lock());
    let log = p.stderr.lock().clone();
    assert!(log.contains("shutting down"), "{log}");
    assert!(!log.contains("abandoned"), "the pending callback was abandoned:\n{log}");
    for secret in ["tok-3f9a", "ZGVtbzpkZW1v", "demo:demo", bearer.as_str(), sha.as_str(), "cb-5e5"] {
        assert!(!log.contains(secret), "'{secret}' appears in the log:\n{log}");
    }
    eprintln!("SIGTERM: exited 0 after {took:?}; {ok} requests served under load before it");
}

#[tokio::test]
async fn sigint_on_an_idle_simulator_exits_0_promptly() {
    let mut p = start(&[], &[]);
    let client = reqwest::Client::new();
    let v = json(client.get(format!("{}/_sim/health", p.url)).send().await.unwrap()).await;
    assert_eq!(v["code"], 0);
    signal(&p, "INT");
    let status = exit_within(&mut p, Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn a_second_signal_skips_the_grace_period() {
    let sink = Sink::start().await;
    sink.set(Behaviour::Hang);
    let mut p = start(&[], &[]);
    let client = reqwest::Client::new();
    let (api, auth) = (format!("{}/cdb-open-api/v1", p.url), ("demo", Some("demo")));
    let v = json(
        client
            .post(format!("{api}/rent/order/create?deviceId=BJD60151&callbackURL={}/cb", sink.url))
            .basic_auth(auth.0, auth.1)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let trade = v["data"]["tradeNo"].as_str().unwrap();
    client
        .post(format!("{api}/cabinet/ejectByRent?cabinetid=BJD60151&rentOrderId={trade}&slotNum=0"))
        .basic_auth(auth.0, auth.1)
        .send()
        .await
        .unwrap();
    sink.wait_for(1, |_| true, Duration::from_secs(5)).await; // a delivery now hangs
    signal(&p, "TERM");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(p.child.try_wait().unwrap().is_none(), "the first signal waits for the pending callback");
    // Deliveries get 5 s of grace after the first signal; exiting within 3 s of the second,
    // with a delivery still hanging, is the skip.
    signal(&p, "TERM");
    let status = exit_within(&mut p, Duration::from_secs(3)).await;
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert!(logged(&p, "second signal").await, "{}", p.stderr.lock());
}

#[tokio::test]
async fn binding_beyond_loopback_warns_about_the_open_control_api() {
    let mut p = start(&["--bind", "0.0.0.0:0"], &[]);
    let port = p.url.rsplit(':').next().unwrap().to_string();
    let v = json(reqwest::get(format!("http://127.0.0.1:{port}/_sim/health")).await.unwrap()).await;
    assert_eq!(v["code"], 0);
    signal(&p, "TERM");
    assert!(exit_within(&mut p, Duration::from_secs(10)).await.success());
    assert!(logged(&p, "reachable from other machines").await, "{}", p.stderr.lock());
    assert!(p.stderr.lock().contains("--control-token"));
}

fn state_file(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("bajie-sim-restart-{}-{name}.json", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

async fn create(client: &reqwest::Client, url: &str) -> Option<String> {
    let r = client
        .post(format!("{url}/cdb-open-api/v1/rent/order/create?deviceId=BJD60151&callbackURL=http://127.0.0.1:9/cb"))
        .basic_auth("demo", Some("demo"))
        .send()
        .await
        .ok()?;
    let v: Value = r.json().await.ok()?;
    v["data"]["tradeNo"].as_str().map(str::to_string)
}

async fn detail_code(client: &reqwest::Client, url: &str, trade: &str) -> i64 {
    let r =
        client.get(format!("{url}/cdb-open-api/v1/rent/order/detail?tradeNo={trade}")).basic_auth("demo", Some("demo"));
    json(r.send().await.unwrap()).await["code"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_state_file_loses_nothing_that_was_answered() {
    let path = state_file("term");
    let file = path.to_str().unwrap().to_string();
    let args = ["--state-file", file.as_str(), "--save-every-s", "0"];
    let mut p = start(&args, &[]);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    // Four clients create orders as fast as they can; SIGTERM lands in the middle.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (c, u, stop) = (client.clone(), p.url.clone(), stop.clone());
            tokio::spawn(async move {
                let mut answered = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match create(&c, &u).await {
                        Some(t) => answered.push(t),
                        None => break, // refused: the server is going away
                    }
                }
                answered
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    signal(&p, "TERM");
    assert!(exit_within(&mut p, Duration::from_secs(12)).await.success());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut answered = Vec::new();
    for w in writers {
        answered.extend(w.await.unwrap());
    }
    assert!(answered.len() >= 4, "{} orders created before the signal", answered.len());

    let mut p = start(&args, &[]);
    for t in &answered {
        assert_eq!(detail_code(&client, &p.url, t).await, 0, "order {t} was answered before SIGTERM and must survive");
    }
    let orders = json(client.get(format!("{}/_sim/state", p.url)).send().await.unwrap()).await["data"]["world"]
        ["orders"]
        .as_object()
        .map_or(0, |o| o.len());
    assert_eq!(orders, answered.len(), "no order exists that no client was told about");
    signal(&p, "TERM");
    assert!(exit_within(&mut p, Duration::from_secs(10)).await.success());
    let _ = std::fs::remove_file(&path);
    eprintln!("SIGTERM with --state-file: {} answered orders, all restored", answered.len());
}

#[tokio::test]
async fn sigkill_loses_exactly_what_happened_since_the_last_periodic_save() {
    let path = state_file("kill");
    let file = path.to_str().unwrap().to_string();
    let args = ["--state-file", file.as_str(), "--save-every-s", "2"];
    let mut p = start(&args, &[]);
    let client = reqwest::Client::new();
    let saved_order = create(&client, &p.url).await.unwrap();
    // Wait (with a deadline) for a periodic save that includes it.
    let end = Instant::now() + Duration::from_secs(15);
    while !std::fs::read_to_string(&path).unwrap_or_default().contains(&saved_order) {
        assert!(Instant::now() < end, "no periodic save within 15 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let late_order = create(&client, &p.url).await.unwrap();
    signal(&p, "KILL");
    let status = exit_within(&mut p, Duration::from_secs(5)).await;
    assert!(!status.success());
    let in_file = std::fs::read_to_string(&path).unwrap().contains(&late_order);

    let mut p = start(&args, &[]);
    assert_eq!(detail_code(&client, &p.url, &saved_order).await, 0, "what was saved survives SIGKILL");
    // What happened after the last save is gone (unless a save happened to land in between).
    assert_eq!(detail_code(&client, &p.url, &late_order).await == 0, in_file);
    // The push journal is not part of the state file.
    let v = json(client.get(format!("{}/_sim/pushes", p.url)).send().await.unwrap()).await;
    assert_eq!(v["data"]["total"], 0);
    signal(&p, "TERM");
    assert!(exit_within(&mut p, Duration::from_secs(10)).await.success());
    let _ = std::fs::remove_file(&path);
}
