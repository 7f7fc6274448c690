//! A per-worker memo of O1 answers, the endpoint load tests hit hardest: a served body is
//! served again, byte for byte, for as long as it is still the answer.
//!
//! An entry is valid while (a) the world has not changed since it was made, told by the
//! store's version counter, which every write bumps under its lock, and (b) the clock is still
//! inside the span where no battery's `vol` in the body moves (`Battery::vol_steady_until`).
//! Anything else in an O1 body (slots, shop, price terms, online state) changes only through
//! a write. So a hit is exactly the body a fresh serialisation would produce, minus the
//! serialisation, which is most of an O1 request's own cost.
//!
//! Thread-local rather than shared: actix runs each worker on its own thread, so a worker's
//! cache needs no lock and no atomic beyond the version read. Entries name the store they
//! came from, because tests run several simulators on the same threads.
//!
//! Only devices asked about again are kept ([`worth_keeping`]): a load test spread over a
//! whole fleet would fill the memo with answers nobody asks for twice.
//!
//! Two smaller memos work the same way for what every platform request asks the world before
//! its handler runs: which account an `Authorization` header names ([`account`]), and whether
//! any request fault rule exists ([`request_rules`]). On a hit neither takes the world lock.

use crate::clock::Millis;
use crate::store::Stamp;
use actix_web::web::Bytes;
use compact_str::CompactString;
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;

/// Entries kept per worker thread: about 5 MB of O1 bodies. A load test spread over a whole
/// large fleet misses anyway; one that hammers a working set of cabinets keeps it. Past it
/// the oldest entry goes, one per new one: emptying the whole cache at once freed 4,096 cold
/// bodies in one go, a pause of its worker in the middle of a load test.
const CAPACITY: usize = 4096;

// Device and account ids are short: compact strings keep them inline, so remembering an
// answer costs no allocation beyond the map's own (a spread load misses, and puts, every time).
struct Entry {
    stamp: Stamp,
    agent: CompactString,
    from: Millis,
    until: Millis,
    body: Bytes,
}

/// The O1 entries by device, and the devices in the order they came in (oldest first).
/// Hashed with FxHash, as the world's tables are: a spread load misses and puts on every
/// request, two hashes of a short id each, and SipHash cost ten times FxHash's there; the
/// maps are bounded, so a client choosing colliding ids slows only its own worker's memo.
#[derive(Default)]
struct Memo {
    map: FxHashMap<CompactString, Entry>,
    order: VecDeque<CompactString>,
}

/// Authorization headers remembered per worker: load tests use a handful of accounts.
const ACCOUNTS: usize = 64;

/// The account a header authenticated as, and in which world. Shared with the requests that
/// use it: a hit costs a reference count, not a copy.
type Known = (Stamp, Arc<str>);

thread_local! {
    static O1: RefCell<Memo> = RefCell::new(Memo::default());
    /// Header -> the account it authenticated as, and when.
    static AUTH: RefCell<FxHashMap<Box<str>, Known>> = RefCell::new(FxHashMap::default());
    /// Whether any request fault rule exists, and when.
    static RULES: RefCell<Option<(Stamp, bool)>> = const { RefCell::new(None) };
}

/// The account `header` authenticates as in the world at `stamp`, computed by `resolve`
/// (which reads the world) unless remembered. Only successes are remembered: a refused header
/// is checked again each time, and answers the same 401.
pub fn account<E>(stamp: Stamp, header: &str, resolve: impl FnOnce() -> Result<String, E>) -> Result<Arc<str>, E> {
    let hit = AUTH.with_borrow(|m| m.get(header).filter(|(s, _)| *s == stamp).map(|(_, a)| a.clone()));
    if let Some(account) = hit {
        return Ok(account);
    }
    let account: Arc<str> = resolve()?.into();
    AUTH.with_borrow_mut(|m| {
        if m.len() >= ACCOUNTS && !m.contains_key(header) {
            m.clear();
        }
        m.insert(header.into(), (stamp, account.clone()));
    });
    Ok(account)
}

/// Whether request fault rules exist in the world at `stamp`, from `check` unless remembered.
pub fn request_rules(stamp: Stamp, check: impl FnOnce() -> bool) -> bool {
    if let Some((s, any)) = RULES.with_borrow(|r| *r) {
        if s == stamp {
            return any;
        }
    }
    let any = check();
    RULES.set(Some((stamp, any)));
    any
}

/// The cached O1 body for `agent` asking about `device`, if still valid in the world at
/// `stamp` and at virtual time `now`.
pub fn get(stamp: Stamp, agent: &str, device: &str, now: Millis) -> Option<Bytes> {
    O1.with_borrow(|memo| {
        let e = memo.map.get(device)?;
        let valid = e.stamp == stamp && &*e.agent == agent && e.from <= now && now < e.until;
        valid.then(|| e.body.clone())
    })
}

/// Devices asked for lately, for [`worth_keeping`]: a hash of each, one per slot.
const DOORKEEPER: usize = 1024;

thread_local! {
    static ASKED: RefCell<[u64; DOORKEEPER]> = const { RefCell::new([0; DOORKEEPER]) };
}

