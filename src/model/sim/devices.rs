//! Simulated hardware: cabinets report their status in turn, lose their connection now and
//! then and come back, POS terminals drop and return, batteries and slots develop faults that
//! a technician clears later. All through the world's operations, so each raises the same
//! event a real cabinet would (CABINET_STATUS, CABINET_OFFLINE/ONLINE, POS_INFO_STATUS,
//! BATTERY_ABNORMAL_WARNING).

use super::{index, random, schedule, HOUR};
use crate::clock::{Millis, MINUTE};
use crate::model::event::EventName;
use crate::model::fault_types::{BatteryFault, SlotFault};
use crate::model::world::Due;
use crate::model::{Event, SimTask, World};
use std::ops::Bound;

/// The next cabinet in id order reports its status (an offline one skips its turn).
pub fn heartbeat(w: &mut World, at: Millis, out: &mut Vec<Event>) {
    let next = match w.sim.heartbeat_cursor.as_deref() {
        Some(c) => w.cabinets.range::<str, _>((Bound::Excluded(c), Bound::Unbounded)).next(),
        None => None,
    }
    .or_else(|| w.cabinets.iter().next())
    .map(|(id, c)| (id.clone(), c.online));
    let Some((id, online)) = next else {
        return;
    };
    if online {
        // Building the status report is most of a step's cost at fleet scale (a battery
        // look-up per slot, ~170 reports a virtual second at 100,000 cabinets); a report no
        // subscriber will receive is skipped. The world changes the same either way.
        let agent = w.cabinets.get(id.as_str()).and_then(|c| w.agents.get(c.agent.as_str()));
        let subscribed =
            agent.and_then(|a| a.push.as_deref()).is_some_and(|p| p.target(EventName::CabinetStatus).is_some());
        let reported = if subscribed { w.report_status(&id, at, out).is_ok() } else { w.touch_cabinet(&id, at) };
        if reported {
            w.sim.stats.heartbeats += 1;
        }
    }
    w.sim.heartbeat_cursor = Some(id);
}

/// A random cabinet loses its connection for an exponential while (then `Due::Reconnect`).
pub fn outage(w: &mut World, at: Millis, out: &mut Vec<Event>) {
    let Some(id) = random::pick(&mut w.rng, &w.sim.index.cabinets).cloned() else {
        return;
    };
    if !w.cabinets.get(id.as_str()).is_some_and(|c| c.online) {
        return;
    }
    let mean = w.sim.settings.outage_minutes * MINUTE as f64;
    let back = at + random::exp_ms(&mut w.rng, mean).max(30_000);
    if w.set_online(&id, false, at, out).is_ok() {
        w.sim.stats.outages += 1;
        w.due.insert((back, Due::Reconnect(id.to_string())));
    }
}

/// A random POS terminal disconnects for an exponential while.
pub fn pos_outage(w: &mut World, at: Millis, out: &mut Vec<Event>) {
    let Some(&i) = random::pick(&mut w.rng, &w.sim.index.pos) else {
        return;
    };
    let Some(id) = w.sim.index.cabinets.get(i).cloned() else {
        return;
    };
    if !w.cabinets.get(id.as_str()).is_some_and(|c| c.pos_online && !c.pos_device_id.is_empty()) {
        return;
    }
    let mean = w.sim.settings.pos_outage_minutes * MINUTE as f64;
    let back = at + random::exp_ms(&mut w.rng, mean).max(30_000);
    if w.set_pos_online(&id, false, at, out).is_ok() {
        w.sim.stats.pos_outages += 1;
        schedule(w, back, SimTask::PosOnline(id.to_string()));
    }
}

/// A random slot of the fleet (every slot equally likely) and its cabinet id.
fn random_slot(w: &mut World) -> Option<(String, u16)> {
    let total = w.sim.index.slot_prefix.last().copied()?;
    let r = w.rng.below(total);
    let (i, slot) = index::slot_at(&w.sim.index, r)?;
    Some((w.sim.index.cabinets.get(i)?.to_string(), slot))
}

fn repair_at(w: &mut World, at: Millis) -> Option<Millis> {
    let hours = w.sim.settings.repair_hours;
    (hours > 0.0).then(|| at + random::exp_ms(&mut w.rng, hours * HOUR as f64))
}

/// The battery in a random slot (if the slot holds a healthy one) develops a fault.
pub fn battery_fault(w: &mut World, at: Millis, out: &mut Vec<Event>) {
    let Some((cabinet, slot)) = random_slot(w) else {
        return;
    };
    let battery = w.cabinets.get(cabinet.as_str()).and_then(|c| c.slot(slot)).and_then(|s| s.battery.clone());
    let Some(battery) = battery.filter(|b| w.batteries.get(b).is_some_and(|b| b.fault.is_none())) else {
        return;
    };
    let Some(&fault) = random::pick(&mut w.rng, &w.sim.settings.battery_fault_types) else {
        return;
    };
    if w.set_battery_fault(&battery, fault, at, out).is_ok() {
        w.sim.stats.battery_faults += 1;
        if let Some(when) = repair_at(w, at) {
            schedule(w, when, SimTask::RepairBattery(battery.into()));
        }
    }
}

/// A random healthy, unlocked slot develops a fault.
pub fn slot_fault(w: &mut World, at: Millis, out: &mut Vec<Event>) {
    let Some((cabinet, slot)) = random_slot(w) else {
        return;
    };
    if !w.cabinets.get(cabinet.as_str()).and_then(|c| c.slot(slot)).is_some_and(|s| s.usable()) {
        return;
    }
    let Some(&fault) = random::pick(&mut w.rng, &w.sim.settings.slot_fault_types) else {
        return;
    };
    if w.set_slot_fault(&cabinet, slot, fault, at, out).is_ok() {
        w.sim.stats.slot_faults += 1;
        if let Some(when) = repair_at(w, at) {
            schedule(w, when, SimTask::RepairSlot(cabinet, slot));
        }
    }
}

/// A technician clears a battery's fault.
pub fn repair_battery(w: &mut World, at: Millis, id: &str, out: &mut Vec<Event>) {
    if w.batteries.get(id).is_some_and(|b| !b.fault.is_none())
        && w.set_battery_fault(id, BatteryFault::None, at, out).is_ok()
    {
        w.sim.stats.repairs += 1;
    }
}

/// A technician clears a slot's fault.
pub fn repair_slot(w: &mut World, at: Millis, cabinet: &str, slot: u16, out: &mut Vec<Event>) {
    let faulty = w.cabinets.get(cabinet).and_then(|c| c.slot(slot)).is_some_and(|s| !s.fault.is_none());
    if faulty && w.set_slot_fault(cabinet, slot, SlotFault::None, at, out).is_ok() {
        w.sim.stats.repairs += 1;
    }
}
