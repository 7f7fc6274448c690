//! What cabinets, batteries and technicians do outside the rent flow: status reports, POS
//! terminal connectivity, battery and slot faults, charge, filling and emptying a cabinet,
//! forgetting old simulated orders. Shared by the simulation loop and the control API, so a
//! fault raised by hand and one raised by the simulation are the same event.

use super::battery::{Battery, BatteryFault, BatteryPlace};
use super::cabinet::{Slot, SlotFault};
use super::event::{Event, EventKind};
use super::id::BatteryId;
use super::order::OrderOrigin;
use super::world::World;
use crate::clock::Millis;
use crate::error::{code, Error, Result};

impl World {
    /// A cabinet reports its status (CABINET_STATUS); it counts as a heartbeat.
    pub fn report_status(&mut self, cabinet: &str, now: Millis, out: &mut Vec<Event>) -> Result<()> {
        let cab = self.cabinets.get(cabinet).ok_or_else(Error::unbound_device)?;
        if !cab.online {
            return Err(Error::device_offline());
        }
        let report = self.report(cab, now);
        let agent = cab.agent.clone();
        if let Some(c) = self.cabinets.get_mut(cabinet) {
            c.last_seen = now;
        }
        self.emit(out, now, &agent, EventKind::CabinetStatus { report });
        Ok(())
    }

    /// A heartbeat nobody listens to: the online cabinet's `lastSeen` moves to `now`, as
    /// with [`World::report_status`], without building the report. Returns whether it was.
    pub fn touch_cabinet(&mut self, cabinet: &str, now: Millis) -> bool {
        match self.cabinets.get_mut(cabinet).filter(|c| c.online) {
            Some(c) => {
                c.last_seen = now;
                true
            }
            None => false,
        }
    }

    /// Give battery `id` a fault (`None` clears it). A new fault of a docked battery raises
    /// BATTERY_ABNORMAL_WARNING with its cabinet's status.
    pub fn set_battery_fault(
        &mut self,
        id: &str,
        fault: BatteryFault,
        now: Millis,
        out: &mut Vec<Event>,
    ) -> Result<()> {
        let charge = self.settings.charge;
        let b = self.batteries.get_mut(id).ok_or_else(|| no_battery(id))?;
        // Settle first: "cannot charge" changes the charge curve from this moment on.
        b.settle(&charge, now);
        let raised = !fault.is_none() && b.fault != fault;
        b.fault = fault;
        let (agent, place) = (b.agent.clone(), b.place.clone());
        if let (true, BatteryPlace::Slot { cabinet, slot }) = (raised, place) {
            if let Some(cab) = self.cabinets.get(cabinet.as_str()).filter(|c| c.online) {
                let report = self.report(cab, now);
                self.emit(out, now, &agent, EventKind::FaultRaised { battery: Some(id.to_string()), slot, report });
            }
        }
        Ok(())
    }

    /// Give slot `slot` of `cabinet` a fault (`None` clears it). A new fault raises
    /// BATTERY_ABNORMAL_WARNING naming the battery in the slot, if any.
    pub fn set_slot_fault(
        &mut self,
        cabinet: &str,
        slot: u16,
        fault: SlotFault,
        now: Millis,
        out: &mut Vec<Event>,
    ) -> Result<()> {
        let cab = self.cabinets.get_mut(cabinet).ok_or_else(Error::unbound_device)?;
        let s = cab
            .slot_mut(slot)
            .ok_or_else(|| Error::slot_unavailable(format!("Slot {slot} does not exist on {cabinet}.")))?;
        let raised = !fault.is_none() && s.fault != fault;
        s.fault = fault;
        let battery = s.battery.clone();
        let (agent, online) = (cab.agent.clone(), cab.online);
        if raised && online {
            if let Some(cab) = self.cabinets.get(cabinet) {
                let report = self.report(cab, now);
                self.emit(
                    out,
                    now,
                    &agent,
                    EventKind::FaultRaised { battery: battery.map(String::from), slot, report },
                );
            }
        }
        Ok(())
    }

    /// Give battery `id` a battery fault, the slot it is docked in a slot fault, or both
    /// (`POST /_sim/batteries/{id}/fault`); returns where the battery is. Everything is
    /// checked before anything changes: a refused request leaves the world as it was (a slot
    /// fault for a battery that is not docked used to be refused after its battery fault had
    /// been set).
    pub fn set_battery_faults(
        &mut self,
        id: &str,
        battery_fault: Option<BatteryFault>,
        slot_fault: Option<SlotFault>,
        now: Millis,
        out: &mut Vec<Event>,
    ) -> Result<BatteryPlace> {
        let place = self.batteries.get(id).ok_or_else(|| no_battery(id))?.place.clone();
        if slot_fault.is_some() {
            let BatteryPlace::Slot { cabinet, slot } = &place else {
                return Err(Error::control(format!("Battery {id} is not docked in a slot.")));
            };
            if self.cabinets.get(cabinet).and_then(|c| c.slot(*slot)).is_none() {
                return Err(Error::slot_unavailable(format!("Slot {slot} does not exist on {cabinet}.")));
            }
        }
        if let Some(f) = battery_fault {
            self.set_battery_fault(id, f, now, out)?;
        }
        if let (Some(f), BatteryPlace::Slot { cabinet, slot }) = (slot_fault, &place) {
            self.set_slot_fault(cabinet, *slot, f, now, out)?;
        }
        Ok(place)
    }

