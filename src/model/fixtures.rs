//! Fixture files: the JSON description of a world, its validation, and the embedded default.
//!
//! A bad file is refused as a whole, with a message naming the record (`agents[0].cabinets[3]
//! (BJD60151): ...`), so the simulator never starts on half a world.

use crate::clock::{parse_datetime, Millis};
use crate::model::fault_types::{BatteryFault, SlotFault};
use crate::model::shard::agent_name;
use crate::model::shop::currency_symbol;
use crate::model::{
    Agent, Battery, BatteryId, BatteryPlace, Cabinet, CabinetId, Money, PriceId, PriceStrategy, Settings, Shard, Shop,
    Slot, TimetableRow, World,
};
use compact_str::CompactString;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeSet;

/// The embedded default world.
pub const DEFAULT_FIXTURES: &str = include_str!("../../fixtures/default.json");

/// A fixture file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixtureFile {
    /// Virtual start time, `YYYY-MM-DD HH:mm:ss`.
    #[serde(default)]
    pub start: Option<String>,
    /// World rules; defaults apply to what is left out.
    #[serde(default)]
    pub settings: Option<Settings>,
    /// Simulation rates, read by `model/sim/` (kept as given).
    #[serde(default)]
    #[schemars(with = "Option<crate::model::SimSettings>")]
    pub sim: Option<serde_json::Value>,
    /// Answer-time profiles by operation id, read by `latency/` (kept as given).
    #[serde(default)]
    pub latency: Option<serde_json::Value>,
    /// The merchants.
    pub agents: Vec<FxAgent>,
}

