//! Concurrency: 32 clients x 50 operations, all at once, on both accounts: renting (create,
//! then ejectByRent or not), returning batteries into random cabinets, closing orders,
//! toggling cabinets online and offline, reconfiguring event pushes, reading cabinets, with
//! a sink receiving every callback and push. Afterwards the world must be consistent, every
//! order in exactly the state its client saw it reach, every battery in exactly one place,
//! and the push journal must account for every state change: one RENT_CALLBACK_1 per
//! successful eject, one RENT_CALLBACK_0 per failed one, one RENT_CALLBACK_2 per return, one
//! BATTERY_BORROW_OUT per eject and one BATTERY_IN per return; pushes about one cabinet
//! arrive in the order the journal gave them.

use crate::helpers::*;
use bajie_sim::model::BatteryPlace;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 32;
const OPERATIONS: usize = 50;

/// What a client knows about one of its orders, from the answers it got.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Pending,
    Leased(String),
    Failed,
    Revoked,
    Returned,
    /// Closed while the battery was out: the battery stays with the customer (loose).
    Closed,
}

impl Seen {
    fn borrow_status(&self) -> i64 {
        match self {
            Seen::Pending => 0,
            Seen::Leased(_) => 1,
            Seen::Failed | Seen::Revoked => 2,
            Seen::Returned | Seen::Closed => 3,
        }
    }
}

/// One client's tallies.
#[derive(Debug, Default)]
struct Tally {
    agent: &'static str,
    orders: BTreeMap<String, (Seen, bool)>, // state, ever leased
    loose: Vec<String>,
    ejects: usize,
    returns: usize,
    requests: usize,
}

