//! The simulation loop: a pure step over the world, driven by a thin timer in `app`.
//!
//! `step` is synchronous and deterministic: given the same world and `now` it makes the same
//! changes and returns the same events. Every change goes through the world's domain
//! operations, so simulated activity produces the same pushes and callbacks as API requests.
//!
//! The schedule (`world.sim.queue`) holds a few fleet-wide processes (customer arrivals,
//! heartbeats, outages, POS disconnections, battery and slot faults), each a Poisson process
//! (heartbeats: a fixed round) that draws its next time and picks its cabinet or slot at
//! random when it fires, plus one task per thing in flight (a customer who will bring a
//! battery back, a POS terminal or a fault waiting for its end). A step pops what is due and
//! interleaves it with the world's own due actions (ejects, buy-outs, reconnects) in time
//! order, each at its own virtual time. So:
//! - the cost of a step follows the activity in the span, never the fleet size: no loop over
//!   every cabinet (charging is derived from time, `model/battery.rs`);
//! - the result does not depend on how a span is cut into steps: one step over an hour and
//!   sixty steps over its minutes give the same world and the same events.

mod customers;
mod devices;
mod index;
mod random;

use crate::clock::{Millis, DAY, MINUTE};
use crate::model::{Event, SimTask, World};

const HOUR: Millis = 60 * MINUTE;

/// Advance the world's autonomous activity to `now`, appending what happened to `out`.
pub fn step(world: &mut World, now: Millis, out: &mut Vec<Event>) {
    step_within(world, now, out, &mut |_| false);
}

/// Like [`step`], but stop early when `enough()` says so, after a whole task: returns the
/// virtual time the world has been brought to (`now` when it got there). A span cut
/// anywhere this way gives the same world and events as one step over it, so a caller can
/// release the world lock between two parts and go on later. `enough` is asked after every
/// task with the number of events in `out` (a deadline, a number of events).
pub fn step_within(
    world: &mut World,
    now: Millis,
    out: &mut Vec<Event>,
    enough: &mut dyn FnMut(usize) -> bool,
) -> Millis {
    if !world.sim.started {
        seed(world, now);
    }
    let mut ran = false;
    while let Some(&(at, _)) = world.sim.queue.first() {
        if at > now {
            break;
        }
        // At least one task per call, so a caller looping until `now` always gets there.
        if ran && enough(out.len()) {
            // Everything up to `at` but the tasks due at `at` itself has run: one
            // millisecond earlier is where the world stands.
            world.run_due(at - 1, out);
            return at - 1;
        }
        // The world's own due actions up to this moment go first, so a customer meets the
        // world as it is at that moment (the eject of their order has happened, ...).
        world.run_due(at, out);
        let Some((at, task)) = world.sim.queue.pop_first() else {
            break;
        };
        index::ensure(world, at);
        run(world, at, task, out);
        ran = true;
    }
    world.run_due(now, out);
    now
}

