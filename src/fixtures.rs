//! Fixture files: the JSON description of a world, its validation, and the embedded default.
//!
//! A bad file is refused as a whole, with a message naming the record (`agents[0].cabinets[3]
//! (BJD60151): ...`), so the simulator never starts on half a world.

use crate::clock::{parse_datetime, Millis};
use crate::model::shop::currency_symbol;
use crate::model::{
    Agent, Battery, BatteryPlace, Cabinet, Money, PriceStrategy, Settings, Shop, Slot, TimetableRow, World,
};
use serde::Deserialize;
use std::collections::BTreeSet;

/// The embedded default world.
pub const DEFAULT_FIXTURES: &str = include_str!("../fixtures/default.json");

/// A fixture file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureFile {
    /// Virtual start time, `YYYY-MM-DD HH:mm:ss`.
    #[serde(default)]
    pub start: Option<String>,
    /// World rules; defaults apply to what is left out.
    #[serde(default)]
    pub settings: Option<Settings>,
    /// Simulation rates, read by `sim/` (kept as given).
    #[serde(default)]
    pub sim: Option<serde_json::Value>,
    /// The merchants.
    pub agents: Vec<FxAgent>,
}

/// A merchant in a fixture file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FxAgent {
    account: String,
    password: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    price_strategies: Vec<FxPrice>,
    #[serde(default)]
    shops: Vec<FxShop>,
    #[serde(default)]
    cabinets: Vec<FxCabinet>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FxPrice {
    id: u64,
    name: String,
    #[serde(default = "one")]
    r#type: i64,
    #[serde(default)]
    custom_type: i64,
    #[serde(default)]
    priority: i64,
    #[serde(default)]
    is_deposit: bool,
    deposit_amount: f64,
    timeout_amount: f64,
    timeout_day: i64,
    free_minutes: i64,
    #[serde(default)]
    day_use_free_count: i64,
    price: f64,
    price_time: i64,
    #[serde(default)]
    price_unit: i64,
    daily_max_price: f64,
    #[serde(default)]
    auto_refund: i64,
    #[serde(default)]
    details: Vec<FxRow>,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FxRow {
    start_minute: i64,
    end_minute: i64,
    #[serde(default)]
    section_fee: f64,
    total_fee: f64,
    #[serde(default)]
    seqno: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FxShop {
    id: String,
    name: String,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    city: String,
    #[serde(default)]
    province: String,
    #[serde(default)]
    region: String,
    latitude: f64,
    longitude: f64,
    #[serde(default)]
    opening_time: String,
    currency: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    icon: String,
    #[serde(default)]
    logo: String,
    #[serde(default)]
    banner: String,
    #[serde(default)]
    scene_type: i64,
    #[serde(default)]
    store_type: i64,
    #[serde(default)]
    price_id: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FxCabinet {
    id: String,
    #[serde(default)]
    shop_id: Option<String>,
    slots: u16,
    #[serde(default = "yes")]
    online: bool,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    signal: String,
    #[serde(default)]
    iccid: String,
    #[serde(default)]
    remark: String,
    #[serde(default)]
    pos_device_id: String,
    #[serde(default)]
    batteries: Vec<FxBattery>,
    #[serde(default)]
    faults: Vec<FxFault>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FxBattery {
    slot: u16,
    id: String,
    vol: f64,
    #[serde(default)]
    fault: u8,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FxFault {
    slot: u16,
    fault: u8,
}

/// Whether `id` has the platform's device-id shape: 3 upper-case letters + 5 digits.
pub fn is_device_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 8 && b[..3].iter().all(u8::is_ascii_uppercase) && b[3..].iter().all(u8::is_ascii_digit)
}

fn money(v: f64, what: &str) -> Result<Money, String> {
    Money::from_major(v).ok_or_else(|| format!("{what} {v} is not a non-negative amount"))
}

/// A loaded world and the time it starts at.
#[derive(Debug)]
pub struct Loaded {
    /// The world.
    pub world: World,
    /// Virtual start time from the file, if it names one.
    pub start: Option<Millis>,
    /// The file's simulation rates, as given.
    pub sim: Option<serde_json::Value>,
}

/// Parse and validate a fixture file into a world seeded with `seed`, with `now` as the
/// registration time of its cabinets.
pub fn load(text: &str, seed: u64, now: Millis) -> Result<Loaded, String> {
    let file: FixtureFile = serde_json::from_str(text).map_err(|e| format!("fixture file is not valid: {e}"))?;
    let start = match file.start.as_deref() {
        Some(s) => {
            Some(parse_datetime(s).ok_or_else(|| format!("start: '{s}' is not a time like 2026-03-02 09:00:00"))?)
        }
        None => None,
    };
    let now = start.unwrap_or(now);
    let mut w = World::empty(seed);
    if let Some(s) = file.settings {
        w.settings = s;
    }
    if file.agents.is_empty() {
        return Err("agents: the world needs at least one agent".into());
    }
    let mut all_ids = BTreeSet::new();
    for (ai, a) in file.agents.into_iter().enumerate() {
        let at = format!("agents[{ai}] ({})", a.account);
        if a.account.trim().is_empty() || a.password.is_empty() {
            return Err(format!("{at}: account and password must not be empty"));
        }
        if w.agents.contains_key(&a.account) {
            return Err(format!("{at}: duplicate account"));
        }
        w.agents.insert(
            a.account.clone(),
            Agent { account: a.account.clone(), password: a.password, name: a.name, push: None },
        );
        for (pi, p) in a.price_strategies.into_iter().enumerate() {
            let at = format!("{at}.priceStrategies[{pi}] ({})", p.id);
            if w.strategies.contains_key(&p.id) {
                return Err(format!("{at}: duplicate price strategy id"));
            }
            if p.price_time <= 0 || p.timeout_day < 0 || p.free_minutes < 0 {
                return Err(format!("{at}: priceTime must be positive, timeoutDay and freeMinutes not negative"));
            }
            let m = |v, what: &str| money(v, what).map_err(|e| format!("{at}: {e}"));
            let details = p
                .details
                .into_iter()
                .map(|r| {
                    Ok(TimetableRow {
                        start_minute: r.start_minute,
                        end_minute: r.end_minute,
                        section_fee: m(r.section_fee, "sectionFee")?,
                        total_fee: m(r.total_fee, "totalFee")?,
                        seqno: r.seqno,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            w.next_price_id = w.next_price_id.max(p.id + 1);
            w.strategies.insert(
                p.id,
                PriceStrategy {
                    id: p.id,
                    agent: a.account.clone(),
                    name: p.name,
                    shop: None,
                    kind: p.r#type,
                    custom_type: p.custom_type,
                    priority: p.priority,
                    is_deposit: p.is_deposit,
                    deposit: m(p.deposit_amount, "depositAmount")?,
                    timeout_amount: m(p.timeout_amount, "timeoutAmount")?,
                    timeout_day: p.timeout_day,
                    free_minutes: p.free_minutes,
                    day_use_free_count: p.day_use_free_count,
                    price: m(p.price, "price")?,
                    price_time: p.price_time,
                    price_unit: p.price_unit,
                    daily_max: m(p.daily_max_price, "dailyMaxPrice")?,
                    auto_refund: p.auto_refund,
                    details,
                },
            );
        }
        for (si, s) in a.shops.into_iter().enumerate() {
            let at = format!("{at}.shops[{si}] ({})", s.id);
            if s.id.trim().is_empty() || s.name.trim().is_empty() {
                return Err(format!("{at}: id and name must not be empty"));
            }
            if w.shops.contains_key(&s.id) {
                return Err(format!("{at}: duplicate shop id"));
            }
            if !(-90.0..=90.0).contains(&s.latitude) || !(-180.0..=180.0).contains(&s.longitude) {
                return Err(format!("{at}: coordinates {}, {} are out of range", s.latitude, s.longitude));
            }
            if currency_symbol(&s.currency).is_none() {
                return Err(format!("{at}: unknown currency '{}'", s.currency));
            }
            if let Some(pid) = s.price_id {
                if w.strategies.get(&pid).is_none_or(|p| p.agent != a.account) {
                    return Err(format!("{at}: priceId {pid} is not a price strategy of agent {}", a.account));
                }
            }
            let row = w.next_shop_row;
            w.next_shop_row += 1;
            w.shops.insert(
                s.id.clone(),
                Shop {
                    id: s.id,
                    row,
                    agent: a.account.clone(),
                    name: s.name,
                    address: s.address.filter(|a| !a.is_empty()),
                    city: s.city,
                    province: s.province,
                    region: s.region,
                    latitude: s.latitude,
                    longitude: s.longitude,
                    opening_time: s.opening_time,
                    currency: s.currency,
                    mobile: s.mobile,
                    content: s.content,
                    icon: s.icon,
                    logo: s.logo,
                    banner: s.banner,
                    scene_type: s.scene_type,
                    store_type: s.store_type,
                    auditor: 1,
                    location_id: String::new(),
                    price_id: s.price_id,
                    pos_price_id: None,
                    created_at: now,
                },
            );
        }
        for (ci, c) in a.cabinets.into_iter().enumerate() {
            let at = format!("{at}.cabinets[{ci}] ({})", c.id);
            if !is_device_id(&c.id) {
                return Err(format!("{at}: id must be 3 upper-case letters and 5 digits"));
            }
            if w.cabinets.contains_key(&c.id) {
                return Err(format!("{at}: duplicate cabinet id"));
            }
            if c.slots == 0 || c.slots > 96 {
                return Err(format!("{at}: slots must be 1..96"));
            }
            if let Some(s) = c.shop_id.as_deref() {
                if w.shops.get(s).is_none_or(|s| s.agent != a.account) {
                    return Err(format!("{at}: shopId {s} is not a shop of agent {}", a.account));
                }
            }
            let mut slots = vec![Slot::default(); c.slots as usize];
            for f in &c.faults {
                if f.slot == 0 || f.slot > c.slots || f.fault == 0 || f.fault > crate::model::cabinet::SLOT_FAULT_MAX {
                    return Err(format!(
                        "{at}: fault {} on slot {} is outside slots 1..{} / faults 1..8",
                        f.fault, f.slot, c.slots
                    ));
                }
                slots[f.slot as usize - 1].fault = f.fault;
            }
            for b in c.batteries {
                if b.slot == 0 || b.slot > c.slots {
                    return Err(format!("{at}: battery {} is in slot {}, outside 1..{}", b.id, b.slot, c.slots));
                }
                if b.id.trim().is_empty() || !all_ids.insert(b.id.clone()) {
                    return Err(format!("{at}: battery id '{}' is empty or used twice", b.id));
                }
                if !(0.0..=100.0).contains(&b.vol) || b.fault > crate::model::battery::BATTERY_FAULT_MAX {
                    return Err(format!(
                        "{at}: battery {} has vol {} (0..100) or fault {} (0..11) out of range",
                        b.id, b.vol, b.fault
                    ));
                }
                let slot = &mut slots[b.slot as usize - 1];
                if slot.battery.is_some() {
                    return Err(format!("{at}: slot {} holds two batteries", b.slot));
                }
                slot.battery = Some(b.id.clone());
                w.batteries.insert(
                    b.id.clone(),
                    Battery {
                        id: b.id,
                        agent: a.account.clone(),
                        place: BatteryPlace::Slot { cabinet: c.id.clone(), slot: b.slot },
                        level: b.vol,
                        since: now,
                        fault: b.fault,
                    },
                );
            }
            let port = 10_000 + (w.rng.below(50_000) as u16);
            w.cabinets.insert(
                c.id.clone(),
                Cabinet {
                    id: c.id,
                    agent: a.account.clone(),
                    shop: c.shop_id,
                    slots,
                    online: c.online,
                    ip: c.ip,
                    port,
                    signal: if c.signal.is_empty() { "31".into() } else { c.signal },
                    iccid: c.iccid,
                    remark: c.remark,
                    pos_device_id: c.pos_device_id.clone(),
                    pos_online: !c.pos_device_id.is_empty(),
                    registered_at: now,
                    last_seen: now,
                    handshakes: 1,
                    ads: None,
                },
            );
        }
    }
    let problems = w.check();
    if let Some(p) = problems.first() {
        return Err(format!("fixture world is inconsistent: {p}"));
    }
    Ok(Loaded { world: w, start, sim: file.sim })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_world_loads_and_is_rich_enough() {
        let l = load(DEFAULT_FIXTURES, 1, 0).expect("default fixtures load");
        let w = l.world;
        assert!(w.agents.contains_key("demo") && w.agents.contains_key("acme"));
        assert!(w.shops.len() >= 8);
        assert!(w.cabinets.len() >= 24);
        assert!(w.strategies.len() >= 3);
        for n in [8, 12, 24, 48] {
            assert!(w.cabinets.values().any(|c| c.slots.len() == n), "a {n}-slot cabinet");
        }
        assert_eq!(w.cabinets.values().filter(|c| !c.online).count(), 1);
        assert!(w.shops.values().all(|s| s.price_id.is_some()));
        assert!(l.start.is_some());
    }

    #[test]
    fn bad_records_are_named() {
        let bad = DEFAULT_FIXTURES.replacen("\"slots\": 8", "\"slots\": 0", 1);
        let err = load(&bad, 1, 0).unwrap_err();
        assert!(err.contains("cabinets[") && err.contains("slots must be"), "{err}");
        let err = load(r#"{"agents":[{"account":"a","password":"b","shops":[{"id":"s","name":"n","latitude":1,"longitude":2,"currency":"XXX"}]}]}"#, 1, 0).unwrap_err();
        assert!(err.contains("shops[0] (s)") && err.contains("currency"), "{err}");
        assert!(load("{", 1, 0).unwrap_err().contains("not valid"));
    }
}
