//! Reading a snapshot as it streams in, its records parsed from memory on several threads,
//! without ever holding its text whole.
//!
//! A 100,000-cabinet export is 424 MiB of JSON, nearly all of it four maps of the world:
//! cabinets, batteries, shops, orders. serde_json reading from an `io::Read` goes byte by byte
//! through its reader (about 1.4 s for that file before any record is built, against 0.5 s
//! from a slice), and one thread builds the 1.6 million records. Here one thread only cuts the
//! stream: it walks the few members above those maps, and cuts each of those maps into
//! batches of whole entries (about a MiB of text each) at the commas between entries, which
//! worker threads parse from memory ([`from_text`]: checked as UTF-8 once, then read as a
//! `str`) while the next batches are cut. Everything else (settings, agents, the schedule,
//! tokens, ...) is copied into a small "skeleton" in which each of the four maps is `{}`, read
//! with the derived readers of the snapshot types; the maps' entries are then put in, in the
//! order they came.
//!
//! The cutter only finds where values end (strings, nesting); whether the text is JSON, and
//! a snapshot, is decided by serde_json on the pieces, so the rules (field names, defaults,
//! types) stay in the types' own serde attributes. A bad record is named by its map and key.
//! Memory stays bounded by the batches in flight (two queued per worker, one each being
//! parsed). The price is the cutting, on its own thread, on top of the parse (1.9 s, shared
//! by the workers): finding the cuts takes about 0.2 s of CPU for that file, 0.45 ns a byte
//! ([`Nest::scan`], a word at a time; 0.6 s byte by byte before, as the ignored test
//! `cutting_a_state_file` and `perf record` of a restore both measure). On two cores shared
//! with other work, a restore took 1.6-2.2 s to listen and 2.8-3.9 s of CPU, generating the
//! world 1.0-1.5 s of each, with about the same memory (docs/soak.md).
//!
//! Rejected: a hand-written parser of every record (the rules would exist twice), and
//! SIMD-JSON (a large dependency that wants the whole text in memory).

use super::super::battery::Battery;
use super::super::cabinet::Cabinet;
use super::super::id::{BatteryId, CabinetId, ShopId, TradeNo};
use super::super::order::Order;
use super::super::shop::Shop;
use super::super::world::{Batteries, World};
use super::{InOrder, Snapshot};
use crate::clock::Millis;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

/// Why a stream is not a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The stream could not be read.
    Io(String),
    /// The text is not JSON.
    Syntax(String),
    /// JSON, but not a snapshot.
    Data(String),
}

impl ReadError {
    /// A serde_json error, with `context` before it; the position is dropped when it is one
    /// in a piece of the text rather than in the text (`in_piece`), or said to be one in the
    /// record.
    fn json(e: &serde_json::Error, context: &str, position: Position) -> ReadError {
        let text = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let bare = text.strip_suffix(&suffix).unwrap_or(&text);
        let message = match position {
            Position::Drop => format!("{context}{bare}"),
            Position::InRecord if e.line() == 1 => format!("{context}{bare} (column {} of the record)", e.column()),
            Position::InRecord => format!("{context}{bare} (line {} column {} of the record)", e.line(), e.column()),
        };
        use serde_json::error::Category;
        match e.classify() {
            Category::Io => ReadError::Io(message),
            Category::Syntax | Category::Eof => ReadError::Syntax(message),
            Category::Data => ReadError::Data(message),
        }
    }
}

/// The refusal of an array where an object is expected. serde's derived structs also read a
/// sequence (their fields in order), so `[1,2]` was refused for its first element ("expected
/// a string", the format's type) instead of for being an array. `expected` is worded as the
/// type's `expecting` attribute is, so both kinds of refusal read alike.
fn array_for(expected: &str) -> ReadError {
    ReadError::Data(format!("invalid type: an array, expected {expected}"))
}

/// What the position of a serde_json error means in a message.
#[derive(Clone, Copy)]
enum Position {
    /// Nothing a reader can use (a place in the skeleton): left out.
    Drop,
    /// A place in one record's text.
    InRecord,
}

/// What a `PUT /_sim/state` body or a state file may hold: the bare snapshot, or the whole
/// envelope `GET /_sim/state` answered with (`data` is the snapshot; `msg` and `code` are
/// ignored like any other unknown member).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a snapshot: the object GET /_sim/state answers with, or its `data`")]
struct Incoming {
    format: Option<String>,
    now: Option<Millis>,
    #[serde(default)]
    time: String,
    #[serde(default)]
    seed: u64,
    world: Option<World>,
    data: Option<Snapshot>,
}

/// Read a snapshot (the bare object or the envelope) from `reader`; not yet checked for
/// consistency ([`Snapshot::problems`]).
pub fn read(reader: impl Read) -> Result<Snapshot, ReadError> {
    read_in_batches(reader, BATCH)
}

/// [`read`], cutting batches at the first entry boundary past `batch` bytes (tests cut at
/// every entry).
fn read_in_batches(reader: impl Read, batch: usize) -> Result<Snapshot, ReadError> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let (batches, queue) = mpsc::sync_channel::<Batch>(2 * workers);
    let queue = Arc::new(Mutex::new(queue));
    let (parsed_tx, parsed_rx) = mpsc::channel::<(u64, Result<Parsed, ReadError>)>();
    let failed = Arc::new(AtomicBool::new(false));
    let started = std::time::Instant::now();
    let (skeleton, maps) = std::thread::scope(|s| {
        for _ in 0..workers {
            let (queue, parsed_tx, failed) = (queue.clone(), parsed_tx.clone(), failed.clone());
            s.spawn(move || loop {
                // One batch at a time; a worker waiting for the next batch holds the lock
                // and the others wait for the lock, so each batch goes to exactly one.
                let next = queue.lock().map_or(None, |q| q.recv().ok());
                let Some(batch) = next else { break };
                let seq = batch.seq;
                let parsed = batch.parse();
                if parsed.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                if parsed_tx.send((seq, parsed)).is_err() {
                    break;
                }
            });
        }
        // Only the workers hold the queue's receiving end: when they stop (the collector
        // stopped at a bad record), the cutter's next send fails instead of waiting.
        drop(queue);
        drop(parsed_tx);
        let collector = s.spawn(move || collect(parsed_rx));
        let mut cutter = Cutter { scan: Scan::new(reader), batches, batch, seq: 0, failed: &failed };
        let skeleton = cutter.snapshot();
        // Closing the queue ends the workers, then the collector.
        drop(cutter);
        let maps = collector.join().unwrap_or_else(|_| Err(ReadError::Data("a reader thread failed".into())));
        (skeleton, maps)
    });
    let read_at = started.elapsed();
    // A bad record comes before the place where the cutter stopped for it.
    let [top, data] = maps?;
    let incoming: Incoming = from_text(&skeleton?).map_err(|e| ReadError::json(&e, "", Position::Drop))?;
    let missing = |name: &str| ReadError::Data(format!("missing field `{name}`"));
    let snap = match incoming {
        Incoming { world: Some(mut world), format, now, time, seed, .. } => {
            top.install(&mut world)?;
            Ok(Snapshot {
                format: format.ok_or_else(|| missing("format"))?,
                now: now.ok_or_else(|| missing("now"))?,
                time,
                seed,
                world,
            })
        }
        Incoming { data: Some(mut snap), .. } => {
            data.install(&mut snap.world)?;
            Ok(snap)
        }
        Incoming { .. } => Err(missing("world")),
    };
    log::debug!(
        "snapshot read in {:.2} s: the stream cut and its records parsed by {workers} worker(s) in {:.2} s, the rest and the tables built in {:.2} s",
        started.elapsed().as_secs_f64(),
        read_at.as_secs_f64(),
        (started.elapsed() - read_at).as_secs_f64()
    );
    snap
}