/// The earliest virtual time at which a step would do anything (`None`: nothing scheduled).
/// Lets the driver skip taking the write lock when nothing is due.
pub fn next_at(world: &World) -> Option<Millis> {
    if !world.sim.started {
        return Some(Millis::MIN);
    }
    let sim = world.sim.queue.first().map(|(t, _)| *t);
    let due = world.due.first().map(|(t, _)| *t);
    match (sim, due) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Re-draw the fleet-wide processes from `now` (after the rates changed). Tasks in flight
/// (returns, repairs, ...) are kept.
pub fn reschedule(world: &mut World, now: Millis) {
    world.sim.queue.retain(|(_, t)| !t.is_process());
    seed(world, now);
}

/// Schedule the first occurrence of every fleet-wide process whose rate is not zero.
fn seed(world: &mut World, now: Millis) {
    world.sim.started = true;
    index::ensure(world, now);
    for task in [
        SimTask::Rent,
        SimTask::Heartbeat,
        SimTask::Outage,
        SimTask::PosOutage,
        SimTask::BatteryFault,
        SimTask::SlotFault,
    ] {
        schedule_process(world, now, task);
    }
}

/// Mean virtual milliseconds between two occurrences of a process, `None` when it is off.
fn mean_gap(world: &World, task: &SimTask) -> Option<f64> {
    let s = &world.sim.settings;
    let ix = &world.sim.index;
    let cabinets = ix.cabinets.len() as f64;
    let slots = ix.slot_prefix.last().copied().unwrap_or(0) as f64;
    let per_ms = match task {
        SimTask::Rent => s.rents_per_cabinet_hour * cabinets * s.demand_max() / HOUR as f64,
        SimTask::Heartbeat => {
            if s.heartbeat_seconds <= 0.0 || cabinets == 0.0 {
                return None;
            }
            return Some(s.heartbeat_seconds * 1000.0 / cabinets);
        }
        SimTask::Outage => s.outages_per_cabinet_day * cabinets / DAY as f64,
        SimTask::PosOutage => s.pos_outages_per_day * ix.pos.len() as f64 / DAY as f64,
        SimTask::BatteryFault => s.battery_faults_per_battery_day * slots / DAY as f64,
        SimTask::SlotFault => s.slot_faults_per_slot_day * slots / DAY as f64,
        _ => return None,
    };
    (per_ms > 0.0 && per_ms.is_finite()).then(|| 1.0 / per_ms)
}

/// Schedule the next occurrence of a fleet-wide process after `now`.
fn schedule_process(world: &mut World, now: Millis, task: SimTask) {
    let Some(gap) = mean_gap(world, &task) else {
        return;
    };
    let delay =
        if task == SimTask::Heartbeat { gap.round().max(1.0) as Millis } else { random::exp_ms(&mut world.rng, gap) };
    world.sim.queue.insert((now + delay, task));
}

/// Put a task on the schedule.
fn schedule(world: &mut World, at: Millis, task: SimTask) {
    world.sim.queue.insert((at, task));
}

fn run(world: &mut World, at: Millis, task: SimTask, out: &mut Vec<Event>) {
    match task {
        SimTask::Rent => {
            customers::arrive(world, at, out);
            schedule_process(world, at, SimTask::Rent);
        }
        SimTask::Heartbeat => {
            devices::heartbeat(world, at, out);
            schedule_process(world, at, SimTask::Heartbeat);
        }
        SimTask::Outage => {
            devices::outage(world, at, out);
            schedule_process(world, at, SimTask::Outage);
        }
        SimTask::PosOutage => {
            devices::pos_outage(world, at, out);
            schedule_process(world, at, SimTask::PosOutage);
        }
        SimTask::BatteryFault => {
            devices::battery_fault(world, at, out);
            schedule_process(world, at, SimTask::BatteryFault);
        }
        SimTask::SlotFault => {
            devices::slot_fault(world, at, out);
            schedule_process(world, at, SimTask::SlotFault);
        }
        SimTask::Return(order) => customers::give_back(world, at, &order, out),
        SimTask::PosOnline(cabinet) => {
            let _ = world.set_pos_online(&cabinet, true, at, out);
        }
        SimTask::RepairBattery(id) => devices::repair_battery(world, at, &id, out),
        SimTask::RepairSlot(cabinet, slot) => devices::repair_slot(world, at, &cabinet, slot, out),
        SimTask::Forget(order) => {
            if world.forget_order(&order) {
                world.sim.stats.forgotten_orders += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{load, DEFAULT_FIXTURES};
    use crate::model::{EventKind, OrderOrigin};
    use std::collections::BTreeMap;

    fn world(seed: u64) -> (World, Millis) {
        let start = crate::clock::parse_datetime(crate::config::TEST_START).unwrap();
        (load(DEFAULT_FIXTURES, seed, start).unwrap().world, start)
    }

    #[test]
    fn the_result_does_not_depend_on_how_time_is_cut_into_steps() {
        let (mut a, start) = world(11);
        let mut b = a.clone();
        let (mut ea, mut eb) = (Vec::new(), Vec::new());
        step(&mut a, start, &mut ea);
        step(&mut a, start + 6 * HOUR, &mut ea);
        step(&mut b, start, &mut eb);
        for m in 1..=6 * 60 {
            step(&mut b, start + m * MINUTE, &mut eb);
        }
        assert_eq!(ea, eb);
        assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
        assert!(a.check().is_empty(), "{:?}", a.check());
    }

    /// Subscribe every agent to CABINET_STATUS (heartbeat reports nobody receives are skipped).
    fn subscribe_status(w: &mut World) {
        use crate::model::event::{PushConfig, Subscription};
        let config = PushConfig {
            push_url: "http://127.0.0.1:9/push".into(),
            event_subscriptions: vec![Subscription {
                event: crate::model::event::EventName::CabinetStatus,
                push_url: String::new(),
                enable: true,
            }],
        };
        for a in w.agents.values_mut() {
            a.push = Some(std::sync::Arc::new(config.clone()));
        }
    }

    #[test]
    fn a_span_cut_at_any_task_gives_the_same_world_and_events() {
        let (mut a, start) = world(12);
        let mut b = a.clone();
        let (mut ea, mut eb) = (Vec::new(), Vec::new());
        let end = start + DAY;
        // Started at `start` (a world steps from the time of its first step).
        step(&mut a, start, &mut ea);
        step(&mut b, start, &mut eb);
        step(&mut a, end, &mut ea);
        // Stop after every task, as a deadline would, and go on from there.
        let mut parts = 0;
        while step_within(&mut b, end, &mut eb, &mut |_| true) < end {
            parts += 1;
        }
        assert!(parts > 10, "{parts} parts");
        assert_eq!(ea, eb);
        assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    }

    #[test]
    fn heartbeats_nobody_receives_change_the_world_like_reported_ones() {
        let (mut quiet, start) = world(5);
        let mut heard = quiet.clone();
        subscribe_status(&mut heard);
        let (mut eq, mut eh) = (Vec::new(), Vec::new());
        step(&mut quiet, start, &mut eq);
        step(&mut quiet, start + 3 * HOUR, &mut eq);
        step(&mut heard, start, &mut eh);
        step(&mut heard, start + 3 * HOUR, &mut eh);
        let status = |e: &Event| matches!(e.kind, EventKind::CabinetStatus { .. });
        assert!(eh.iter().filter(|e| status(e)).count() >= 20);
        assert!(!eq.iter().any(status));
        // Apart from the status reports and the subscription itself, the same history.
        let rest: Vec<&EventKind> = eh.iter().filter(|e| !status(e)).map(|e| &e.kind).collect();
        assert_eq!(rest, eq.iter().map(|e| &e.kind).collect::<Vec<_>>());
        for a in heard.agents.values_mut() {
            a.push = None;
        }
        assert_eq!(serde_json::to_string(&heard).unwrap(), serde_json::to_string(&quiet).unwrap());
    }

    #[test]
    fn the_default_world_is_alive_within_a_virtual_hour() {
        let (mut w, start) = world(42);
        subscribe_status(&mut w);
        let mut out = Vec::new();
        step(&mut w, start, &mut out);
        step(&mut w, start + HOUR, &mut out);
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &out {
            *kinds.entry(e.kind.push_name().map_or("callback", |n| n.as_str())).or_default() += 1;
        }
        let customer_orders = w.orders.values().filter(|o| o.origin == OrderOrigin::Customer).count();
        assert!(customer_orders >= 3, "{customer_orders} rentals in the first hour: {kinds:?}");
        assert!(kinds.get("CABINET_STATUS").copied().unwrap_or(0) >= 20, "{kinds:?}");
        assert!(kinds.get("BATTERY_BORROW_OUT").copied().unwrap_or(0) >= 3, "{kinds:?}");
        assert!(w.check().is_empty(), "{:?}", w.check());
    }

    #[test]
    fn a_day_brings_returns_outages_and_keeps_the_invariants() {
        let (mut w, start) = world(7);
        let mut out = Vec::new();
        step(&mut w, start, &mut out);
        step(&mut w, start + DAY, &mut out);
        let has = |f: &dyn Fn(&EventKind) -> bool| out.iter().any(|e| f(&e.kind));
        assert!(has(&|k| matches!(k, EventKind::BatteryReturned { order: Some(_), .. })));
        assert!(has(&|k| matches!(k, EventKind::CabinetOffline { .. })));
        assert!(has(&|k| matches!(k, EventKind::CabinetOnline { .. })));
        assert!(has(&|k| matches!(k, EventKind::PosStatus { .. })));
        // Returned orders leave no buy-out deadline behind.
        let timeouts = w.due.iter().filter(|(_, d)| matches!(d, crate::model::world::Due::Timeout(_))).count();
        let in_lease = w.orders.values().filter(|o| o.status == crate::model::OrderStatus::InLease).count();
        assert!(timeouts <= in_lease, "{timeouts} deadlines for {in_lease} open orders");
        let s = &w.sim.stats;
        assert!(s.returns > 50 && s.rentals > s.returns / 2, "{s:?}");
        assert!(w.check().is_empty(), "{:?}", w.check());
        // Durations: most rentals that came back lasted between 30 min and 3 h.
        let lasted: Vec<i64> = w
            .orders
            .values()
            .filter(|o| o.origin == OrderOrigin::Customer && o.end_time.is_some() && o.borrow_time.is_some())
            .map(|o| (o.end_time.unwrap_or(0) - o.borrow_time.unwrap_or(0)) / MINUTE)
            .collect();
        let typical = lasted.iter().filter(|m| (25..=200).contains(*m)).count();
        assert!(typical * 10 >= lasted.len() * 7, "{typical} of {} typical", lasted.len());
    }
}