/// Whether an answer about `device` that [`get`] did not have is worth remembering: yes when
/// this worker was asked about the same device lately (its hash is still in its slot of a
/// table of 1,024), otherwise the device is noted and the answer is not kept. A load test
/// spread over a large fleet asks about a device again only long after (the chance it is
/// still noted is 1,024 in the fleet's size), and remembering every answer cost it a put and
/// the late free of an evicted body per request, and working out how long each battery keeps
/// its charge; one that hammers a cabinet or a working set has it kept from its second ask.
pub fn worth_keeping(device: &str) -> bool {
    use std::hash::BuildHasher;
    // Never 0, the empty slot's value.
    let h = rustc_hash::FxBuildHasher.hash_one(device) | 1;
    ASKED.with_borrow_mut(|asked| {
        let slot = &mut asked[(h >> 54) as usize % DOORKEEPER];
        let again = *slot == h;
        *slot = h;
        again
    })
}

/// Remember `body` as the answer in the world at `stamp`, from `now` until `until` (exclusive).
pub fn put(stamp: Stamp, agent: &str, device: &str, now: Millis, until: Millis, body: Bytes) {
    O1.with_borrow_mut(|memo| {
        let entry = Entry { stamp, agent: agent.into(), from: now, until, body };
        if let Some(e) = memo.map.get_mut(device) {
            *e = entry;
            return;
        }
        if memo.map.len() >= CAPACITY {
            if let Some(oldest) = memo.order.pop_front() {
                memo.map.remove(&oldest);
            }
        }
        let key = CompactString::from(device);
        memo.order.push_back(key.clone());
        memo.map.insert(key, entry);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(store: u64, version: u64) -> Stamp {
        Stamp { store, version }
    }

    #[test]
    fn an_entry_serves_only_its_store_version_agent_and_time_span() {
        let body = Bytes::from_static(b"{}");
        put(st(1, 7), "demo", "BJD1", 100, 200, body.clone());
        assert_eq!(get(st(1, 7), "demo", "BJD1", 100), Some(body.clone()));
        assert_eq!(get(st(1, 7), "demo", "BJD1", 199), Some(body));
        for miss in [
            get(st(2, 7), "demo", "BJD1", 150),
            get(st(1, 8), "demo", "BJD1", 150),
            get(st(1, 7), "other", "BJD1", 150),
            get(st(1, 7), "demo", "BJD2", 150),
            get(st(1, 7), "demo", "BJD1", 99),
            get(st(1, 7), "demo", "BJD1", 200),
        ] {
            assert_eq!(miss, None);
        }
    }

    #[test]
    fn memos_recompute_when_the_version_moves_and_remember_only_successes() {
        let ok = || Ok::<_, ()>("demo".to_string());
        assert_eq!(account(st(5, 1), "Basic x", ok), Ok("demo".into()));
        assert_eq!(account(st(5, 1), "Basic x", || Err(())), Ok("demo".into()), "remembered");
        assert_eq!(account(st(5, 2), "Basic x", || Err(())), Err(()), "a new version asks again");
        assert_eq!(account(st(5, 2), "Basic x", || Err(())), Err(()), "a refusal is not remembered");
        assert_eq!(account(st(6, 1), "Basic x", || Err(())), Err(()), "another store asks again");
        assert!(request_rules(st(5, 1), || true));
        assert!(request_rules(st(5, 1), || false), "remembered");
        assert!(!request_rules(st(5, 2), || false));
    }

    #[test]
    fn a_device_is_worth_keeping_from_its_second_ask() {
        assert!(!worth_keeping("KEEP1"), "first ask: noted only");
        assert!(worth_keeping("KEEP1"), "second ask");
        assert!(worth_keeping("KEEP1"), "and after");
        // Many others take the slots: the device is forgotten and must be asked twice again.
        for i in 0..DOORKEEPER * 8 {
            worth_keeping(&format!("OTHER{i}"));
        }
        assert!(!worth_keeping("KEEP1"));
        assert!(worth_keeping("KEEP1"));
        // A spread over a fleet much larger than the table is rarely kept.
        let kept = (0..50_000).filter(|i| worth_keeping(&format!("F{:05}", (i * 7_919) % 50_000))).count();
        assert!(kept < 2_000, "{kept} of 50,000 spread asks kept");
    }

    #[test]
    fn the_cache_stays_bounded() {
        for i in 0..CAPACITY * 2 + 3 {
            put(st(9, 1), "a", &format!("D{i}"), 0, 10, Bytes::new());
        }
        O1.with_borrow(|m| assert_eq!((m.map.len(), m.order.len()), (CAPACITY, CAPACITY)));
        // The oldest went first; the newest are all there.
        assert_eq!(get(st(9, 1), "a", "D0", 5), None);
        assert!(get(st(9, 1), "a", &format!("D{}", CAPACITY * 2 + 2), 5).is_some());
        assert!(get(st(9, 1), "a", &format!("D{}", CAPACITY + 3), 5).is_some());
        assert_eq!(get(st(9, 1), "a", &format!("D{}", CAPACITY + 2), 5), None);
        // A device put again keeps its one place.
        put(st(9, 1), "a", &format!("D{}", CAPACITY * 2 + 2), 0, 10, Bytes::new());
        O1.with_borrow(|m| assert_eq!(m.order.len(), CAPACITY));
    }
}