struct Gen(u64);
impl Gen {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

async fn send(req: reqwest::RequestBuilder) -> Value {
    let r = req.send().await.expect("an answer");
    let (status, v) = read(r).await;
    assert_eq!(status, 200, "{v}");
    v
}

use crate::helpers::EVENT_NAMES as EVENTS;

fn push_config(sink: &str, g: &mut Gen) -> Value {
    let mut subs = Vec::new();
    for e in EVENTS {
        let always = matches!(e, "BATTERY_IN" | "BATTERY_BORROW_OUT" | "CABINET_ONLINE" | "CABINET_OFFLINE");
        if always || g.below(2) == 0 {
            let url = if g.below(2) == 0 { format!("{sink}/per-event") } else { String::new() };
            subs.push(json!({"event": e, "pushUrl": url, "enable": true}));
        }
    }
    json!({"pushUrl": format!("{sink}/{}", ["a", "b"][g.below(2)]), "eventSubscriptions": subs})
}

async fn client_run(
    app: Arc<TestApp>,
    n: usize,
    agent: &'static str,
    cabinets: Vec<String>,
    callback: String,
    events: String,
) -> Tally {
    let mut g = Gen(0x9E37_79B9_7F4A_7C15 ^ ((n as u64 + 1) * 0x1000_0001));
    let who = if agent == "demo" { DEMO } else { ACME };
    let c = &app.client;
    let api = |p: &str| app.api(p);
    let mut t = Tally { agent, ..Tally::default() };
    for _ in 0..OPERATIONS {
        let cab = cabinets[g.below(cabinets.len())].clone();
        match g.below(20) {
            // Rent: create, then usually eject at once (slot 0: the cabinet picks).
            0..=6 => {
                let v = send(
                    c.post(api(&format!("/rent/order/create?deviceId={cab}&callbackURL={callback}/{n}")))
                        .basic_auth(who.0, Some(who.1)),
                )
                .await;
                t.requests += 1;
                let Some(trade) = v["data"]["tradeNo"].as_str().map(str::to_string) else {
                    assert_eq!(v["code"], 2004, "{v}");
                    continue;
                };
                t.orders.insert(trade.clone(), (Seen::Pending, false));
                if g.below(5) == 0 {
                    continue;
                }
                let slot = if g.below(4) == 0 { 1 + g.below(8) } else { 0 };
                let v = send(
                    c.post(api(&format!("/cabinet/ejectByRent?cabinetid={cab}&rentOrderId={trade}&slotNum={slot}")))
                        .basic_auth(who.0, Some(who.1)),
                )
                .await;
                t.requests += 1;
                match v["code"].as_i64().unwrap() {
                    0 => {
                        t.ejects += 1;
                        let d = send(
                            c.get(api(&format!("/rent/order/detail?tradeNo={trade}"))).basic_auth(who.0, Some(who.1)),
                        )
                        .await;
                        t.requests += 1;
                        let state = match d["data"]["borrowStatus"].as_i64().unwrap() {
                            1 => Seen::Leased(d["data"]["batteryId"].as_str().unwrap().to_string()),
                            2 => Seen::Failed,
                            other => panic!("after an eject the order is leased or failed, not {other}: {d}"),
                        };
                        let leased = matches!(state, Seen::Leased(_));
                        t.orders.insert(trade, (state, leased));
                    }
                    // Offline now, or a named slot that is empty, faulty or missing: the
                    // order stays pending.
                    2004 | 2008 => {}
                    _ => panic!("ejectByRent: {v}"),
                }
            }
            // Return a battery the client holds (leased or loose) into a random cabinet.
            7..=11 => {
                let leased: Vec<(String, String)> = t
                    .orders
                    .iter()
                    .filter_map(|(k, (s, _))| if let Seen::Leased(b) = s { Some((k.clone(), b.clone())) } else { None })
                    .collect();
                let (order, battery) = if !leased.is_empty() && (t.loose.is_empty() || g.below(4) != 0) {
                    let (o, b) = leased[g.below(leased.len())].clone();
                    (Some(o), b)
                } else if !t.loose.is_empty() {
                    (None, t.loose[g.below(t.loose.len())].clone())
                } else {
                    continue;
                };
                let v = send(c.post(app.sim(&format!("/cabinets/{cab}/return?batteryId={battery}")))).await;
                t.requests += 1;
                match v["code"].as_i64().unwrap() {
                    0 => {
                        t.returns += 1;
                        assert_eq!(v["data"]["orderId"].as_str(), order.as_deref(), "{v}");
                        match order {
                            Some(o) => t.orders.get_mut(&o).unwrap().0 = Seen::Returned,
                            None => t.loose.retain(|b| *b != battery),
                        }
                    }
                    2004 | 2009 | 2008 => {}
                    _ => panic!("return: {v}"),
                }
            }
            // Close an order (pending: revoked; leased: closed, battery stays out, loose).
            12..=13 => {
                let open: Vec<String> = t.orders.keys().cloned().collect();
                if open.is_empty() {
                    continue;
                }
                let trade = open[g.below(open.len())].clone();
                let v = send(c.post(api(&format!("/rent/order/close?tradeNo={trade}"))).basic_auth(who.0, Some(who.1)))
                    .await;
                t.requests += 1;
                assert_eq!(v["code"], 0, "{v}");
                let entry = t.orders.get_mut(&trade).unwrap();
                match entry.0.clone() {
                    Seen::Pending => entry.0 = Seen::Revoked,
                    Seen::Leased(b) => {
                        entry.0 = Seen::Closed;
                        t.loose.push(b);
                    }
                    _ => {}
                }
            }
            // Connectivity.
            14..=15 => {
                let what = ["online", "offline"][g.below(2)];
                let v = send(c.post(app.sim(&format!("/cabinets/{cab}/{what}")))).await;
                t.requests += 1;
                assert_eq!(v["code"], 0, "{v}");
            }
            // Reconfigure pushes (BATTERY_IN and BATTERY_BORROW_OUT always subscribed).
            16 => {
                let body = push_config(&events, &mut g);
                let v = send(c.post(api("/cabinet/eventPush/config")).basic_auth(who.0, Some(who.1)).json(&body)).await;
                t.requests += 1;
                assert_eq!(v["code"], 0, "{v}");
            }
            // Read a cabinet: counts always consistent.
            _ => {
                let v = send(c.get(api(&format!("/rent/cabinet/query?deviceId={cab}"))).basic_auth(who.0, Some(who.1)))
                    .await;
                t.requests += 1;
                if v["code"] == 0 {
                    let cab = &v["data"]["cabinet"];
                    let slots = cab["slots"].as_u64().unwrap();
                    let batteries = v["data"]["batteries"].as_array().unwrap();
                    assert_eq!(cab["busySlots"].as_u64().unwrap(), batteries.len() as u64, "{v}");
                    assert_eq!(cab["emptySlots"].as_u64().unwrap() + batteries.len() as u64, slots, "{v}");
                    let mut nums: Vec<u64> = batteries.iter().map(|b| b["slotNum"].as_u64().unwrap()).collect();
                    nums.dedup();
                    assert_eq!(nums.len(), batteries.len(), "unique slots: {v}");
                } else {
                    assert_eq!(v["code"], 2004, "{v}");
                }
            }
        }
    }
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_clients_at_once_leave_a_consistent_world_and_a_complete_journal() {
    let app = Arc::new(spawn_app().await);
    let (callbacks, events) = (Sink::start().await, Sink::start().await);
    let initial = app.running.state.store.snapshot();
    let cabinets_of = |agent: &str| -> Vec<String> {
        initial.cabinets().values().filter(|c| c.agent == agent).map(|c| c.id.to_string()).collect()
    };
    let (demo_cabs, acme_cabs) = (cabinets_of("demo"), cabinets_of("acme"));
    let mut g = Gen(7);
    for who in [DEMO, ACME] {
        let body = push_config(&events.url, &mut g);
        let (_, v) = app.post_json_as(who, "/cabinet/eventPush/config", &body).await;
        assert_eq!(v["code"], 0, "{v}");
    }

    let started = Instant::now();
    let handles: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (agent, cabs) = if n % 2 == 0 { ("demo", demo_cabs.clone()) } else { ("acme", acme_cabs.clone()) };
            tokio::spawn(client_run(app.clone(), n, agent, cabs, format!("{}/cb", callbacks.url), events.url.clone()))
        })
        .collect();
    let mut tallies = Vec::new();
    for h in handles {
        tallies.push(h.await.expect("a client finished without a failed assertion"));
    }
    let elapsed = started.elapsed();
    app.assert_consistent().await;

