//! World snapshots: `GET /_sim/state` exports the whole world with the virtual time,
//! `PUT /_sim/state` replaces it, and `--state-file` restores one at start and saves one
//! periodically and at shutdown (written to a temporary file, then renamed, so a crash never
//! leaves half a file).

use crate::api::envelope;
use crate::app::AppState;
use crate::clock::fmt_datetime;
use crate::error::Error;
use crate::model::snapshot::SNAPSHOT_FORMAT;
use crate::model::Snapshot;
use actix_web::{web, HttpResponse};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// Register these routes (inside the `/_sim` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/state", web::get().to(export)).route("/state", web::put().to(import));
}

/// The world as it is now, caught up to the clock.
pub fn snapshot(state: &AppState) -> Snapshot {
    let (now, world) = state.caught_up_world();
    Snapshot { format: SNAPSHOT_FORMAT.into(), now, time: fmt_datetime(now), seed: state.seed, world }
}

/// Parse a snapshot: the bare object, or the envelope `GET /_sim/state` answered with.
pub fn parse(text: &str) -> Result<Snapshot, Error> {
    let mut v: Value = serde_json::from_str(text).map_err(|e| Error::bad_body(format!("malformed JSON ({e})")))?;
    if v.get("world").is_none() {
        if let Some(data) = v.get_mut("data").map(Value::take) {
            v = data;
        }
    }
    let snap: Snapshot = serde_json::from_value(v).map_err(|e| Error::bad_body(format!("not a snapshot ({e})")))?;
    let problems = snap.problems();
    if let Some(first) = problems.first() {
        return Err(Error::bad_body(format!(
            "the snapshot is inconsistent ({} problem(s)); first: {first}",
            problems.len()
        )));
    }
    Ok(snap)
}

/// `GET /_sim/state`: the whole world as JSON, with the virtual time it was taken at.
async fn export(state: web::Data<AppState>) -> HttpResponse {
    let state = state.into_inner();
    // Serialising a large world takes a while: off the async workers.
    let snap = web::block(move || envelope::ok_bytes(snapshot(&state))).await;
    match snap {
        Ok(Ok(bytes)) => envelope::json_bytes(bytes),
        Ok(Err(e)) => actix_web::ResponseError::error_response(&e),
        Err(e) => actix_web::ResponseError::error_response(&Error::Internal(e.to_string())),
    }
}

/// `PUT /_sim/state`: replace the world (and set the clock to the snapshot's time). A
/// snapshot that is not valid JSON, not a snapshot, or inconsistent is refused and the world
/// stays as it was.
async fn import(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, Error> {
    // Parsing, indexing and swapping a large world take a while: off the async workers.
    let st = state.clone().into_inner();
    let done = web::block(move || -> Result<_, Error> {
        let text = std::str::from_utf8(&body).map_err(|_| Error::bad_body("it is not UTF-8"))?;
        let snap = parse(text)?;
        let summary = (snap.now, snap.world.orders.len(), snap.world.cabinets.len());
        st.restore(snap);
        Ok(summary)
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?;
    let (now, orders, cabinets) = done?;
    Ok(envelope::ok(serde_json::json!({
        "now": fmt_datetime(now), "nowMs": state.epoch_ms(now), "cabinets": cabinets, "orders": orders,
    })))
}

/// Read and validate the snapshot in `path`; `Ok(None)` when the file does not exist yet.
pub fn read_file(path: &Path) -> Result<Option<Snapshot>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read state file {}: {e}", path.display())),
    };
    parse(&text).map(Some).map_err(|e| format!("state file {}: {}", path.display(), e.message()))
}

/// Save a snapshot of the world to `path` atomically: write `<path>.tmp`, flush it to disk,
/// rename it over `path`.
pub fn save_file(state: &AppState, path: &Path) -> Result<(), String> {
    let bytes = serde_json::to_vec(&snapshot(state)).map_err(|e| format!("cannot serialise the world: {e}"))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| format!("cannot save state to {}: {e}", path.display()))
}