/// Which world a map belongs to: the bare snapshot's or the envelope's `data`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Top = 0,
    Data = 1,
}

/// The four maps cut into batches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cabinets,
    Batteries,
    Shops,
    Orders,
}

impl Kind {
    fn of(key: &[u8]) -> Option<Kind> {
        match key {
            b"cabinets" => Some(Kind::Cabinets),
            b"batteries" => Some(Kind::Batteries),
            b"shops" => Some(Kind::Shops),
            b"orders" => Some(Kind::Orders),
            _ => None,
        }
    }

    /// The map's record, for messages.
    fn record(self) -> &'static str {
        match self {
            Kind::Cabinets => "cabinet",
            Kind::Batteries => "battery",
            Kind::Shops => "shop",
            Kind::Orders => "order",
        }
    }
}

/// Whole entries of one map, as text: `{` entries `}`.
struct Batch {
    seq: u64,
    slot: Slot,
    kind: Kind,
    text: Vec<u8>,
}

/// A parsed batch.
struct Parsed {
    slot: Slot,
    entries: Entries,
}

enum Entries {
    Cabinets(Vec<(CabinetId, Cabinet)>),
    Batteries(Vec<Battery>, Vec<String>),
    Shops(Vec<(ShopId, Shop)>),
    Orders(Vec<(TradeNo, Order)>),
}

impl Batch {
    fn parse(&self) -> Result<Parsed, ReadError> {
        let text = &self.text;
        let entries = match self.kind {
            Kind::Cabinets => from_text::<InOrder<CabinetId, Cabinet>>(text).map(|e| Entries::Cabinets(e.0)),
            Kind::Shops => from_text::<InOrder<ShopId, Shop>>(text).map(|e| Entries::Shops(e.0)),
            Kind::Orders => from_text::<InOrder<TradeNo, Order>>(text).map(|e| Entries::Orders(e.0)),
            Kind::Batteries => from_text::<BatteryEntries>(text).map(|e| Entries::Batteries(e.all, e.mismatched)),
        };
        entries.map(|entries| Parsed { slot: self.slot, entries }).map_err(|e| self.name_the_record(e))
    }

    /// The error of the first entry that does not parse on its own, naming it; the batch's
    /// error when none is found (a fault between entries).
    fn name_the_record(&self, whole: serde_json::Error) -> ReadError {
        let map = match self.kind {
            Kind::Cabinets => "cabinets",
            Kind::Batteries => "batteries",
            Kind::Shops => "shops",
            Kind::Orders => "orders",
        };
        let inner = self.text.get(1..self.text.len().saturating_sub(1)).unwrap_or_default();
        for entry in entries_of(inner) {
            let mut one = Vec::with_capacity(entry.len() + 2);
            one.push(b'{');
            one.extend_from_slice(entry);
            one.push(b'}');
            let fails = match self.kind {
                Kind::Cabinets => serde_json::from_slice::<InOrder<CabinetId, Cabinet>>(&one).err(),
                Kind::Shops => serde_json::from_slice::<InOrder<ShopId, Shop>>(&one).err(),
                Kind::Orders => serde_json::from_slice::<InOrder<TradeNo, Order>>(&one).err(),
                Kind::Batteries => serde_json::from_slice::<BatteryEntries>(&one).err(),
            };
            if let Some(e) = fails {
                let key = key_of(entry);
                return ReadError::json(&e, &format!("{map}: {} '{key}': ", self.kind.record()), Position::InRecord);
            }
        }
        ReadError::json(&whole, &format!("{map}: "), Position::Drop)
    }
}

/// Parse `text` as a `T`. Text that is UTF-8 throughout (a file this simulator wrote always
/// is) is checked once, a word at a time, and read as a `str`: serde_json then takes every
/// string it meets as it is instead of checking each again, which was 40 % of a restore's
/// parse (424 MiB on one thread: 1.98 s from bytes, 0.05 s + 1.21 s this way). Any other text
/// is read as bytes, so that the error names the bad byte as before.
pub(crate) fn from_text<'a, T: serde::Deserialize<'a>>(text: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(text) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(text),
    }
}

/// The entries of a map's text without its braces, cut at the commas between them.
fn entries_of(inner: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut nest = Nest { depth: 1, ..Nest::default() };
    let mut rest = inner;
    while let Some((i, stop)) = nest.scan(rest, true) {
        out.push(rest.get(..i).unwrap_or_default());
        rest = rest.get(i + 1..).unwrap_or_default();
        if stop == Stop::End {
            return out;
        }
    }
    out.push(rest);
    out
}

/// The key of an entry's text, for a message (as written, at most 64 characters).
fn key_of(entry: &[u8]) -> String {
    let text = String::from_utf8_lossy(entry);
    let text = text.trim_start();
    let key = text.strip_prefix('"').and_then(|t| t.split('"').next()).unwrap_or("?");
    key.chars().take(64).collect()
}

/// Batteries in the order they came, with the keys that were not their battery's id.
struct BatteryEntries {
    all: Vec<Battery>,
    mismatched: Vec<String>,
}