    // Every order is in exactly the state its client saw it reach.
    let world = app.running.state.store.snapshot();
    let mut orders = 0;
    for t in &tallies {
        let who = if t.agent == "demo" { DEMO } else { ACME };
        for (trade, (seen, _)) in &t.orders {
            let (_, v) = app.get_as(who, &format!("/rent/order/detail?tradeNo={trade}")).await;
            assert_eq!(v["data"]["borrowStatus"].as_i64(), Some(seen.borrow_status()), "{trade}: {seen:?} {v}");
            if let Seen::Leased(b) = seen {
                assert_eq!(world.batteries()[b.as_str()].place, BatteryPlace::Rented { order: trade.into() }, "{b}");
            }
            orders += 1;
        }
        for b in &t.loose {
            assert_eq!(world.batteries()[b.as_str()].place, BatteryPlace::Loose, "{b} closed out, with the customer");
        }
    }
    // Every battery in exactly one place, none created or lost.
    assert_eq!(world.batteries().len(), initial.batteries().len());
    let docked: usize = world.cabinets().values().map(|c| c.slots.iter().filter(|s| s.battery.is_some()).count()).sum();
    let rented = world.batteries().values().filter(|b| matches!(b.place, BatteryPlace::Rented { .. })).count();
    let loose = world.batteries().values().filter(|b| b.place == BatteryPlace::Loose).count();
    assert_eq!(docked + rented + loose, world.batteries().len());
    let leased_orders = world.orders().values().filter(|o| o.status == bajie_sim::model::OrderStatus::InLease).count();
    assert_eq!(rented, leased_orders);

