//! The binary itself, as a user starts it: flags, environment, `--version`, `probe`.

use crate::helpers::spawn_app;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_bajie-sim");

/// A simulator process, killed when dropped.
struct Process {
    child: Child,
    url: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start the binary with `args` and `env` on a free port; wait (20 s deadline) for its
/// listening line.
fn start(args: &[&str], env: &[(&str, &str)]) -> Process {
    let mut child = Command::new(BIN)
        .args(["--bind", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20)).expect("the listening line within 20 s");
    let url = line.trim().strip_prefix("bajie-sim listening on ").unwrap_or_else(|| panic!("{line:?}")).to_string();
    Process { child, url }
}

async fn health(url: &str) -> Value {
    reqwest::get(format!("{url}/_sim/health")).await.unwrap().json::<Value>().await.unwrap()["data"].clone()
}

#[tokio::test]
async fn boolean_flags_and_variables_mean_what_they_say() {
    let p = start(&["--frozen=false", "--no-sim=false"], &[]);
    let h = health(&p.url).await;
    assert_eq!((h["frozen"].clone(), h["sim"].clone()), (Value::Bool(false), Value::Bool(true)), "{h}");
    let p = start(&["--frozen", "--no-sim"], &[]);
    let h = health(&p.url).await;
    assert_eq!((h["frozen"].clone(), h["sim"].clone()), (Value::Bool(true), Value::Bool(false)), "{h}");
    let p = start(&["--seed", "7"], &[("BAJIE_SIM_FROZEN", "1"), ("BAJIE_SIM_NO_SIM", "0"), ("BAJIE_SIM_SEED", "3")]);
    let h = health(&p.url).await;
    assert_eq!((h["frozen"].clone(), h["sim"].clone(), h["seed"].clone()), (true.into(), true.into(), 7.into()), "{h}");
}

#[test]
fn version_help_and_bad_flags_exit_as_documented() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("bajie-sim {}", env!("CARGO_PKG_VERSION")));
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("demo/demo"));
    let out = Command::new(BIN).args(["--seed", "--bind", "127.0.0.1:0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("a value is required for '--seed <N>'"), "{err}");
}

#[tokio::test]
async fn probe_exits_0_when_the_simulator_is_up_and_1_when_not() {
    let app = spawn_app().await;
    let probe = |bind: String| {
        let out = Command::new(BIN).arg("probe").env("BAJIE_SIM_BIND", bind).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    let port = app.running.addr.port();
    let (code, text) = tokio::task::spawn_blocking(move || probe(format!("0.0.0.0:{port}"))).await.unwrap();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("up"), "{text}");
    // A port nothing listens on any more.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (code, text) = tokio::task::spawn_blocking(move || probe(closed.to_string())).await.unwrap();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("bajie-sim probe:"), "{text}");
}
