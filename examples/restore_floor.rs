//! The floor of restoring a state file on this machine, side by side in one run: reading the
//! file, parsing it from memory with no records built (`IgnoredAny`), parsing it into the
//! typed snapshot from memory and from a buffered reader on one thread (what a restore did
//! before), and the restore's own reader and checks (`control::state::read_file`).
//!
//! ```sh
//! scripts/bench-restore.sh                       # writes bench-out/restore/state.json
//! cargo run --release --example restore_floor -- bench-out/restore/state.json
//! ```

use bajie_sim::model::Snapshot;
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::error::Error;
use std::time::Instant;

/// What `GET /_sim/state` answers (and `scripts/bench-restore.sh` saves): the snapshot in the
/// envelope's `data`. A state file written by `--state-file` is the bare snapshot.
#[derive(Deserialize)]
struct Envelope {
    data: Snapshot,
}

/// Parse `bytes` as either form, on this thread.
fn parse(bytes: &[u8]) -> Result<Snapshot, serde_json::Error> {
    if bytes.starts_with(br#"{"msg""#) {
        serde_json::from_slice::<Envelope>(bytes).map(|e| e.data)
    } else {
        serde_json::from_slice(bytes)
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    env_logger::init();
    let path = std::env::args().nth(1).ok_or("usage: restore_floor STATE_FILE")?;
    let lap = |name: &str, t: Instant| println!("{name:<52} {:>6.2} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let bytes = std::fs::read(&path)?;
    lap("read the whole file", t);
    let t = Instant::now();
    serde_json::from_slice::<IgnoredAny>(&bytes)?;
    lap("from_slice::<IgnoredAny> (no records built)", t);
    let t = Instant::now();
    let snap = parse(&bytes)?;
    lap("from_slice::<Snapshot> (one thread)", t);
    drop((snap, bytes));

    let t = Instant::now();
    let mut file = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(&path)?);
    let enveloped = std::io::BufRead::fill_buf(&mut file)?.starts_with(br#"{"msg""#);
    let snap: Snapshot =
        if enveloped { serde_json::from_reader::<_, Envelope>(file)?.data } else { serde_json::from_reader(file)? };
    lap("from_reader::<Snapshot> (one thread, a buffered reader)", t);
    drop(snap);

    let t = Instant::now();
    let snap = bajie_sim::control::state::read_file(std::path::Path::new(&path))?.ok_or("no such file")?;
    lap("control::state::read_file (the restore: read, check)", t);
    println!("{} cabinets, {} batteries", snap.world.cabinets().len(), snap.world.batteries().len());
    Ok(())
}
