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
//! Two smaller memos work the same way for what every platform request asks the world before
//! its handler runs: which account an `Authorization` header names ([`account`]), and whether
//! any request fault rule exists ([`request_rules`]). On a hit neither takes the world lock.

use crate::clock::Millis;
use actix_web::web::Bytes;
use std::cell::RefCell;
use std::collections::HashMap;

/// Entries kept per worker thread before the cache starts over: about 5 MB of O1 bodies. A
/// load test spread over a whole large fleet misses anyway; one that hammers a working set
/// of cabinets keeps it.
const CAPACITY: usize = 4096;

struct Entry {
    store: u64,
    version: u64,
    agent: Box<str>,
    from: Millis,
    until: Millis,
    body: Bytes,
}

/// Authorization headers remembered per worker: load tests use a handful of accounts.
const ACCOUNTS: usize = 64;

/// A header that authenticated: (store, version, account).
type Known = (u64, u64, Box<str>);

thread_local! {
    static O1: RefCell<HashMap<Box<str>, Entry>> = RefCell::new(HashMap::new());
    /// Header -> (store, version, account) for headers that authenticated.
    static AUTH: RefCell<HashMap<Box<str>, Known>> = RefCell::new(HashMap::new());
    /// (store, version, whether any request fault rule exists).
    static RULES: RefCell<Option<(u64, u64, bool)>> = const { RefCell::new(None) };
}

/// The account `header` authenticated as at `version` of `store`, computed by `resolve` (which
/// reads the world) unless remembered. Only successes are remembered: a refused header is
/// checked again each time, and answers the same 401.
pub fn account<E>(
    store: u64,
    version: u64,
    header: &str,
    resolve: impl FnOnce() -> Result<String, E>,
) -> Result<String, E> {
    let hit = AUTH
        .with_borrow(|m| m.get(header).filter(|(s, v, _)| *s == store && *v == version).map(|(_, _, a)| a.to_string()));
    if let Some(account) = hit {
        return Ok(account);
    }
    let account = resolve()?;
    AUTH.with_borrow_mut(|m| {
        if m.len() >= ACCOUNTS && !m.contains_key(header) {
            m.clear();
        }
        m.insert(header.into(), (store, version, account.as_str().into()));
    });
    Ok(account)
}

/// Whether request fault rules exist at `version` of `store`, from `check` unless remembered.
pub fn request_rules(store: u64, version: u64, check: impl FnOnce() -> bool) -> bool {
    if let Some((s, v, any)) = RULES.with_borrow(|r| *r) {
        if s == store && v == version {
            return any;
        }
    }
    let any = check();
    RULES.set(Some((store, version, any)));
    any
}

/// The cached O1 body for `agent` asking about `device`, if still valid at `version` and
/// `now` in `store`.
pub fn get(store: u64, version: u64, agent: &str, device: &str, now: Millis) -> Option<Bytes> {
    O1.with_borrow(|map| {
        let e = map.get(device)?;
        let valid = e.store == store && e.version == version && &*e.agent == agent && e.from <= now && now < e.until;
        valid.then(|| e.body.clone())
    })
}

/// Remember `body` as the answer at `version`, from `now` until `until` (exclusive).
pub fn put(store: u64, version: u64, agent: &str, device: &str, now: Millis, until: Millis, body: Bytes) {
    O1.with_borrow_mut(|map| {
        if map.len() >= CAPACITY && !map.contains_key(device) {
            map.clear();
        }
        map.insert(device.into(), Entry { store, version, agent: agent.into(), from: now, until, body });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_serves_only_its_store_version_agent_and_time_span() {
        let body = Bytes::from_static(b"{}");
        put(1, 7, "demo", "BJD1", 100, 200, body.clone());
        assert_eq!(get(1, 7, "demo", "BJD1", 100), Some(body.clone()));
        assert_eq!(get(1, 7, "demo", "BJD1", 199), Some(body));
        for miss in [
            get(2, 7, "demo", "BJD1", 150),
            get(1, 8, "demo", "BJD1", 150),
            get(1, 7, "other", "BJD1", 150),
            get(1, 7, "demo", "BJD2", 150),
            get(1, 7, "demo", "BJD1", 99),
            get(1, 7, "demo", "BJD1", 200),
        ] {
            assert_eq!(miss, None);
        }
    }

    #[test]
    fn memos_recompute_when_the_version_moves_and_remember_only_successes() {
        let ok = || Ok::<_, ()>("demo".to_string());
        assert_eq!(account(5, 1, "Basic x", ok), Ok("demo".into()));
        assert_eq!(account(5, 1, "Basic x", || Err(())), Ok("demo".into()), "remembered");
        assert_eq!(account(5, 2, "Basic x", || Err(())), Err(()), "a new version asks again");
        assert_eq!(account(5, 2, "Basic x", || Err(())), Err(()), "a refusal is not remembered");
        assert_eq!(account(6, 1, "Basic x", || Err(())), Err(()), "another store asks again");
        assert!(request_rules(5, 1, || true));
        assert!(request_rules(5, 1, || false), "remembered");
        assert!(!request_rules(5, 2, || false));
    }

    #[test]
    fn the_cache_stays_bounded() {
        for i in 0..CAPACITY * 2 + 3 {
            put(9, 1, "a", &format!("D{i}"), 0, 10, Bytes::new());
        }
        assert!(O1.with_borrow(HashMap::len) <= CAPACITY);
    }
}