impl<'de> Deserialize<'de> for BatteryEntries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = BatteryEntries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of battery id to battery")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<BatteryEntries, A::Error> {
                let (mut all, mut mismatched) = (Vec::new(), Vec::new());
                while let Some((key, b)) = m.next_entry::<BatteryId, Battery>()? {
                    if key != b.id {
                        mismatched.push(key.to_string());
                    }
                    all.push(b);
                }
                Ok(BatteryEntries { all, mismatched })
            }
        }
        d.deserialize_map(Pairs)
    }
}

/// The four maps of one world, gathered in the order their entries came.
#[derive(Default)]
struct Maps {
    cabinets: Vec<(CabinetId, Cabinet)>,
    batteries: Vec<Battery>,
    mismatched: Vec<String>,
    shops: Vec<(ShopId, Shop)>,
    orders: Vec<(TradeNo, Order)>,
}

impl Maps {
    fn add(&mut self, entries: Entries) {
        match entries {
            Entries::Cabinets(v) => self.cabinets.extend(v),
            Entries::Batteries(v, m) => {
                self.batteries.extend(v);
                self.mismatched.extend(m);
            }
            Entries::Shops(v) => self.shops.extend(v),
            Entries::Orders(v) => self.orders.extend(v),
        }
    }

    /// Put the maps into `world` (read from the skeleton, where they were empty). Later
    /// entries win over earlier ones with the same key, as the derived readers do.
    fn install(self, world: &mut World) -> Result<(), ReadError> {
        let Maps { cabinets, batteries, mismatched, shops, orders } = self;
        // The battery index and the cabinet tree are built at once, on two threads.
        let batteries = std::thread::scope(|s| {
            let table = s.spawn(move || Batteries::from_vec(batteries, mismatched));
            world.cabinets = cabinets.into_iter().collect();
            world.shops = shops.into_iter().collect();
            world.orders = orders.into_iter().collect();
            table.join()
        });
        world.batteries = batteries.map_err(|_| ReadError::Data("the battery table could not be built".into()))?;
        Ok(())
    }
}

/// Gather parsed batches in their order; the first error (in the stream's order) stops it.
fn collect(parsed: mpsc::Receiver<(u64, Result<Parsed, ReadError>)>) -> Result<[Maps; 2], ReadError> {
    let mut maps = [Maps::default(), Maps::default()];
    let mut next = 0u64;
    // Batches parsed ahead of one still being parsed wait here (a few per worker at most).
    let mut early = BTreeMap::new();
    for (seq, p) in parsed {
        early.insert(seq, p);
        while let Some(p) = early.remove(&next) {
            let p = p?;
            maps[p.slot as usize].add(p.entries);
            next += 1;
        }
    }
    // Every batch sent was parsed and gathered, unless a worker stopped short.
    match early.into_values().next() {
        None => Ok(maps),
        Some(Err(e)) => Err(e),
        Some(Ok(_)) => Err(ReadError::Data("a batch of records was lost".into())),
    }
}

/// Bytes that matter to [`Nest::scan_reference`] outside strings.
#[cfg(test)]
const STRUCTURAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'{' as usize] = true;
    t[b'}' as usize] = true;
    t[b'[' as usize] = true;
    t[b']' as usize] = true;
    t[b',' as usize] = true;
    t
};

/// Where the end of a nested value is, across pieces of its text.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Nest {
    depth: usize,
    in_str: bool,
    escaped: bool,
}

/// What [`Nest::scan`] stopped at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// A comma between the entries of the outermost object or array.
    Comma,
    /// The bracket that closes it.
    End,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that is `b`, and no other bit. Exact per byte: the
/// shorter `(x - ONES) & !x` also marks some bytes above a match, through its borrow.
#[inline(always)]
fn bytes_equal(word: u64, b: u8) -> u64 {
    let x = word ^ (ONES * u64::from(b));
    !(((x & LOW7) + LOW7) | x) & HIGH
}

/// The high bit of each byte of `word` that is a bracket or a backslash, and of each `|`:
/// `[` and `{`, `]` and `}` differ only in 0x20, and `\` and `|` fold between them, so with
/// 0x20 set these are the bytes 0x7b..=0x7d (bytes from 0x80 up, some of which fold there
/// too, are left out). One range test instead of five equality tests.
#[inline(always)]
fn brackets_or_backslashes(word: u64) -> u64 {
    let folded = (word | (ONES * 0x20)) & LOW7;
    (folded + ONES * (0x80 - 0x7b)) & !(folded + ONES * (0x7f - 0x7d)) & !word & HIGH
}

/// A word of text, its first byte lowest.
#[inline(always)]
fn word_of(chunk: &[u8]) -> u64 {
    u64::from_le_bytes(chunk.try_into().unwrap_or_default())
}

/// How many bytes of a mask (high bits only) are marked. A multiplication, not
/// `count_ones`: the baseline x86-64 has no popcount instruction.
#[inline(always)]
fn count(marks: u64) -> usize {
    ((marks >> 7).wrapping_mul(ONES) >> 56) as usize
}

/// Whether an odd number of bytes of a mask (high bits only) are marked.
#[inline(always)]
fn odd(marks: u64) -> bool {
    count(marks) % 2 == 1
}

impl Nest {
    /// Scan `bytes` (the text after what was scanned before); the offset of the first comma
    /// at depth 1 (when `commas`) or of the bracket that brings the depth to 0, else `None`.
    ///
    /// Eight bytes (a word) at a time, in pairs: most of a snapshot's text has no bracket or
    /// backslash and is not at depth 1, and for such words only the parity of their quotes
    /// matters. It is gathered over the words passed until one needs a closer look
    /// ([`Nest::word`]).
    fn scan(&mut self, bytes: &[u8], commas: bool) -> Option<(usize, Stop)> {
        let mut pairs = bytes.chunks_exact(16);
        let mut at = 0;
        let mut quotes_passed = 0u64;
        for pair in &mut pairs {
            let (a, b) = pair.split_at(8);
            let (a, b) = (word_of(a), word_of(b));
            // Both words' tests before either is looked at: side by side, the compiler does
            // them in one vector register.
            let (mut look_a, mut look_b) = (brackets_or_backslashes(a), brackets_or_backslashes(b));
            if commas && self.depth == 1 {
                look_a |= bytes_equal(a, b',');
                look_b |= bytes_equal(b, b',');
            }
            if look_a | look_b == 0 && !self.escaped {
                quotes_passed ^= bytes_equal(a, b'"') ^ bytes_equal(b, b'"');
                at += 16;
                continue;
            }
            if let Some((i, stop)) = self.word(a, look_a, commas, &mut quotes_passed) {
                return Some((at + i, stop));
            }
            // `a` may have brought the depth to 1, where the commas of `b` count.
            if commas && self.depth == 1 {
                look_b |= bytes_equal(b, b',');
            }
            if let Some((i, stop)) = self.word(b, look_b, commas, &mut quotes_passed) {
                return Some((at + 8 + i, stop));
            }
            at += 16;
        }
        let mut words = pairs.remainder().chunks_exact(8);
        for chunk in &mut words {
            let word = word_of(chunk);
            if let Some((i, stop)) = self.word(word, self.look(word, commas), commas, &mut quotes_passed) {
                return Some((at + i, stop));
            }
            at += 8;
        }
        self.in_str ^= odd(quotes_passed);
        for (k, &b) in words.remainder().iter().enumerate() {
            if let Some(stop) = self.step(b, commas) {
                return Some((at + k, stop));
            }
        }
        None
    }

