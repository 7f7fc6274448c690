//! World snapshots: `GET /_sim/state` exports the whole world with the virtual time,
//! `PUT /_sim/state` replaces it, and `--state-file` restores one at start and saves one
//! periodically and at shutdown (written to a temporary file, then renamed, so a crash never
//! leaves half a file).

use crate::api::envelope;
use crate::clock::fmt_datetime;
use crate::error::Error;
use crate::model::snapshot::{ReadError, SNAPSHOT_FORMAT};
use crate::model::Snapshot;
use crate::state::AppState;
use actix_web::dev::Decompress;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_core::Stream;
use std::io::{Read, Write};
use std::path::Path;
use std::pin::Pin;
use tokio::sync::mpsc;

/// Register these routes (inside the `/_sim` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/state", web::get().to(export)).route("/state", web::put().to(import));
}

/// The world as it is now, caught up to the clock.
pub fn snapshot(state: &AppState) -> Snapshot {
    let (now, world) = state.caught_up_world();
    Snapshot { format: SNAPSHOT_FORMAT.into(), now, time: fmt_datetime(now), seed: state.seed, world }
}

/// Why a body is not a snapshot, in the envelope's words.
fn refusal(e: ReadError) -> Error {
    match e {
        ReadError::Io(m) => Error::bad_body(format!("it could not be read ({m})")),
        ReadError::Syntax(m) => Error::bad_body(format!("malformed JSON ({m})")),
        ReadError::Data(m) => Error::bad_body(format!("not a snapshot ({m})")),
    }
}

/// Parse and validate a snapshot from `reader` (the bare object or the envelope), as it
/// streams in: never a `serde_json::Value` tree of it (at 100,000 cabinets one took several
/// gigabytes) nor its whole text (`model/snapshot/stream.rs`). `reader` need not be buffered.
pub fn parse_reader(reader: impl Read) -> Result<Snapshot, Error> {
    validated(crate::model::snapshot::read(reader).map_err(refusal)?)
}

/// Parse and validate a snapshot held in memory (the bare object or the envelope).
pub fn parse(text: &[u8]) -> Result<Snapshot, Error> {
    parse_reader(text)
}

fn validated(snap: Snapshot) -> Result<Snapshot, Error> {
    let started = std::time::Instant::now();
    let problems = snap.problems();
    log::debug!("snapshot checked in {:.2} s", started.elapsed().as_secs_f64());
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

/// A blocking reader over body pieces handed over from the async side.
struct Pieces {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(piece) => self.current = piece?,
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// `PUT /_sim/state`: replace the world (and set the clock to the snapshot's time). A
/// snapshot that is not valid JSON, not a snapshot, or inconsistent is refused and the world
/// stays as it was.
///
/// Whatever its size up to `--state-max-mb`: the body is parsed on a blocking thread while it
/// streams in (the async worker only hands pieces over, through a short queue), so neither
/// the text nor a JSON tree of it is ever held whole; a body that stops arriving meets the
/// request-body deadline like any other.
async fn import(state: web::Data<AppState>, req: HttpRequest, payload: web::Payload) -> Result<HttpResponse, Error> {
    let limit = state.config.state_max_mb.saturating_mul(1024 * 1024);
    // A compressed upload is read decompressed; the limit counts what it decompresses to.
    let mut body = Decompress::from_headers(payload.into_inner(), req.headers());
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(16);
    let st = state.clone();
    let parsing = web::block(move || {
        let snap = parse_reader(Pieces { rx, current: Bytes::new() })?;
        let (now, orders, cabinets) = (snap.now, snap.world.orders().len(), snap.world.cabinets().len());
        st.restore(snap)?;
        Ok::<_, Error>((now, orders, cabinets))
    });
    let mut received: u64 = 0;
    let mut too_large = false;
    while let Some(piece) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_next(cx)).await {
        let piece = match piece {
            Ok(b) => {
                received += b.len() as u64;
                too_large = received > limit;
                if too_large {
                    Err(std::io::Error::other("over the size limit"))
                } else {
                    Ok(b)
                }
            }
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        let stop = piece.is_err();
        // A closed queue: the parser has already refused the snapshot; the rest is not read.
        if tx.send(piece).await.is_err() || stop {
            break;
        }
    }
    drop(tx);
    let outcome = parsing.await.map_err(|e| Error::Internal(e.to_string()))?;
    if too_large {
        return Err(Error::state_too_large(state.config.state_max_mb));
    }
    let (now, orders, cabinets) = outcome?;
    Ok(envelope::ok(serde_json::json!({
        "now": fmt_datetime(now), "nowMs": state.epoch_ms(now), "cabinets": cabinets, "orders": orders,
    })))
}

/// Read and validate the snapshot in `path`; `Ok(None)` when the file does not exist yet.
/// Read as a stream, like `PUT /_sim/state`.
pub fn read_file(path: &Path) -> Result<Option<Snapshot>, String> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read state file {}: {e}", path.display())),
    };
    parse_reader(file).map(Some).map_err(|e| format!("state file {}: {}", path.display(), e.message()))
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