/// A merchant in a fixture file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FxAgent {
    /// Login name (Basic auth user, `agentAccount` of pushes); unique.
    account: String,
    /// Plain password (Basic auth; A1 login takes its SHA-256 hex).
    password: String,
    /// Company name.
    #[serde(default)]
    name: String,
    /// The merchant's price strategies.
    #[serde(default)]
    price_strategies: Vec<FxPrice>,
    /// The merchant's shops.
    #[serde(default)]
    shops: Vec<FxShop>,
    /// The merchant's cabinets.
    #[serde(default)]
    cabinets: Vec<FxCabinet>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FxPrice {
    /// Strategy id, unique across the file.
    id: u64,
    /// Display name.
    name: String,
    /// 1 per period, 2 timetable (`details`), 3 other (default 1).
    #[serde(default = "one")]
    r#type: i64,
    /// 0 general, 1 POS.
    #[serde(default)]
    custom_type: i64,
    /// Display order.
    #[serde(default)]
    priority: i64,
    /// Whether a deposit is taken.
    #[serde(default)]
    is_deposit: bool,
    /// Deposit, major units.
    deposit_amount: f64,
    /// Buy-out amount charged when the battery is not back after `timeoutDay` days; also the cap of any order.
    timeout_amount: f64,
    /// Days until an unreturned battery is bought out (0: never).
    timeout_day: i64,
    /// Free minutes at the start of a rental.
    free_minutes: i64,
    /// Free rentals a day (shown, not billed).
    #[serde(default)]
    day_use_free_count: i64,
    /// Price of one period, major units.
    price: f64,
    /// Length of one period, in `priceUnit` units.
    price_time: i64,
    /// 0 minutes, 1 hours, 2 days.
    #[serde(default)]
    price_unit: i64,
    /// Cap per 24 hours (0: none).
    daily_max_price: f64,
    /// Shown as given.
    #[serde(default)]
    auto_refund: i64,
    /// Timetable rows (type 2).
    #[serde(default)]
    details: Vec<FxRow>,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FxRow {
    /// Row start, minutes into the rental.
    start_minute: i64,
    /// Row end, minutes into the rental.
    end_minute: i64,
    /// Fee of this section (shown as `setcionFee`).
    #[serde(default)]
    section_fee: f64,
    /// Amount of a rental whose day ends in this row.
    total_fee: f64,
    /// Row order.
    #[serde(default)]
    seqno: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FxShop {
    /// Shop id (1..64 of `A-Z a-z 0-9 _ -`), unique across the file.
    id: String,
    /// Shop name.
    name: String,
    /// Street address.
    #[serde(default)]
    address: Option<String>,
    /// City.
    #[serde(default)]
    city: String,
    /// Province or state.
    #[serde(default)]
    province: String,
    /// District.
    #[serde(default)]
    region: String,
    /// WGS-84 latitude.
    latitude: f64,
    /// WGS-84 longitude.
    longitude: f64,
    /// Opening hours `HH:mm-HH:mm`.
    #[serde(default)]
    opening_time: String,
    /// ISO currency code (EUR, GBP, ...).
    currency: String,
    /// Phone number.
    #[serde(default)]
    mobile: String,
    /// Description.
    #[serde(default)]
    content: String,
    /// Icon URL.
    #[serde(default)]
    icon: String,
    /// Logo URL.
    #[serde(default)]
    logo: String,
    /// Banner URL.
    #[serde(default)]
    banner: String,
    /// Scene type 0..36.
    #[serde(default)]
    scene_type: i64,
    /// Store category 0..29.
    #[serde(default)]
    store_type: i64,
    /// General price strategy bound to the shop (one of this merchant's).
    #[serde(default)]
    price_id: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FxCabinet {
    /// Device id: 3 upper-case letters and 5 digits (`BJD60151`), unique.
    id: String,
    /// The shop it stands in (one of this merchant's); absent: no shop.
    #[serde(default)]
    shop_id: Option<String>,
    /// Number of slots.
    slots: u16,
    /// Connected at start (default true).
    #[serde(default = "yes")]
    online: bool,
    /// Public IP it reports.
    #[serde(default)]
    ip: String,
    /// Signal strength it reports.
    #[serde(default)]
    signal: String,
    /// SIM card number (`icCard`).
    #[serde(default)]
    iccid: String,
    /// Free text.
    #[serde(default)]
    remark: String,
    /// Serial of its POS terminal; empty: none.
    #[serde(default)]
    pos_device_id: String,
    /// Batteries docked at start.
    #[serde(default)]
    batteries: Vec<FxBattery>,
    /// Slot faults at start.
    #[serde(default)]
    faults: Vec<FxFault>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FxBattery {
    /// Slot it is docked in (1..slots).
    slot: u16,
    /// Battery id, unique (10 upper-case hex digits by convention).
    id: String,
    /// Charge at the start time, percent 0..100.
    vol: f64,
    /// Battery fault type 0..11 (0: healthy).
    #[serde(default)]
    fault: u8,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FxFault {
    /// Slot (1..slots).
    slot: u16,
    /// Slot fault type 1..8.
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

/// The JSON Schema of fixture files (`bajie-sim --fixture-schema`), derived from the types
/// above, so it cannot drift from what [`load`] accepts.
pub fn schema() -> serde_json::Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(FixtureFile)).expect("a derived JSON Schema serialises");
    if let Some(o) = schema.as_object_mut() {
        o.insert("title".into(), "bajie-sim fixture file".into());
        o.insert(
            "description".into(),
            "A world for bajie-sim (--fixtures PATH): merchants with their price strategies, shops and cabinets; \
             optional start time, world settings and simulation rates."
                .into(),
        );
    }
    schema
}

/// A loaded world and the time it starts at.
#[derive(Debug)]
pub struct Loaded {
    /// The world.
    pub world: World,
    /// Virtual start time pinned by the file or from outside it, if any.
    pub start: Option<Millis>,
    /// The file's simulation rates, as given.
    pub sim: Option<serde_json::Value>,
}

/// Parse and validate a fixture file into a world seeded with `seed`, with the file's `start`
/// (else `now`) as the registration time of its cabinets.
pub fn load(text: &str, seed: u64, now: Millis) -> Result<Loaded, String> {
    load_with(text, seed, now, None)
}

/// [`load`], with a start pinned from outside the file (`--start`) that wins over the file's:
/// the world is registered at the moment its clock starts, whichever names it.
pub fn load_with(text: &str, seed: u64, now: Millis, pinned: Option<Millis>) -> Result<Loaded, String> {
    let file: FixtureFile = serde_json::from_str(text).map_err(|e| format!("fixture file is not valid: {e}"))?;
    let start = match (pinned, file.start.as_deref()) {
        (Some(t), _) => Some(t),
        (None, Some(s)) => {
            Some(parse_datetime(s).ok_or_else(|| format!("start: '{s}' is not a time like 2026-03-02 09:00:00"))?)
        }
        (None, None) => None,
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
        if w.agents.contains_key(a.account.as_str()) {
            return Err(format!("{at}: duplicate account"));
        }
        w.agents.insert(
            a.account.clone().into(),
            Agent { account: a.account.clone().into(), password: a.password, name: a.name, push: None },
        );
        for (pi, p) in a.price_strategies.into_iter().enumerate() {
            let at = format!("{at}.priceStrategies[{pi}] ({})", p.id);
            if w.strategies.contains_key(&PriceId(p.id)) {
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
                PriceId(p.id),
                PriceStrategy {
                    id: PriceId(p.id),
                    agent: a.account.clone().into(),
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
            if w.shops.contains_key(s.id.as_str()) {
                return Err(format!("{at}: duplicate shop id"));
            }
            if !(-90.0..=90.0).contains(&s.latitude) || !(-180.0..=180.0).contains(&s.longitude) {
                return Err(format!("{at}: coordinates {}, {} are out of range", s.latitude, s.longitude));
            }
            if currency_symbol(&s.currency).is_none() {
                return Err(format!("{at}: unknown currency '{}'", s.currency));
            }
            if let Some(pid) = s.price_id {
                if w.strategies.get(&PriceId(pid)).is_none_or(|p| p.agent != a.account) {
                    return Err(format!("{at}: priceId {pid} is not a price strategy of agent {}", a.account));
                }
            }
            let row = w.next_shop_row;
            w.next_shop_row += 1;
            w.shops.insert(
                s.id.clone().into(),
                Shop {
                    id: s.id.into(),
                    row,
                    agent: a.account.clone().into(),
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
                    price_id: s.price_id.map(PriceId),
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
            if w.cabinets.contains_key(c.id.as_str()) {
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
                let fault = SlotFault::from_code(f.fault).filter(|t| !t.is_none());
                let (Some(fault), true) = (fault, (1..=c.slots).contains(&f.slot)) else {
                    return Err(format!(
                        "{at}: fault {} on slot {} is outside slots 1..{} / faults 1..{}",
                        f.fault,
                        f.slot,
                        c.slots,
                        SlotFault::MAX
                    ));
                };
                slots[f.slot as usize - 1].fault = fault;
            }
            for b in c.batteries {
                if b.slot == 0 || b.slot > c.slots {
                    return Err(format!("{at}: battery {} is in slot {}, outside 1..{}", b.id, b.slot, c.slots));
                }
                if b.id.trim().is_empty() || !all_ids.insert(b.id.clone()) {
                    return Err(format!("{at}: battery id '{}' is empty or used twice", b.id));
                }
                let fault = BatteryFault::from_code(b.fault);
                let (Some(fault), true) = (fault, (0.0..=100.0).contains(&b.vol)) else {
                    return Err(format!(
                        "{at}: battery {} has vol {} (0..100) or fault {} (0..{}) out of range",
                        b.id,
                        b.vol,
                        b.fault,
                        BatteryFault::MAX
                    ));
                };
                let slot = &mut slots[b.slot as usize - 1];
                if slot.battery.is_some() {
                    return Err(format!("{at}: slot {} holds two batteries", b.slot));
                }
                let bid = BatteryId::from(b.id);
                slot.battery = Some(bid.clone());
                w.batteries.insert(Battery {
                    id: bid,
                    agent: a.account.as_str().into(),
                    place: BatteryPlace::Slot { cabinet: c.id.as_str().into(), slot: b.slot },
                    level: b.vol,
                    since: now,
                    fault,
                    charge_paused: false,
                });
            }
            let port = 10_000 + (w.rng.below(50_000) as u16);
            w.cabinets.insert(
                c.id.as_str().into(),
                Cabinet {
                    id: c.id.into(),
                    agent: a.account.as_str().into(),
                    shop: c.shop_id.map(Into::into),
                    slots,
                    online: c.online,
                    ip: c.ip.into(),
                    port,
                    signal: if c.signal.is_empty() { "31".into() } else { c.signal.into() },
                    iccid: c.iccid.into(),
                    remark: c.remark.into(),
                    pos_device_id: c.pos_device_id.as_str().into(),
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

/// Paris, inside the Périphérique: the area a synthetic fleet is spread over.
const FLEET_AREA: (f64, f64, f64, f64) = (48.816, 48.900, 2.255, 2.415);

/// What a synthetic fleet is made of (`--fleet`, `--agents`, `--shard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetSpec {
    /// Cabinets in the whole fleet (all shards together).
    pub cabinets: usize,
    /// Generated accounts `agent0001`.. (password = name); `None`: `demo` and `acme`.
    pub agents: Option<usize>,
    /// Generate only this shard's accounts' records; `None`: everything.
    pub shard: Option<Shard>,
}

/// Generate a synthetic fleet of `n` cabinets for load tests, reproducible from `seed`: the
/// two merchants of the default world. See [`generate_fleet_for`].
pub fn generate_fleet(n: usize, seed: u64, now: Millis) -> Loaded {
    generate_fleet_for(FleetSpec { cabinets: n, agents: None, shard: None }, seed, now)
}

/// A 40-bit bijection keyed by `seed`, as ten upper-case hex digits: battery number `n` of a
/// fleet gets an id no other battery of the fleet has, on whichever shard it lives, without
/// a table of the ids drawn so far.
fn battery_id(seed: u64, n: u64) -> BatteryId {
    const MASK: u64 = (1 << 40) - 1;
    // Each step is invertible on 40 bits: xor with a key, multiplication by an odd number,
    // xor with a right shift of itself.
    let mut x = (n ^ seed) & MASK;
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) & MASK;
    x ^= x >> 20;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9) & MASK;
    x ^= x >> 17;
    // Written by hand: 1.5 million ids through `format!` were a fifth of a 100,000-cabinet
    // start-up.
    let mut hex = [0u8; 10];
    for (i, d) in hex.iter_mut().enumerate() {
        *d = b"0123456789ABCDEF"[((x >> (36 - 4 * i)) & 0xF) as usize];
    }
    BatteryId::from(std::str::from_utf8(&hex).expect("hex digits are ASCII"))
}

/// Generate a synthetic fleet, reproducible from `seed`.
///
/// The merchants (`demo`/`demo` and `acme`/`acme`, or `agent0001`.. with the name as
/// password) share the fleet shop by shop in turn; shops hold 1-4 cabinets of 8, 12, 24 or 48
/// slots, filled 40-90 % with batteries at varied charge; every shop is bound to one of three
/// strategies of its merchant. Ids follow from the position in the whole fleet (shop number,
/// cabinet number, battery number), and every random draw is made for every shop, so a shard
/// generates exactly its accounts' part of the whole fleet without building the rest.
pub fn generate_fleet_for(spec: FleetSpec, seed: u64, now: Millis) -> Loaded {
    let n = spec.cabinets;
    let mut w = World::empty(seed);
    let mut rng = crate::model::SimRng::new(seed ^ 0xF1EE7);
    let accounts: Vec<(String, String)> = match spec.agents {
        None => vec![("demo".into(), "ChargeNow Paris SAS".into()), ("acme".into(), "Acme Power Ltd".into())],
        Some(m) => (1..=m.max(1)).map(|i| (agent_name(i), format!("Fleet Agent {i}"))).collect(),
    };
    let keep: Vec<bool> = accounts.iter().map(|(a, _)| spec.shard.is_none_or(|s| s.owns(a))).collect();
    for (account, name) in &accounts {
        w.agents.insert(
            account.clone().into(),
            Agent { account: account.clone().into(), password: account.clone(), name: name.clone(), push: None },
        );
    }
    let plans = [
        ("Standard", 150, 30, 5, 600, 3000, 3),
        ("Premium", 200, 60, 0, 800, 4000, 5),
        ("Night", 100, 60, 10, 500, 2500, 3),
    ];
    for (i, (agent, _)) in accounts.iter().enumerate() {
        for (j, (name, price, period, free, cap, deposit, days)) in plans.iter().enumerate() {
            let id = (i as u64 + 1) * 100 + j as u64 + 1;
            w.next_price_id = w.next_price_id.max(id + 1);
            if !keep[i] {
                continue;
            }
            w.strategies.insert(
                PriceId(id),
                PriceStrategy {
                    id: PriceId(id),
                    agent: agent.to_string().into(),
                    name: format!("Fleet {name}"),
                    shop: None,
                    kind: 1,
                    custom_type: 0,
                    priority: j as i64,
                    is_deposit: true,
                    deposit: Money(*deposit),
                    timeout_amount: Money(*deposit),
                    timeout_day: *days,
                    free_minutes: *free,
                    day_use_free_count: 1,
                    price: Money(*price),
                    price_time: *period,
                    price_unit: 0,
                    daily_max: Money(*cap),
                    auto_refund: 0,
                    details: Vec::new(),
                },
            );
        }
    }
    const SIZES: [u16; 4] = [8, 12, 24, 48];
    const STREETS: [&str; 8] = [
        "Rue de Rivoli",
        "Boulevard Saint-Germain",
        "Avenue de l'Opéra",
        "Rue de la Roquette",
        "Boulevard Voltaire",
        "Rue du Faubourg Saint-Antoine",
        "Avenue des Ternes",
        "Rue de Vaugirard",
    ];
    let (lat0, lat1, lng0, lng1) = FLEET_AREA;
    let mut made = 0usize;
    // Shops and cabinets are collected first and their maps built in one go at the end: a
    // B-tree built from a whole sequence packs its nodes full, where inserting one by one
    // leaves many about half full.
    let (mut shops, mut cabinets) = (Vec::new(), Vec::new());
    if spec.shard.is_none() {
        // About 15 batteries a cabinet (23 slots on average, 40-90 % full): growing the table
        // step by step re-hashed it a dozen times.
        w.batteries.reserve(n.saturating_mul(15));
    }
    let mut shop_no = 0u64;
    let mut battery_no = 0u64;
    while made < n {
        shop_no += 1;
        let ai = ((shop_no - 1) % accounts.len() as u64) as usize;
        let (agent, kept) = (accounts[ai].0.as_str(), keep[ai]);
        let shop_id = format!("{:010x}", shop_no.wrapping_mul(0x9E37_79B9) & 0xFF_FFFF_FFFF);
        // Every draw is made whether or not the shop is kept, in the same order.
        let price_id = (ai as u64 + 1) * 100 + 1 + rng.below(3);
        let (number, street, district) = (1 + rng.below(180), rng.below(8) as usize, 1 + rng.below(20));
        let (lat, lng) = (lat0 + (lat1 - lat0) * rng.unit(), lng0 + (lng1 - lng0) * rng.unit());
        let (scene_type, store_type) = (rng.below(12) as i64, rng.below(30) as i64);
        if kept {
            shops.push((
                shop_id.clone(),
                Shop {
                    id: shop_id.clone().into(),
                    row: shop_no,
                    agent: agent.into(),
                    name: format!("Fleet Shop {shop_no}"),
                    address: Some(format!("{number} {}, 750{district:02} Paris", STREETS[street])),
                    city: "Paris".into(),
                    province: "Île-de-France".into(),
                    region: String::new(),
                    latitude: lat,
                    longitude: lng,
                    opening_time: "08:00-22:00".into(),
                    currency: "EUR".into(),
                    mobile: String::new(),
                    content: String::new(),
                    icon: String::new(),
                    logo: String::new(),
                    banner: String::new(),
                    scene_type,
                    store_type,
                    auditor: 1,
                    location_id: String::new(),
                    price_id: Some(PriceId(price_id)),
                    pos_price_id: None,
                    created_at: now,
                },
            ));
        }
        w.next_shop_row = shop_no + 1;
        for _ in 0..(1 + rng.below(4)).min((n - made) as u64) {
            let size = SIZES[rng.below(4) as usize];
            let id = if kept {
                CabinetId::from_fmt(format_args!(
                    "{}{}{}{:05}",
                    ["BJD", "DTA", "BJH", "SAB"][made % 4].chars().next().unwrap_or('B'),
                    (b'A' + (made / 100_000 % 26) as u8) as char,
                    (b'A' + (made / 2_600_000 % 26) as u8) as char,
                    made % 100_000
                ))
            } else {
                CabinetId::default()
            };
            let mut slots = vec![Slot::default(); if kept { size as usize } else { 0 }];
            let fill = 0.4 + 0.5 * rng.unit();
            for k in 0..size as usize {
                if rng.unit() < fill {
                    battery_no += 1;
                    let level = if rng.chance(0.8) { 60.0 + 40.0 * rng.unit() } else { 100.0 * rng.unit() };
                    if !kept {
                        continue;
                    }
                    let bid = battery_id(seed, battery_no);
                    if let Some(slot) = slots.get_mut(k) {
                        slot.battery = Some(bid.clone());
                    }
                    w.batteries.insert(Battery {
                        id: bid,
                        agent: agent.into(),
                        place: BatteryPlace::Slot { cabinet: id.clone(), slot: k as u16 + 1 },
                        level: level.floor(),
                        since: now,
                        fault: BatteryFault::None,
                        charge_paused: false,
                    });
                }
            }
            let online = !rng.chance(0.02);
            let ip = (64 + rng.below(64), rng.below(256), 1 + rng.below(254));
            let port = 10_000 + rng.below(50_000) as u16;
            let signal = 18 + rng.below(14);
            let iccid = rng.digits(16);
            if kept {
                cabinets.push((
                    id.clone(),
                    Cabinet {
                        id,
                        agent: agent.into(),
                        shop: Some(shop_id.as_str().into()),
                        slots,
                        online,
                        ip: compact_str::format_compact!("82.{}.{}.{}", ip.0, ip.1, ip.2),
                        port,
                        signal: compact_str::format_compact!("{signal}"),
                        iccid: compact_str::format_compact!("8933{iccid}"),
                        remark: CompactString::default(),
                        pos_device_id: CompactString::default(),
                        pos_online: false,
                        registered_at: now,
                        last_seen: now,
                        handshakes: 1,
                        ads: None,
                    },
                ));
            }
            made += 1;
        }
    }
    w.shops = shops.into_iter().map(|(k, v)| (k.into(), v)).collect();
    w.cabinets = cabinets.into_iter().collect();
    if let Some(shard) = spec.shard {
        w.keep_shard(shard, seed);
    }
    Loaded { world: w, start: None, sim: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

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
        // The embedded world does not pin its clock: it starts at the real time.
        assert!(l.start.is_none());
    }

    #[test]
    fn a_fleet_is_reproducible_and_consistent() {
        let a = generate_fleet(500, 7, 0).world;
        let b = generate_fleet(500, 7, 0).world;
        assert_eq!(a, b);
        assert_eq!(a.cabinets.len(), 500);
        assert!(a.cabinets.keys().all(|id| is_device_id(id)), "ids in the platform's format");
        assert!(a.check().is_empty(), "{:?}", a.check());
        for n in [8, 12, 24, 48] {
            assert!(a.cabinets.values().any(|c| c.slots.len() == n));
        }
    }

    #[test]
    fn the_shards_of_a_fleet_are_disjoint_and_together_the_whole_fleet() {
        let spec = FleetSpec { cabinets: 600, agents: Some(7), shard: None };
        let whole = generate_fleet_for(spec, 11, 5).world;
        assert_eq!(whole.agents.len(), 7);
        assert!(whole.agents.values().all(|a| a.account == a.password && a.account.starts_with("agent")));
        assert!(whole.check().is_empty(), "{:?}", whole.check());
        let shards: Vec<World> = (0..3)
            .map(|index| generate_fleet_for(FleetSpec { shard: Some(Shard { index, count: 3 }), ..spec }, 11, 5).world)
            .collect();
        let (mut agents, mut shops, mut cabinets, mut batteries, mut strategies) =
            (BTreeMap::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        for (k, w) in shards.iter().enumerate() {
            assert!(w.check().is_empty(), "shard {k}: {:?}", w.check());
            assert!(!w.cabinets.is_empty(), "shard {k} owns some of the fleet");
            assert!(w.agents.keys().all(|a| crate::model::shard::shard_of(a, 3) == k as u32));
            // Each id at most once across all shards: insert must find no earlier record.
            for (id, a) in &w.agents {
                assert!(agents.insert(id.clone(), a.clone()).is_none(), "agent {id} twice");
            }
            for (id, x) in &w.shops {
                assert!(shops.insert(id.clone(), x.clone()).is_none(), "shop {id} twice");
            }
            for (id, x) in &w.cabinets {
                assert!(cabinets.insert(id.clone(), x.clone()).is_none(), "cabinet {id} twice");
            }
            for (id, x) in &w.batteries {
                assert!(batteries.insert(id.clone(), x.clone()).is_none(), "battery {id} twice");
            }
            for (id, x) in &w.strategies {
                assert!(strategies.insert(*id, x.clone()).is_none(), "strategy {id} twice");
            }
            assert_eq!((w.next_shop_row, w.next_price_id), (whole.next_shop_row, whole.next_price_id));
        }
        assert_eq!(agents, whole.agents);
        assert_eq!(shops, whole.shops.clone().into_iter().collect::<BTreeMap<_, _>>());
        assert_eq!(cabinets, whole.cabinets.clone().into_iter().collect::<BTreeMap<_, _>>());
        assert_eq!(batteries, whole.batteries.clone().into_iter().collect::<BTreeMap<_, _>>());
        assert_eq!(strategies, whole.strategies);
        // A shard keeps its random source apart, so ids it draws at run time differ too.
        assert_ne!(shards[0].rng, shards[1].rng);
    }

    #[test]
    fn a_fixture_world_splits_by_account_too() {
        let whole = load(DEFAULT_FIXTURES, 3, 0).expect("loads").world;
        let mut cabinets = 0;
        for index in 0..2 {
            let mut w = whole.clone();
            w.keep_shard(Shard { index, count: 2 }, 3);
            assert_eq!(w.agents.len(), 1, "demo and acme fall on different shards of two");
            assert!(w.check().is_empty(), "{:?}", w.check());
            cabinets += w.cabinets.len();
        }
        assert_eq!(cabinets, whole.cabinets.len());
    }

    #[test]
    fn battery_ids_of_a_fleet_are_distinct() {
        let ids: BTreeSet<BatteryId> = (1..=50_000).map(|n| battery_id(9, n)).collect();
        assert_eq!(ids.len(), 50_000);
        assert!(ids.iter().all(|id| id.len() == 10 && id.chars().all(|c| c.is_ascii_hexdigit())));
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