    /// The high bit of the bytes of `word` that may stop a scan or change its depth, and of
    /// a few others (see [`brackets_or_backslashes`]); none for most words of a snapshot.
    #[inline(always)]
    fn look(&self, word: u64, commas: bool) -> u64 {
        let commas = if commas && self.depth == 1 { bytes_equal(word, b',') } else { 0 };
        brackets_or_backslashes(word) | commas
    }

    /// [`Nest::scan`] of a word (its first byte lowest). `quotes_passed`: the quotes of the
    /// words passed over since `in_str` was last brought up to date, this one's added when it
    /// is passed too.
    ///
    /// Which bytes are inside strings comes from the quotes before them (a running XOR). Deep
    /// inside an entry, where the word's closing brackets cannot bring the depth to 1, only
    /// the brackets' counts matter; nearer, they and the commas are visited in order. A word
    /// with a backslash, or after one, goes byte by byte ([`Nest::step`]): escapes are rare in
    /// snapshots, and that keeps their rules in one obvious place.
    #[inline(always)]
    fn word(&mut self, word: u64, look: u64, commas: bool, quotes_passed: &mut u64) -> Option<(usize, Stop)> {
        if look == 0 && !self.escaped {
            *quotes_passed ^= bytes_equal(word, b'"');
            return None;
        }
        self.in_str ^= odd(*quotes_passed);
        *quotes_passed = 0;
        if self.escaped || bytes_equal(word, b'\\') != 0 {
            for (k, b) in word.to_le_bytes().into_iter().enumerate() {
                if let Some(stop) = self.step(b, commas) {
                    return Some((k, stop));
                }
            }
            return None;
        }
        // The high bit of each byte after an odd number of quotes (the byte's own included)
        // since the word began, flipped when the word began in a string: set for an opening
        // quote and the string's text, clear for the closing quote.
        let mut inside = bytes_equal(word, b'"');
        inside ^= inside << 8;
        inside ^= inside << 16;
        inside ^= inside << 32;
        inside ^= HIGH * u64::from(self.in_str);
        let outside = !inside & HIGH;
        // `[` and `{`, `]` and `}` differ only in 0x20.
        let folded = word | (ONES * 0x20);
        let opens = bytes_equal(folded, b'{') & outside;
        let closes = bytes_equal(folded, b'}') & outside;
        let closed = count(closes);
        // Even if every closing bracket came first, the depth would stay above 1 (above 0
        // without commas): nothing here can stop the scan.
        if self.depth > closed + usize::from(commas) {
            self.depth = self.depth + count(opens) - closed;
            self.in_str = inside >> 63 != 0;
            return None;
        }
        let mut brackets = opens | closes;
        let mut pending = if commas { bytes_equal(word, b',') & outside } else { 0 };
        loop {
            let next = brackets & brackets.wrapping_neg();
            // The bytes before the next bracket (all of them when there is none).
            let before = next.wrapping_sub(1);
            if self.depth == 1 && pending & before != 0 {
                self.in_str = false;
                return Some(((pending & before).trailing_zeros() as usize / 8, Stop::Comma));
            }
            if next == 0 {
                break;
            }
            // Commas passed were at another depth.
            pending &= !before;
            brackets ^= next;
            if opens & next != 0 {
                self.depth += 1;
            } else {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    self.in_str = false;
                    return Some((next.trailing_zeros() as usize / 8, Stop::End));
                }
            }
        }
        self.in_str = inside >> 63 != 0;
        None
    }

    /// [`Nest::scan`] of one byte.
    #[inline(always)]
    fn step(&mut self, b: u8, commas: bool) -> Option<Stop> {
        if self.in_str {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_str = false;
            }
            return None;
        }
        match b {
            b'"' => self.in_str = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    return Some(Stop::End);
                }
            }
            b',' if commas && self.depth == 1 => return Some(Stop::Comma),
            _ => {}
        }
        None
    }

    /// [`Nest::scan`] as it was before it went a word at a time: the tests' reference.
    #[cfg(test)]
    fn scan_reference(&mut self, bytes: &[u8], commas: bool) -> Option<(usize, Stop)> {
        let mut i = 0;
        while i < bytes.len() {
            let rest = bytes.get(i..).unwrap_or_default();
            if self.in_str {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                let k = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
                i += k;
                if rest.get(k) == Some(&b'\\') {
                    self.escaped = true;
                } else {
                    self.in_str = false;
                }
                i += 1;
            } else {
                let k = rest.iter().position(|&b| STRUCTURAL[b as usize])?;
                i += k;
                match rest.get(k).copied().unwrap_or(b' ') {
                    b'"' => self.in_str = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            return Some((i, Stop::End));
                        }
                    }
                    b',' if commas && self.depth == 1 => return Some((i, Stop::Comma)),
                    _ => {}
                }
                i += 1;
            }
        }
        None
    }
}

/// A buffered reader that knows how far it is into the stream.
struct Scan<R> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Bytes before `buf`.
    before: u64,
    eof: bool,
}

/// The reading buffer: large enough that a read is rare per record, small against the
/// batches in flight.
const BUFFER: usize = 1 << 20;
/// A batch is cut at the first entry boundary past this many bytes.
const BATCH: usize = 1 << 20;

impl<R: Read> Scan<R> {
    fn new(reader: R) -> Self {
        Scan { reader, buf: vec![0; BUFFER], pos: 0, end: 0, before: 0, eof: false }
    }

    /// True when there are bytes to look at (reading more when the buffer is used up).
    fn fill(&mut self) -> Result<bool, ReadError> {
        if self.pos < self.end {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        self.before += self.end as u64;
        self.pos = 0;
        self.end = 0;
        loop {
            match self.reader.read(&mut self.buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ReadError::Io(e.to_string())),
            }
        }
    }