    // The journal accounts for every change, and everything was delivered.
    let total = app.running.state.push.list(&Default::default(), None).len();
    let v = app.control_get(&format!("/pushes/wait?count={total}&timeoutMs=30000")).await;
    assert_eq!(v["code"], 0, "every push and callback delivered: {}", v["msg"]);
    let journal = app.running.state.push.list(&Default::default(), None);
    let mut callbacks_by_order: HashMap<String, Vec<String>> = HashMap::new();
    let mut events_by_agent: HashMap<(String, String), usize> = HashMap::new();
    for e in &journal {
        if e.kind == "callback" {
            callbacks_by_order.entry(e.order.clone().unwrap()).or_default().push(e.event.clone());
        } else {
            *events_by_agent.entry((e.agent.clone(), e.event.clone())).or_default() += 1;
        }
    }
    for t in &tallies {
        for (trade, (seen, ever_leased)) in &t.orders {
            let got = callbacks_by_order.get(trade).cloned().unwrap_or_default();
            let mut want = Vec::new();
            if *ever_leased {
                want.push("RENT_CALLBACK_1");
            }
            if *seen == Seen::Failed {
                want.push("RENT_CALLBACK_0");
            }
            if *seen == Seen::Returned {
                want.push("RENT_CALLBACK_2");
            }
            assert_eq!(got, want, "{trade} ({seen:?})");
        }
    }
    for agent in ["demo", "acme"] {
        let ejects: usize = tallies.iter().filter(|t| t.agent == agent).map(|t| t.ejects).sum();
        let returns: usize = tallies.iter().filter(|t| t.agent == agent).map(|t| t.returns).sum();
        let count = |e: &str| events_by_agent.get(&(agent.to_string(), e.to_string())).copied().unwrap_or(0);
        assert_eq!(count("BATTERY_BORROW_OUT"), ejects, "{agent}: one BATTERY_BORROW_OUT per eject");
        assert_eq!(count("BATTERY_IN"), returns, "{agent}: one BATTERY_IN per return");
    }
    let delivered_callbacks = journal.iter().filter(|e| e.kind == "callback").count();
    assert_eq!(callbacks.received().len(), delivered_callbacks);
    assert_eq!(events.received().len(), journal.len() - delivered_callbacks);

    // Pushes about one cabinet arrived in journal order, and connectivity pushes alternate.
    let mut journal_order: HashMap<String, Vec<String>> = HashMap::new();
    for e in journal.iter().filter(|e| e.kind == "event") {
        journal_order.entry(e.cabinet.clone().unwrap()).or_default().push(e.body.to_string());
    }
    let mut arrival: HashMap<String, Vec<String>> = HashMap::new();
    for r in events.received() {
        arrival
            .entry(r.json()["eventData"]["cabinetId"].as_str().unwrap().to_string())
            .or_default()
            .push(r.body.clone());
    }
    assert_eq!(arrival, journal_order, "per-cabinet order of arrival");
    for (cab, bodies) in &journal_order {
        let mut last: Option<String> = None;
        for b in bodies {
            let e = serde_json::from_str::<Value>(b).unwrap()["event"].as_str().unwrap().to_string();
            if e == "CABINET_ONLINE" || e == "CABINET_OFFLINE" {
                assert_ne!(last.as_deref(), Some(e.as_str()), "{cab}: {e} twice in a row");
                last = Some(e);
            }
        }
    }
    let requests: usize = tallies.iter().map(|t| t.requests).sum();
    eprintln!(
        "stress: {CLIENTS} clients x {OPERATIONS} operations = {requests} requests in {elapsed:?}; {orders} orders, {} ejects, {} returns, {} journal entries delivered",
        tallies.iter().map(|t| t.ejects).sum::<usize>(),
        tallies.iter().map(|t| t.returns).sum::<usize>(),
        journal.len()
    );
    // A hang deadline, not a speed bound (speed is measured in scripts/bench.sh).
    assert!(elapsed < Duration::from_secs(300), "the stress run did not finish: a hang");
}
