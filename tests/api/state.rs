//! Snapshots: `GET/PUT /_sim/state` and `--state-file` across a restart.

use crate::helpers::*;
use crate::sim::{export, sim_config};
use bajie_sim::config::Config;
use serde_json::Value;
use std::time::Duration;

async fn put(app: &TestApp, body: String) -> Value {
    let r =
        app.client.put(app.sim("/state")).header("content-type", "application/json").body(body).send().await.unwrap();
    read(r).await.1
}

fn temp_file(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("bajie-sim-{}-{name}.json", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// Some activity worth saving: a rent in lease, simulated customers, a fault rule.
async fn make_history(app: &TestApp) {
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}")).await;
    assert_eq!(v["code"], 0, "{v}");
    app.advance(90 * 60).await;
    assert_eq!(app.control("/faults?effect=error&endpoint=O4&probability=0.3").await["code"], 0);
}

#[tokio::test]
async fn a_world_saved_in_a_state_file_survives_a_restart() {
    let path = temp_file("restart");
    let config = Config { state_file: Some(path.clone()), ..sim_config() };
    let app = spawn_with(config.clone()).await;
    make_history(&app).await;
    let before = app.control_get("/state").await;
    assert_eq!(before["code"], 0);
    app.running.shutdown(Duration::from_secs(1)).await;
    assert!(path.exists(), "the state file was written");

    let app = spawn_with(config).await;
    let after = app.control_get("/state").await;
    assert_eq!(before.to_string(), after.to_string());
    assert_eq!(app.control_get("/clock").await["data"]["now"], "2026-03-02 10:30:00");
    // The restored world goes on: the order in lease is still there and the sim continues.
    app.advance(3600).await;
    app.assert_consistent().await;
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn put_state_replaces_the_world_and_refuses_a_broken_snapshot() {
    let app = spawn_with(sim_config()).await;
    make_history(&app).await;
    let saved = app.control_get("/state").await;
    let snapshot = saved["data"].to_string();

    app.advance(3 * 3600).await;
    app.control(&format!("/cabinets/{EMPTY_CAB}/fill")).await;
    assert_ne!(export(&app).await.to_string(), snapshot);

    // The bare snapshot and the whole envelope are both accepted.
    let v = put(&app, snapshot.clone()).await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(v["data"]["now"], "2026-03-02 10:30:00");
    assert_eq!(export(&app).await.to_string(), snapshot);
    assert_eq!(put(&app, saved.to_string()).await["code"], 0);

    // A battery in two slots at once: refused, and the world is left as it was.
    let mut broken: Value = serde_json::from_str(&snapshot).unwrap();
    let docked = broken["world"]["batteries"]
        .as_object()
        .unwrap()
        .values()
        .find(|b| b["place"]["kind"] == "slot" && b["place"]["cabinet"] != EMPTY_CAB)
        .map(|b| b["id"].clone())
        .unwrap();
    broken["world"]["cabinets"][EMPTY_CAB]["slots"][0]["battery"] = docked;
    let v = put(&app, broken.to_string()).await;
    assert_eq!(v["code"], 1002, "{v}");
    assert!(v["msg"].as_str().unwrap().contains("inconsistent"), "{v}");
    assert!(v.get("data").is_none());
    for bad in ["{", "[]", r#"{"format":"bajie-sim/1","now":0}"#, &snapshot.replace("bajie-sim/1", "other/9")] {
        let v = put(&app, bad.to_string()).await;
        assert_eq!(v["code"], 1002, "{bad:.40}: {v}");
    }
    assert_eq!(export(&app).await.to_string(), snapshot);
    app.assert_consistent().await;
}

/// `GET /_sim/state` as text.
async fn export_text(app: &TestApp) -> String {
    let r = app.client.get(app.sim("/state")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test]
async fn a_snapshot_far_larger_than_other_bodies_goes_back_in_unchanged() {
    let app = spawn_with(Config { fleet: Some(1000), ..sim_config() }).await;
    app.advance(1800).await;
    let saved = export_text(&app).await;
    assert!(saved.len() > 1024 * 1024, "a 1,000-cabinet world is over a MiB: {} bytes", saved.len());
    // Sent in pieces (so no worker copies it in one go), with its length announced all the same.
    let r = app.client.get(app.sim("/state")).send().await.unwrap();
    let announced = r.content_length();
    let body = r.bytes().await.unwrap();
    assert_eq!(announced, Some(body.len() as u64));
    assert_eq!(body.len(), saved.len());
    // The world moves on, then the export (the whole envelope) is put back as it was given.
    app.advance(4 * 3600).await;
    assert_ne!(export_text(&app).await, saved);
    let r = app.client.put(app.sim("/state")).body(saved.clone()).send().await.unwrap();
    let (status, v) = read(r).await;
    assert_eq!((status, &v["code"]), (200, &Value::from(0)), "{v}");
    assert_eq!(v["data"]["cabinets"], 1000, "{v}");
    let back = export_text(&app).await;
    if back != saved {
        let at = back.bytes().zip(saved.bytes()).position(|(a, b)| a != b).unwrap_or(0);
        let near = |t: &str| t.get(at.saturating_sub(200)..(at + 100).min(t.len())).unwrap_or("").to_string();
        panic!("the round trip differs at byte {at}: {} <> {}", near(&back), near(&saved));
    }
    app.assert_consistent().await;
}

#[tokio::test]
async fn a_bad_snapshot_body_is_refused_in_the_envelope_naming_the_problem() {
    let app = spawn_with(Config { state_max_mb: 1, ..sim_config() }).await;
    let before = export_text(&app).await;
    let cases: [(&str, String, u16, i64, &str); 6] = [
        ("truncated", before[..before.len() / 2].to_string(), 200, 1002, "malformed JSON"),
        ("not JSON", "snapshot please".into(), 200, 1002, "malformed JSON"),
        ("an array", "[1,2]".into(), 200, 1002, "not a snapshot (invalid type: an array, expected a snapshot"),
        ("no world", r#"{"format":"bajie-sim/1","now":0}"#.into(), 200, 1002, "missing field `world`"),
        ("trailing data", format!("{before} {{}}"), 200, 1002, "malformed JSON (trailing characters"),
        ("over the limit", format!("{}{}", " ".repeat(1024 * 1024), before), 413, 413, "--state-max-mb"),
    ];
    for (what, body, status, code, words) in cases {
        let r = app.client.put(app.sim("/state")).body(body).send().await.unwrap();
        let (s, v) = read(r).await;
        assert_eq!((s, v["code"].as_i64()), (status, Some(code)), "{what}: {v}");
        assert!(v["msg"].as_str().unwrap().contains(words), "{what}: {v}");
        assert!(v.get("data").is_none(), "{what}: {v}");
    }
    // Streamed without a length (chunked), the limit still holds.
    let answer = put_chunked(&app, 20, 64 * 1024).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "chunked: {answer}");
    assert!(answer.contains("--state-max-mb") && answer.contains(r#""code":413"#), "chunked: {answer}");
    assert_eq!(export_text(&app).await, before, "the world is as it was");
}

/// `PUT /_sim/state` with a chunked body of `n` chunks of `size` spaces, on a raw connection;
/// the raw answer (read until the server closes, at most 10 s).
async fn put_chunked(app: &TestApp, n: usize, size: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(app.running.addr).await.unwrap();
    let head = "PUT /_sim/state HTTP/1.1\r\nHost: sim\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{size:x}\r\n{}\r\n", " ".repeat(size));
    for _ in 0..n {
        // The server may stop reading once it has refused the body.
        if s.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    // Read the answer (head and its Content-Length of body), at most 10 s.
    let mut out = Vec::new();
    let complete = |out: &[u8]| {
        let text = String::from_utf8_lossy(out);
        let Some((head, body)) = text.split_once("\r\n\r\n") else { return false };
        let length = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()));
        length.and_then(|l| l.parse::<usize>().ok()).is_some_and(|n| body.len() >= n)
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while !complete(&out) {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            other => panic!("no complete answer within 10 s ({other:?}): {}", String::from_utf8_lossy(&out)),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Rent and return in a loop on `cabinets` until `stop`, counting finished cycles in `done`.
async fn rent_and_return(
    app: std::sync::Arc<TestApp>,
    cabinets: Vec<String>,
    k: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    done: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::Ordering;
    let mut i = k;
    while !stop.load(Ordering::Relaxed) {
        i += 7;
        let cab = &cabinets[i % cabinets.len()];
        let (_, v) = app.post(&format!("/rent/order/create?deviceId={cab}")).await;
        let Some(trade) = v["data"]["tradeNo"].as_str().map(str::to_string) else { continue };
        let (_, v) = app.post(&format!("/cabinet/ejectByRent?cabinetid={cab}&rentOrderId={trade}&slotNum=0")).await;
        if v["code"] != 0 {
            continue;
        }
        let (_, d) = app.get(&format!("/rent/order/detail?tradeNo={trade}")).await;
        if let Some(b) = d["data"]["batteryId"].as_str().filter(|b| !b.is_empty()) {
            let back = &cabinets[(i + 3) % cabinets.len()];
            let v = app.control(&format!("/cabinets/{back}/return?batteryId={b}")).await;
            assert!(v["code"] == 0 || v["code"] == 2009 || v["code"] == 2008, "return: {v}");
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
}

/// Exports and checks taken while rents and returns run: the check finds nothing, and every
/// export goes back into a simulator as a world that passes the check.
#[tokio::test]
async fn an_export_taken_while_rents_and_returns_run_restores_to_a_consistent_world() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let app = Arc::new(spawn_with(Config { fleet: Some(1_000), ..Config::for_tests() }).await);
    let cabinets = app.online_cabinets().await;
    assert!(cabinets.len() > 100, "{} online cabinets", cabinets.len());
    let (stop, done) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let load: Vec<_> = (0..4)
        .map(|k| tokio::spawn(rent_and_return(app.clone(), cabinets.clone(), k, stop.clone(), done.clone())))
        .collect();
    let target = spawn_app().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut overlapped = 0;
    let mut exports = 0;
    while overlapped < 3 && std::time::Instant::now() < deadline {
        let before = done.load(Ordering::Relaxed);
        let text = export_text(&app).await;
        let check = app.control_get("/check").await;
        let during = done.load(Ordering::Relaxed) - before;
        assert_eq!(check["code"], 0, "{check}");
        let v = put(&target, text).await;
        assert_eq!(v["code"], 0, "export {exports} (with {during} rent/return cycles during it) restored: {v}");
        target.assert_consistent().await;
        exports += 1;
        if during > 0 {
            overlapped += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    assert_eq!(overlapped, 3, "{exports} exports, of which {overlapped} with rents and returns during them");
    assert!(done.load(Ordering::Relaxed) > 0);
    app.assert_consistent().await;
}

/// A `--state-file` that does not parse stops the start with a message naming the file (the
/// simulator does not start from the fixtures and overwrite it at the next save); a missing
/// file is fine and is created at the first save.
#[tokio::test]
async fn a_corrupt_state_file_stops_the_start_naming_the_problem_and_a_missing_one_does_not() {
    let path = temp_file("corrupt");
    let corrupt = r#"{"world": [1, 2"#;
    std::fs::write(&path, corrupt).unwrap();
    let config = Config { state_file: Some(path.clone()), ..Config::for_tests() };
    match bajie_sim::app::build(config.clone()).await {
        Ok(_) => panic!("a corrupt state file must stop the start"),
        Err(e) => assert!(e.contains(&path.display().to_string()), "{e}"),
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), corrupt, "the file is left as it was");

    std::fs::remove_file(&path).unwrap();
    let app = spawn_with(config).await;
    assert_eq!(app.control_get("/clock").await["data"]["now"], "2026-03-02 09:00:00");
    app.running.shutdown(Duration::from_secs(1)).await;
    assert!(path.exists(), "a missing state file is created at the first save");
    let _ = std::fs::remove_file(&path);
}

/// A snapshot brings back the clock's time but not its speed or freeze (those are the
/// launch's flags); `PUT /_sim/state` keeps the push journal, and a reset still goes back to
/// the fixtures, not to the restored snapshot.
#[tokio::test]
async fn a_snapshot_restores_the_clock_time_but_not_its_speed_and_keeps_the_journal() {
    let app = spawn_app().await;
    let start = export(&app).await;
    app.advance(3600).await;
    let snapshot = app.control_get("/state").await["data"].to_string();
    // A push journaled after the snapshot was taken.
    let trade = app.create_order(DEMO, DEMO_CAB, &format!("{}/_sim/ui/sink/cb", app.base)).await;
    app.advance(2).await;
    let journaled = app.control_get(&format!("/pushes/wait?order={trade}&count=1&timeoutMs=10000")).await;
    assert_eq!(journaled["code"], 0, "{journaled}");
    // Now the clock runs slowly (speed 0.001: a virtual millisecond per real second).
    assert_eq!(app.control("/clock?freeze=false&speed=0.001").await["code"], 0);

    assert_eq!(put(&app, snapshot).await["code"], 0);
    let clock = app.control_get("/clock").await;
    assert_eq!(clock["data"]["now"], "2026-03-02 10:00:00", "{clock}");
    assert_eq!(
        (&clock["data"]["frozen"], &clock["data"]["speed"]),
        (&Value::from(false), &Value::from(0.001)),
        "{clock}"
    );
    let v = app.control_get(&format!("/pushes?order={trade}")).await;
    assert_eq!(v["data"]["total"], 1, "the journal is kept: {v}");

    assert_eq!(app.control("/clock?freeze=true").await["code"], 0);
    assert_eq!(app.control("/reset").await["code"], 0);
    assert_eq!(export(&app).await["world"], start["world"], "reset goes back to the fixtures");
}

/// Derived tables (the grid of shops, cabinets by shop) are never saved: a snapshot holds
/// the world's records only, and a restored world builds its tables again, so geo queries
/// answer exactly as before.
#[tokio::test]
async fn derived_tables_are_not_saved_and_a_restored_world_answers_geo_queries_as_before() {
    let app = spawn_app().await;
    const O6: &str = "/rent/cabinet/list?coordType=WGS-84&zoomLevel=4&lat=48.8606&lng=2.3376";
    let (_, before) = app.post(O6).await;
    assert!(!before["list"].as_array().unwrap().is_empty(), "{before}");
    let snapshot = app.control_get("/state").await["data"].clone();
    let keys: Vec<&String> = snapshot["world"].as_object().unwrap().keys().collect();
    assert!(keys.iter().all(|k| !k.to_ascii_lowercase().contains("index")), "{keys:?}");

    assert_eq!(put(&app, snapshot.to_string()).await["code"], 0);
    assert_eq!(app.post(O6).await.1, before);
    app.assert_consistent().await;
}

/// A snapshot with one bad record (an unknown battery place, a missing field, a wrong type)
/// is refused in the envelope with a message naming the map and the record, and the world
/// stays as it was.
#[tokio::test]
async fn a_snapshot_with_a_malformed_record_is_refused_naming_the_record() {
    let app = spawn_with(sim_config()).await;
    make_history(&app).await;
    let before = export_text(&app).await;
    let saved: Value = serde_json::from_str(&before).unwrap();
    let world = &saved["data"]["world"];
    let first = |map: &str| world[map].as_object().unwrap().keys().next().unwrap().clone();
    let (battery, cabinet, shop) = (first("batteries"), first("cabinets"), first("shops"));
    let order = first("orders");
    type Edit = Box<dyn Fn(&mut Value)>;
    let (b, c, s, o) = (battery.clone(), cabinet.clone(), shop.clone(), order.clone());
    let cases: Vec<(Edit, String)> = vec![
        (
            Box::new(move |w| w["batteries"][&b]["place"] = serde_json::json!({"kind": "docked"})),
            format!("batteries: battery '{battery}': unknown variant `docked`"),
        ),
        (
            Box::new({
                let b = battery.clone();
                move |w| {
                    w["batteries"][&b].as_object_mut().unwrap().remove("level");
                }
            }),
            format!("batteries: battery '{battery}': missing field `level`"),
        ),
        (
            Box::new(move |w| w["cabinets"][&c]["slots"] = "many".into()),
            format!("cabinets: cabinet '{cabinet}': invalid type"),
        ),
        (Box::new(move |w| w["shops"][&s]["latitude"] = "north".into()), format!("shops: shop '{shop}': invalid type")),
        (
            Box::new(move |w| w["orders"][&o]["createdAt"] = "soon".into()),
            format!("orders: order '{order}': invalid type"),
        ),
    ];
    for (edit, words) in cases {
        let mut bad = saved.clone();
        edit(&mut bad["data"]["world"]);
        let r = app.client.put(app.sim("/state")).body(bad.to_string()).send().await.unwrap();
        let (status, v) = read(r).await;
        assert_eq!((status, v["code"].as_i64()), (200, Some(1002)), "{words}: {v}");
        let msg = v["msg"].as_str().unwrap();
        assert!(msg.contains("not a snapshot") && msg.contains(&words), "{words}: {v}");
        assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["msg", "code"], "{v}");
        assert_eq!(export_text(&app).await, before, "{words}: the world is as it was");
    }
    app.assert_consistent().await;
}