    /// The unread part of the buffer.
    fn rest(&self) -> &[u8] {
        self.buf.get(self.pos..self.end).unwrap_or_default()
    }

    /// Where the reader is, for messages.
    fn at(&self) -> u64 {
        self.before + self.pos as u64
    }

    fn eof(&self, what: &str) -> ReadError {
        ReadError::Syntax(format!("EOF while parsing {what} at byte {}", self.at()))
    }

    fn unexpected(&self, expected: &str) -> ReadError {
        ReadError::Syntax(format!("expected {expected} at byte {}", self.at()))
    }

    /// The next byte that is not whitespace, left unread; `None` at the end.
    fn peek(&mut self) -> Result<Option<u8>, ReadError> {
        while self.fill()? {
            match self.rest().iter().position(|b| !matches!(b, b' ' | b'\n' | b'\r' | b'\t')) {
                Some(k) => {
                    self.pos += k;
                    return Ok(self.rest().first().copied());
                }
                None => self.pos = self.end,
            }
        }
        Ok(None)
    }

    /// Copy the next value, as written, to `out`.
    fn copy_value(&mut self, out: &mut Vec<u8>, what: &str) -> Result<(), ReadError> {
        match self.peek()? {
            None => Err(self.eof(what)),
            Some(b'"') => {
                self.pos += 1;
                out.push(b'"');
                self.copy_until(out, Nest { in_str: true, ..Nest::default() }, what)
            }
            Some(b'{' | b'[') => self.copy_until(out, Nest::default(), what),
            Some(_) => {
                // A number or a literal: up to the next delimiter.
                while self.fill()? {
                    let rest = self.rest();
                    let k = rest.iter().position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'));
                    let n = k.unwrap_or(rest.len());
                    out.extend_from_slice(rest.get(..n).unwrap_or_default());
                    self.pos += n;
                    if k.is_some() {
                        break;
                    }
                }
                Ok(())
            }
        }
    }

    /// Copy to `out` up to the end of the string or nested value `nest` is in (the closing
    /// quote or bracket included).
    fn copy_until(&mut self, out: &mut Vec<u8>, mut nest: Nest, what: &str) -> Result<(), ReadError> {
        let string = nest.in_str;
        loop {
            if !self.fill()? {
                return Err(self.eof(what));
            }
            let rest = self.rest();
            let found = if string { string_end(&mut nest, rest) } else { nest.scan(rest, false).map(|(i, _)| i) };
            match found {
                Some(i) => {
                    out.extend_from_slice(rest.get(..=i).unwrap_or_default());
                    self.pos += i + 1;
                    return Ok(());
                }
                None => {
                    out.extend_from_slice(rest);
                    self.pos = self.end;
                }
            }
        }
    }
}

/// The offset of the quote that ends the string `nest` is in, if in `bytes`.
fn string_end(nest: &mut Nest, bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < bytes.len() {
        if nest.escaped {
            nest.escaped = false;
            i += 1;
            continue;
        }
        let k = bytes.get(i..).unwrap_or_default().iter().position(|&b| b == b'"' || b == b'\\')?;
        i += k;
        if bytes.get(i) == Some(&b'"') {
            nest.in_str = false;
            return Some(i);
        }
        nest.escaped = true;
        i += 1;
    }
    None
}

/// Where in the snapshot an object is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The whole body: a snapshot or an envelope.
    Top,
    /// An envelope's `data`.
    Data,
    /// A world.
    World(Slot),
}

/// Walks the snapshot, copies all but the four maps into the skeleton and sends those in
/// batches to the workers.
struct Cutter<'a, R> {
    scan: Scan<R>,
    batches: mpsc::SyncSender<Batch>,
    /// Cut a batch at the first entry boundary past this many bytes.
    batch: usize,
    seq: u64,
    failed: &'a AtomicBool,
}