    /// Set battery `id`'s charge to `vol` percent now; the curve continues from there.
    pub fn set_battery_charge(&mut self, id: &str, vol: f64, now: Millis) -> Result<()> {
        if !(vol.is_finite() && (0.0..=100.0).contains(&vol)) {
            return Err(Error::bad_param("vol", format!("{vol} is outside 0..100")));
        }
        let b = self.batteries.get_mut(id).ok_or_else(|| no_battery(id))?;
        b.level = vol;
        b.since = now;
        Ok(())
    }

    /// A fresh battery id: 10 upper-case hex digits from the world's generator, unused.
    pub fn new_battery_id(&mut self) -> BatteryId {
        loop {
            let id = self.rng.hex(10).to_ascii_uppercase();
            if !self.batteries.contains_key(id.as_str()) {
                return id.into();
            }
        }
    }

    /// A technician puts new batteries charged to `vol` into every empty usable slot
    /// (BATTERY_IN for each when the cabinet is online); returns `(slot, battery id)`.
    pub fn fill_cabinet(
        &mut self,
        cabinet: &str,
        vol: f64,
        now: Millis,
        out: &mut Vec<Event>,
    ) -> Result<Vec<(u16, String)>> {
        if !(vol.is_finite() && (0.0..=100.0).contains(&vol)) {
            return Err(Error::bad_param("vol", format!("{vol} is outside 0..100")));
        }
        let cab = self.cabinets.get(cabinet).ok_or_else(Error::unbound_device)?;
        let free: Vec<u16> =
            (1..=cab.slots.len() as u16).filter(|&n| cab.slot(n).is_some_and(Slot::is_returnable)).collect();
        let (agent, online) = (cab.agent.clone(), cab.online);
        let mut added = Vec::new();
        for n in free {
            let id = self.new_battery_id();
            self.batteries.insert(Battery {
                id: id.clone(),
                agent: agent.clone(),
                place: BatteryPlace::Slot { cabinet: cabinet.into(), slot: n },
                level: vol,
                since: now,
                fault: BatteryFault::None,
                charge_paused: false,
            });
            if let Some(s) = self.cabinets.get_mut(cabinet).and_then(|c| c.slot_mut(n)) {
                s.battery = Some(id.clone());
            }
            if online {
                let kind = EventKind::BatteryReturned {
                    cabinet: cabinet.to_string(),
                    battery: id.to_string(),
                    slot: n,
                    order: None,
                };
                self.emit(out, now, &agent, kind);
            }
            added.push((n, id.into()));
        }
        Ok(added)
    }

    /// A technician takes every battery out of a cabinet (BATTERY_POPUP for each when the
    /// cabinet is online); the batteries stay in the fleet, loose. Returns their ids.
    pub fn empty_cabinet(&mut self, cabinet: &str, now: Millis, out: &mut Vec<Event>) -> Result<Vec<String>> {
        let charge = self.settings.charge;
        let cab = self.cabinets.get_mut(cabinet).ok_or_else(Error::unbound_device)?;
        let (agent, online) = (cab.agent.clone(), cab.online);
        let taken: Vec<(u16, BatteryId)> =
            cab.slots.iter_mut().enumerate().filter_map(|(i, s)| s.battery.take().map(|b| (i as u16 + 1, b))).collect();
        for (n, id) in &taken {
            if let Some(b) = self.batteries.get_mut(id) {
                b.move_to(BatteryPlace::Loose, &charge, now);
            }
            if online {
                let kind = EventKind::BatteryPopped {
                    cabinet: cabinet.to_string(),
                    battery: Some(id.to_string()),
                    slot: *n,
                    ok: true,
                    description: String::new(),
                };
                self.emit(out, now, &agent, kind);
            }
        }
        Ok(taken.into_iter().map(|(_, id)| id.into()).collect())
    }

    /// Forget a finished order of a simulated customer (bounded order book); other orders
    /// and unfinished ones are kept. Returns whether it was removed.
    pub fn forget_order(&mut self, trade_no: &str) -> bool {
        let gone = self.orders.get(trade_no).is_some_and(|o| o.origin == OrderOrigin::Customer && o.status.is_final());
        if gone {
            self.remove_order(trade_no);
        }
        gone
    }
}

fn no_battery(id: &str) -> Error {
    Error::business(code::BATTERY_STATE, format!("Battery {id} does not exist."))
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{load, DEFAULT_FIXTURES};
    use crate::model::fault_types::{BatteryFault, SlotFault};

    #[test]
    fn filling_and_emptying_keep_the_world_consistent() {
        let mut w = load(DEFAULT_FIXTURES, 3, 0).unwrap().world;
        let mut out = Vec::new();
        let added = w.fill_cabinet("BJD60203", 100.0, 0, &mut out).unwrap();
        assert_eq!(added.len(), 8);
        assert!(added
            .iter()
            .all(|(_, id)| id.len() == 10 && id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())));
        assert_eq!(out.len(), 8);
        assert!(w.check().is_empty(), "{:?}", w.check());
        let taken = w.empty_cabinet("BJD60203", 0, &mut out).unwrap();
        assert_eq!(taken.len(), 8);
        assert!(w.check().is_empty(), "{:?}", w.check());
    }

    #[test]
    fn a_new_fault_raises_a_warning_once() {
        let mut w = load(DEFAULT_FIXTURES, 3, 0).unwrap().world;
        let id = w.cabinets["BJD60151"].slots[0].battery.clone().unwrap();
        let mut out = Vec::new();
        w.set_battery_fault(&id, BatteryFault::Swelling, 0, &mut out).unwrap();
        w.set_battery_fault(&id, BatteryFault::Swelling, 0, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        w.set_slot_fault("BJD60151", 2, SlotFault::CannotEject, 0, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        assert!(w.set_slot_fault("BJD60151", 9, SlotFault::CannotEject, 0, &mut out).is_err());
    }
}