impl<R: Read> Cutter<'_, R> {
    /// The skeleton of the whole body; the maps went to the workers.
    fn snapshot(&mut self) -> Result<Vec<u8>, ReadError> {
        let mut skeleton = Vec::new();
        match self.scan.peek()? {
            Some(b'{') => self.object(&mut skeleton, Level::Top)?,
            Some(b'[') => return Err(array_for("a snapshot: the object GET /_sim/state answers with, or its `data`")),
            // Not an object: serde_json says what it is instead.
            _ => self.scan.copy_value(&mut skeleton, "a value")?,
        }
        if self.scan.peek()?.is_some() {
            return Err(ReadError::Syntax(format!("trailing characters at byte {}", self.scan.at())));
        }
        Ok(skeleton)
    }

    /// The object the reader is at (its `{` next), members copied or descended into.
    fn object(&mut self, out: &mut Vec<u8>, level: Level) -> Result<(), ReadError> {
        self.scan.pos += 1;
        out.push(b'{');
        if self.scan.peek()? == Some(b'}') {
            self.scan.pos += 1;
            out.push(b'}');
            return Ok(());
        }
        loop {
            match self.scan.peek()? {
                Some(b'"') => {}
                Some(_) => return Err(self.scan.unexpected("a member name")),
                None => return Err(self.scan.eof("an object")),
            }
            let start = out.len();
            self.scan.copy_value(out, "a member name")?;
            let key = out.get(start + 1..out.len().saturating_sub(1)).unwrap_or_default().to_vec();
            match self.scan.peek()? {
                Some(b':') => {
                    self.scan.pos += 1;
                    out.push(b':');
                }
                Some(_) => return Err(self.scan.unexpected("`:`")),
                None => return Err(self.scan.eof("an object")),
            }
            let object_next = self.scan.peek()? == Some(b'{');
            let map = match level {
                Level::World(slot) if object_next => Kind::of(&key).map(|kind| (slot, kind)),
                _ => None,
            };
            match (level, key.as_slice(), map) {
                (_, _, Some((slot, kind))) => {
                    self.map(slot, kind)?;
                    out.extend_from_slice(b"{}");
                }
                (Level::Top, b"world", _) if object_next => self.object(out, Level::World(Slot::Top))?,
                (Level::Top, b"data", _) if object_next => self.object(out, Level::Data)?,
                (Level::Data, b"world", _) if object_next => self.object(out, Level::World(Slot::Data))?,
                (Level::Top, b"data", _) if self.scan.peek()? == Some(b'[') => {
                    return Err(array_for("a snapshot object (`format`, `now`, `world`)"))
                }
                (Level::Top | Level::Data, b"world", _) if self.scan.peek()? == Some(b'[') => {
                    return Err(array_for("a world object (`cabinets`, `batteries`, `shops`, `orders`, ...)"))
                }
                _ => self.scan.copy_value(out, "a value")?,
            }
            match self.scan.peek()? {
                Some(b',') => {
                    self.scan.pos += 1;
                    out.push(b',');
                }
                Some(b'}') => {
                    self.scan.pos += 1;
                    out.push(b'}');
                    return Ok(());
                }
                Some(_) => return Err(self.scan.unexpected("`,` or `}`")),
                None => return Err(self.scan.eof("an object")),
            }
        }
    }

    /// The map the reader is at (its `{` next), cut into batches of whole entries.
    fn map(&mut self, slot: Slot, kind: Kind) -> Result<(), ReadError> {
        self.scan.pos += 1;
        let mut nest = Nest { depth: 1, ..Nest::default() };
        let room = self.batch.min(BATCH) + 64 * 1024;
        let mut text = Vec::with_capacity(room);
        text.push(b'{');
        // Where the entry being read begins in `text`, and whether one came before it.
        let (mut entry_from, mut entries_before) = (1usize, false);
        loop {
            if !self.scan.fill()? {
                return Err(self.scan.eof("a map"));
            }
            let rest = self.scan.rest();
            match nest.scan(rest, true) {
                None => {
                    text.extend_from_slice(rest);
                    self.scan.pos = self.scan.end;
                }
                Some((i, stop)) => {
                    text.extend_from_slice(rest.get(..i).unwrap_or_default());
                    self.scan.pos += i + 1;
                    // Checked here, not left to serde_json: a cut between batches would hide it.
                    let empty = text.get(entry_from..).unwrap_or_default().iter().all(u8::is_ascii_whitespace);
                    if stop == Stop::End {
                        if empty && entries_before {
                            return Err(ReadError::Syntax(format!("trailing comma at byte {}", self.scan.at())));
                        }
                        return self.send(slot, kind, text);
                    }
                    if empty {
                        return Err(ReadError::Syntax(format!("expected a map entry at byte {}", self.scan.at())));
                    }
                    entries_before = true;
                    if text.len() >= self.batch {
                        let full = std::mem::replace(&mut text, Vec::with_capacity(room));
                        self.send(slot, kind, full)?;
                        text.push(b'{');
                    } else {
                        text.push(b',');
                    }
                    entry_from = text.len();
                }
            }
        }
    }

    /// Hand a batch (`{` and entries so far) to the workers.
    fn send(&mut self, slot: Slot, kind: Kind, mut text: Vec<u8>) -> Result<(), ReadError> {
        text.push(b'}');
        // A worker found a bad record: stop reading; the collector reports it.
        if self.failed.load(Ordering::Relaxed) {
            return Err(ReadError::Data("a record did not parse".into()));
        }
        let seq = self.seq;
        self.seq += 1;
        self.batches
            .send(Batch { seq, slot, kind, text })
            .map_err(|_| ReadError::Data("the record readers stopped".into()))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A reader that gives one byte per read, so every value straddles reads.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(out)) => {
                    *out = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    /// `text` read whole, in one-entry batches, and a byte at a time: the same snapshot, or
    /// refused all three ways (which fault is met first may differ); the first answer.
    pub(in super::super) fn read_every_way(text: &[u8]) -> Result<Snapshot, ReadError> {
        let whole = read(text);
        for other in [read_in_batches(text, 1), read_in_batches(Trickle(text), 1)] {
            match &whole {
                Ok(_) => assert_eq!(other, whole),
                Err(e) => assert!(other.is_err(), "refused whole ({e:?}), read in pieces"),
            }
        }
        whole
    }

    #[test]
    fn entries_are_cut_at_their_own_commas_only() {
        let inner = br#""a":{"s":"x,},{\"\\","n":[1,{"b":2}]} , "b":{},"c":{"d":"}"}"#;
        let cut: Vec<String> = entries_of(inner).iter().map(|e| String::from_utf8_lossy(e).into_owned()).collect();
        assert_eq!(cut, [r#""a":{"s":"x,},{\"\\","n":[1,{"b":2}]} "#, r#" "b":{}"#, r#""c":{"d":"}"}"#]);
        assert_eq!(key_of(br#"  "BAA00001":{"id":1}"#), "BAA00001");
    }

    #[test]
    fn malformed_text_is_refused_with_the_place_and_bad_records_by_name() {
        let err = |t: &str| read_every_way(t.as_bytes()).unwrap_err();
        assert!(matches!(err(""), ReadError::Syntax(m) if m.contains("EOF")));
        assert!(matches!(err("{\"world\":{\"batteries\":{\"A\":{"), ReadError::Syntax(m) if m.contains("EOF")));
        assert!(matches!(err("{} x"), ReadError::Syntax(m) if m.contains("trailing characters at byte 3")));
        assert!(matches!(err("{\"a\" 1}"), ReadError::Syntax(m) if m.contains("expected `:`")));
        assert!(matches!(err("{\"a\":1 \"b\":2}"), ReadError::Syntax(m) if m.contains("expected `,` or `}`")));
        assert!(matches!(err("{1:2}"), ReadError::Syntax(m) if m.contains("member name")));
        assert!(
            matches!(err("{\"world\":{\"shops\":{\"a\":1,}}}"), ReadError::Syntax(m) if m.contains("trailing comma"))
        );
        assert!(
            matches!(err("{\"world\":{\"shops\":{ , }}}"), ReadError::Syntax(m) if m.contains("expected a map entry"))
        );
        let bad = err(
            r#"{"world":{"batteries":{"B1":{"id":"B1","agent":"demo","place":{"kind":"docked"},"level":1.0,"since":0,"fault":0}}}}"#,
        );
        assert!(
            matches!(&bad, ReadError::Data(m) if m.starts_with("batteries: battery 'B1': unknown variant `docked`") && m.contains("of the record")),
            "{bad:?}"
        );
        // Shapes that are not objects say what was expected in the snapshot's words, never an
        // internal type's name.
        for (text, expected) in [
            ("[1]", "expected a snapshot: the object GET /_sim/state answers with"),
            ("\"x\"", "expected a snapshot: the object GET /_sim/state answers with"),
            ("[\"bajie-sim/1\", 0]", "expected a snapshot: the object GET /_sim/state answers with"),
            ("{\"data\":[1]}", "expected a snapshot object (`format`, `now`, `world`)"),
            ("{\"data\":true}", "expected a snapshot object (`format`, `now`, `world`)"),
            ("{\"world\":[]}", "expected a world object"),
            ("{\"data\":{\"world\":[]}}", "expected a world object"),
            ("{\"format\":\"bajie-sim/1\",\"now\":0,\"world\":7}", "expected a world object"),
        ] {
            let e = err(text);
            assert!(
                matches!(&e, ReadError::Data(m) if m.contains("invalid type") && m.contains(expected)),
                "{text}: {e:?}"
            );
            assert!(!format!("{e:?}").contains("struct"), "{text}: {e:?}");
        }
        assert!(matches!(err("{\"format\":\"bajie-sim/1\"}"), ReadError::Data(m) if m == "missing field `world`"));
    }

    #[test]
    fn text_read_as_a_str_answers_as_bytes_do() {
        // Valid and invalid UTF-8 (inside and outside strings), escapes, lone surrogates,
        // faults at every kind of place: the value, or the same error at the same place.
        let texts: [&[u8]; 14] = [
            br#"{"a":"x","b":[1,2.5,-3e2,null,true],"c":{"d":"\u00e9\n\"q\""}}"#,
            "{\"é\":\"😀 ü\"}".as_bytes(),
            b"{\"a\":\"\xff\"}",
            b"{\"a\":\"ok\"} \xc3",
            b"{\"\xe2\x82\":1}",
            br#"{"a":"\ud800"}"#,
            br#"{"a":"\ud83d\ude00"}"#,
            br#"{"a":"\x"}"#,
            b"{\"a\":\"tab\there\"}",
            br#"{"a":1,}"#,
            br#"{"a" 1}"#,
            br#"{"a":"unterminated}"#,
            b"",
            br#"[1] [2]"#,
        ];
        for text in texts {
            let bytes = serde_json::from_slice::<serde_json::Value>(text).map_err(|e| e.to_string());
            let str_way = from_text::<serde_json::Value>(text).map_err(|e| e.to_string());
            assert_eq!(str_way, bytes, "{}", String::from_utf8_lossy(text));
        }
        let ok = from_text::<serde_json::Value>(b"{\"a\":\"\xc3\xa9\"}").unwrap();
        assert_eq!(ok["a"], "é");
    }

    /// [`Nest::scan`] or [`Nest::scan_reference`].
    type ScanFn = fn(&mut Nest, &[u8], bool) -> Option<(usize, Stop)>;

    /// Scans `pieces` one after another from `start` as [`Cutter::map`] does (after a stop,
    /// on from the byte after it), with `scan` each time; every answer (offset in the whole
    /// text) and the state after every call.
    fn drive(start: Nest, pieces: &[&[u8]], commas: bool, scan: ScanFn) -> Vec<(Option<(usize, Stop)>, Nest)> {
        let (mut nest, mut seen, mut calls) = (start, 0, Vec::new());
        for piece in pieces {
            let mut rest = *piece;
            loop {
                let found = scan(&mut nest, rest, commas);
                calls.push((found.map(|(i, stop)| (seen + i, stop)), nest));
                match found {
                    Some((i, _)) => {
                        seen += i + 1;
                        rest = rest.get(i + 1..).unwrap_or_default();
                    }
                    None => {
                        seen += rest.len();
                        break;
                    }
                }
            }
        }
        calls
    }

    /// Every state a scan may start a piece in, odd ones included (an escape pending outside
    /// a string: the reference carries it into the next string).
    fn starts() -> Vec<Nest> {
        let mut all = Vec::new();
        for depth in 0..=3 {
            for in_str in [false, true] {
                for escaped in [false, true] {
                    all.push(Nest { depth, in_str, escaped });
                }
            }
        }
        all
    }

    /// JSON-like text: strings of every length (escapes, runs of backslashes before quotes,
    /// brackets and commas inside, multi-byte UTF-8), nesting, commas, and stray bytes.
    fn json_like(rng: &mut rand::rngs::StdRng, len: usize) -> Vec<u8> {
        use rand::Rng;
        const ODD: [&str; 12] = ["\\", "\\\\", "\\\\\\", "\\\"", "\"", ",", "{", "}", "[", "]", "é", "😀"];
        // `#`, `-` and `]` are one above `"`, `,` and `\`; `|`, 0xdb and 0xfb fold near brackets.
        const PLAIN: &[u8] = b"abcxyzYy_09:. \n\x7f#-|\xdb\xfb";
        let mut out = Vec::new();
        while out.len() < len {
            match rng.random_range(0..10) {
                0..=3 => {
                    out.push(b'"');
                    for _ in 0..rng.random_range(0..40) {
                        if rng.random_range(0..4) == 0 {
                            out.extend_from_slice(ODD[rng.random_range(0..ODD.len())].as_bytes());
                        } else {
                            out.push(PLAIN[rng.random_range(0..PLAIN.len())]);
                        }
                    }
                    // Backslashes before the closing quote: an even run closes the string.
                    out.extend(std::iter::repeat_n(b'\\', rng.random_range(0..4) * rng.random_range(0..2)));
                    out.push(b'"');
                }
                4..=7 => out.push(b"{}[],:,,{}"[rng.random_range(0..10)]),
                8 => out.push(PLAIN[rng.random_range(0..PLAIN.len())]),
                _ => out.extend_from_slice(ODD[rng.random_range(0..ODD.len())].as_bytes()),
            }
        }
        out
    }

    /// A JSON value as snapshots have them: members and strings of every length, numbers,
    /// nesting, an escape now and then; `nest` levels at most.
    fn json_value(rng: &mut rand::rngs::StdRng, nest: usize, out: &mut Vec<u8>) {
        use rand::Rng;
        match rng.random_range(0..if nest == 0 { 3 } else { 5 }) {
            0 => {
                out.push(b'"');
                for _ in 0..rng.random_range(0..60) {
                    match rng.random_range(0..40) {
                        0 => out.extend_from_slice(b"\\\""),
                        1 => out.extend_from_slice(b"\\\\"),
                        2 => out.extend_from_slice("{é},[😀]".as_bytes()),
                        _ => out.push(rng.random_range(b'#'..b'[')),
                    }
                }
                out.push(b'"');
            }
            1 => {
                let shift = rng.random_range(0..64);
                out.extend_from_slice(rng.random_range(0..u64::MAX >> shift).to_string().as_bytes());
            }
            2 => out.extend_from_slice(b"null"),
            open => {
                let object = open == 3;
                out.push(if object { b'{' } else { b'[' });
                for member in 0..rng.random_range(0..6) {
                    if member > 0 {
                        out.push(b',');
                    }
                    if object {
                        out.extend_from_slice(format!("\"k{}\":", rng.random_range(0..1 << 20)).as_bytes());
                    }
                    json_value(rng, nest - 1, out);
                }
                out.push(if object { b'}' } else { b']' });
            }
        }
    }

    #[test]
    fn word_scan_matches_the_byte_by_byte_reference() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let same = |text: &[u8], pieces: &[&[u8]]| {
            for start in starts() {
                for commas in [false, true] {
                    let want = drive(start, pieces, commas, Nest::scan_reference);
                    let got = drive(start, pieces, commas, Nest::scan);
                    assert_eq!(
                        got,
                        want,
                        "from {start:?}, commas {commas}, pieces {:?} of {:?}",
                        pieces.iter().map(|p| p.len()).collect::<Vec<_>>(),
                        String::from_utf8_lossy(text)
                    );
                }
            }
        };
        for round in 0..1000 {
            // Mostly short texts, cut in two at every offset; every tenth long (several pairs
            // of words and a remainder), cut at random places only.
            let long = round % 10 == 0;
            let len = rng.random_range(0..if long { 400 } else { 48 });
            let text = json_like(&mut rng, len);
            same(&text, &[&text]);
            if !long {
                for k in 0..=text.len() {
                    let (a, b) = text.split_at(k);
                    same(&text, &[a, b]);
                }
            }
            for _ in 0..if long { 20 } else { 4 } {
                let mut cuts: Vec<usize> =
                    (0..rng.random_range(1..8)).map(|_| rng.random_range(0..=text.len())).collect();
                cuts.sort_unstable();
                let mut pieces = Vec::new();
                let mut from = 0;
                for c in cuts.into_iter().chain([text.len()]) {
                    pieces.push(text.get(from..c).unwrap_or_default());
                    from = c;
                }
                same(&text, &pieces);
            }
        }
        // A map's entries as the cutter meets them: long runs of words with nothing to look
        // at, and brackets deep inside entries.
        for _ in 0..300 {
            let mut text = Vec::new();
            for entry in 0..rng.random_range(0..6) {
                if entry > 0 {
                    text.push(b',');
                }
                text.extend_from_slice(format!("\"e{entry}\":").as_bytes());
                json_value(&mut rng, 4, &mut text);
            }
            text.push(b'}');
            for _ in 0..8 {
                let cut = rng.random_range(0..=text.len());
                let (a, b) = text.split_at(cut);
                same(&text, &[a, b]);
            }
        }
        // Each byte that matters at every place in three words of a string's text, and of a
        // value's.
        for odd in [b'"', b'\\', b',', b'{', b'}', b'[', b']'] {
            for at in 0..24 {
                for plain in [b'a', b'\xc3'] {
                    let mut text = vec![plain; 24];
                    if let Some(b) = text.get_mut(at) {
                        *b = odd;
                    }
                    same(&text, &[&text]);
                }
            }
        }
    }

    /// The cutter's scanning alone, on a state file (`scripts/bench-restore.sh` writes one):
    /// the four maps scanned as [`Cutter::map`] scans them, in the reader's 1 MiB buffers,
    /// with [`Nest::scan`] and with the reference in turns; this thread's CPU time (wall time
    /// where the system does not count it).
    ///
    /// `cargo test --release --lib -- --ignored --nocapture cutting_a_state_file`
    /// (`STATE_FILE=path` for another file than `bench-out/restore/state.json`)
    #[test]
    #[ignore]
    fn cutting_a_state_file() {
        let path = std::env::var("STATE_FILE").unwrap_or_else(|_| "bench-out/restore/state.json".into());
        let Ok(text) = std::fs::read(&path) else {
            println!("no {path}: nothing measured");
            return;
        };
        // Each map's text after its `{`: the keys occur once in a snapshot, as members.
        let maps: Vec<usize> = ["cabinets", "batteries", "shops", "orders"]
            .iter()
            .filter_map(|key| {
                let member = format!("\"{key}\":{{");
                text.windows(member.len()).position(|w| w == member.as_bytes()).map(|at| at + member.len())
            })
            .collect();
        // Entries, bytes, and a checksum of where every scan stopped.
        let cut = |scan: ScanFn| {
            let (mut entries, mut bytes, mut stops) = (0u64, 0usize, 0u64);
            for &from in &maps {
                let mut nest = Nest { depth: 1, ..Nest::default() };
                let mut at = from;
                'map: loop {
                    let buffer_end = (at / BUFFER + 1) * BUFFER;
                    let mut rest = text.get(at..buffer_end.min(text.len())).unwrap_or_default();
                    assert!(!rest.is_empty(), "the map at {from} does not end");
                    loop {
                        match scan(&mut nest, rest, true) {
                            None => {
                                at += rest.len();
                                break;
                            }
                            Some((i, stop)) => {
                                entries += 1;
                                at += i + 1;
                                stops = stops.wrapping_mul(31).wrapping_add(at as u64);
                                if stop == Stop::End {
                                    bytes += at - from;
                                    break 'map;
                                }
                                rest = rest.get(i + 1..).unwrap_or_default();
                            }
                        }
                    }
                }
            }
            (entries, bytes, stops)
        };
        let cpu = || {
            let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
            text.split_whitespace().next()?.parse::<f64>().ok().map(|ns| ns / 1e9)
        };
        let started = std::time::Instant::now();
        let counts_cpu = cpu().is_some();
        let now = || if counts_cpu { cpu().unwrap_or_default() } else { started.elapsed().as_secs_f64() };
        let (mut words, mut reference) = (Vec::new(), Vec::new());
        let mut counted = None;
        for _ in 0..5 {
            for (times, scan) in [(&mut words, Nest::scan as ScanFn), (&mut reference, Nest::scan_reference)] {
                let t = now();
                let result = std::hint::black_box(cut(scan));
                times.push(now() - t);
                assert_eq!(*counted.get_or_insert(result), result);
            }
        }
        let (entries, bytes, _) = counted.unwrap_or_default();
        let clock = if counts_cpu { "CPU" } else { "wall" };
        println!(
            "{path}: {} maps, {entries} entries, {:.1} MiB; {clock} seconds",
            maps.len(),
            bytes as f64 / 1048576.0
        );
        for (name, times) in [("Nest::scan", &mut words), ("reference (before)", &mut reference)] {
            times.sort_by(f64::total_cmp);
            let (min, median) = (times.first().copied().unwrap_or_default(), times.get(2).copied().unwrap_or_default());
            println!(
                "{name:<20} min {min:.3} s, median {median:.3} s ({:.2} ns a byte)",
                min * 1e9 / bytes.max(1) as f64
            );
        }
    }
}
