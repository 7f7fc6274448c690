//! Back-office cabinet operations (Advance API C1, C2, C5, C10-C13): device commands (pop,
//! lock, restart, heartbeat, report, fault reports), repair ejects, shop binding and ads.
//!
//! A popped battery leaves every slot and every order: it becomes [`BatteryPlace::Loose`] and
//! stays in the world, so `/_sim/check` holds and a later return docks it again. Every
//! operation validates everything before it changes anything, because the store discards the
//! events of a failed operation but cannot undo its changes.

use super::battery::BatteryPlace;
use super::cabinet::{Ads, Cabinet};
use super::event::{Event, EventKind};
use super::fault_types::{BatteryFault, SlotFault};
use super::world::{Due, World};
use crate::clock::Millis;
use crate::error::{Error, Result};

/// A device command of `POST /cabinet/operation` (`operationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CabinetOp {
    /// Reboot: offline now, back online after `settings.restart_ms`.
    Restart,
    /// Eject the battery of one slot.
    Pop,
    /// Eject every battery.
    PopAll,
    /// Eject every battery that is not authorised (battery fault other than 0).
    PopAllForNoAuth,
    /// Eject every authorised battery (battery fault 0).
    PopAllForAuth,
    /// A heartbeat: refresh the connection and report the status.
    Heartbeat,
    /// Lock one slot: nothing is ejected from or returned into it.
    Lock,
    /// Unlock one slot (also resumes charging stopped by `lockStopCharge`).
    Unlock,
    /// Lock one slot and stop charging its battery.
    LockStopCharge,
    /// Ask the cabinet for a status report.
    Report,
}

impl CabinetOp {
    /// Every operation with its platform name, in the docs' order.
    pub const ALL: [(&'static str, CabinetOp); 10] = [
        ("restart", CabinetOp::Restart),
        ("pop", CabinetOp::Pop),
        ("popall", CabinetOp::PopAll),
        ("popallForNoAuth", CabinetOp::PopAllForNoAuth),
        ("popallForAuth", CabinetOp::PopAllForAuth),
        ("heartbeat", CabinetOp::Heartbeat),
        ("lock", CabinetOp::Lock),
        ("unlock", CabinetOp::Unlock),
        ("lockStopCharge", CabinetOp::LockStopCharge),
        ("report", CabinetOp::Report),
    ];

    /// The operation called `name` (exact case, as the platform spells it).
    pub fn parse(name: &str) -> Option<CabinetOp> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, op)| *op)
    }

    /// Whether the operation acts on one slot (and so needs `slotNum` 1..slots).
    pub fn needs_slot(self) -> bool {
        matches!(self, CabinetOp::Pop | CabinetOp::Lock | CabinetOp::Unlock | CabinetOp::LockStopCharge)
    }
}

/// A fault the back office reports with a device command (`batcabFault` / `batteryFault`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultReport {
    /// A slot fault.
    Slot(SlotFault),
    /// A battery fault of the battery in the slot.
    Battery(BatteryFault),
}

/// A device command of `POST /cabinet/operation`, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    /// What to do.
    pub op: CabinetOp,
    /// `slotNum`, if given.
    pub slot: Option<u16>,
    /// Lock reason (may be empty).
    pub reason: &'a str,
    /// A fault reported with the command.
    pub fault: Option<FaultReport>,
}

/// What happened to one slot of a pop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopResult {
    /// 1-based slot.
    pub slot: u16,
    /// The battery ejected (or that could not be ejected).
    pub battery: Option<String>,
    /// Whether it came out.
    pub ok: bool,
    /// Why not, empty when it did.
    pub description: String,
}

/// Which batteries a cabinet-wide pop takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PopFilter {
    All,
    Faulty,
    Healthy,
}

impl World {
    /// The agent's cabinet named by a device id, a QR code or a QR-code URL ending in the id
    /// (`https://host/qr/BJD60151`, `...?qrcode=BJD60151`). Unknown or foreign: `2002`.
    pub fn resolve_cabinet(&self, agent: &str, code: &str) -> Result<&Cabinet> {
        let code = code.trim();
        if let Ok(c) = self.cabinet_of(agent, code) {
            return Ok(c);
        }
        // A URL: the id is its last path segment or query value. Upper case too, since QR
        // payloads are sometimes lower-cased by scanners.
        for token in code.rsplit(['/', '?', '&', '=', '#']).filter(|t| !t.is_empty()) {
            for candidate in [token.to_string(), token.to_ascii_uppercase()] {
                if let Ok(c) = self.cabinet_of(agent, &candidate) {
                    return Ok(c);
                }
            }
        }
        Err(Error::unbound_device())
    }

    /// C1 `POST /cabinet/operation`: run `cmd` on the agent's online cabinet. The slot is
    /// needed by slot operations and by a fault report, and ignored otherwise. A fault report
    /// is applied first (FaultRaised when the fault is new), so a following `report` already
    /// shows it. Pops that find
    /// the slot empty, faulty or locked are results with `ok == false` (BATTERY_POPUP with a
    /// failure description), not errors.
    pub fn operate_cabinet(
        &mut self,
        agent: &str,
        cabinet: &str,
        cmd: &Command<'_>,
        now: Millis,
        out: &mut Vec<Event>,
    ) -> Result<Vec<PopResult>> {
        let Command { op, slot, reason, fault } = *cmd;
        let cab = self.cabinet_of(agent, cabinet)?;
        if !cab.online {
            return Err(Error::device_offline());
        }
        let slots = cab.slots.len();
        let needs_slot = op.needs_slot() || fault.is_some();
        let slot = match slot {
            Some(n) if needs_slot && (n == 0 || n as usize > slots) => {
                return Err(Error::slot_unavailable(format!(
                    "Slot {n} does not exist on {cabinet} (slots 1..{slots})."
                )))
            }
            None if needs_slot => {
                return Err(Error::bad_param("slotNum", format!("this operation needs a slot 1..{slots}")))
            }
            s => s.unwrap_or(0),
        };
        if let Some(FaultReport::Battery(_)) = fault {
            if cab.slot(slot).and_then(|s| s.battery.as_deref()).is_none() {
                return Err(Error::slot_unavailable(format!(
                    "Slot {slot} of {cabinet} holds no battery to report a battery fault on."
                )));
            }
        }
        // Everything is valid: from here on the operation changes the world.
        if let Some(f) = fault {
            // The same operations as hand-made and simulated faults (model/hardware.rs).
            match f {
                FaultReport::Slot(t) => self.set_slot_fault(cabinet, slot, t, now, out)?,
                FaultReport::Battery(t) => {
                    let battery = self.cabinets.get(cabinet).and_then(|c| c.slot(slot)).and_then(|s| s.battery.clone());
                    if let Some(b) = battery {
                        self.set_battery_fault(&b, t, now, out)?;
                    }
                }
            }
        }
        let cabinet = cabinet.to_string();
        let mut results = Vec::new();
        match op {
            CabinetOp::Pop => results.push(self.pop_slot(&cabinet, slot, now, out)),
            CabinetOp::PopAll => results = self.pop_all(&cabinet, PopFilter::All, now, out),
            CabinetOp::PopAllForNoAuth => results = self.pop_all(&cabinet, PopFilter::Faulty, now, out),
            CabinetOp::PopAllForAuth => results = self.pop_all(&cabinet, PopFilter::Healthy, now, out),
            CabinetOp::Lock | CabinetOp::LockStopCharge => {
                self.lock_slot(&cabinet, slot, reason, op == CabinetOp::LockStopCharge, now)
            }
            CabinetOp::Unlock => self.unlock_slot(&cabinet, slot, now),
            CabinetOp::Restart => self.restart_cabinet(&cabinet, now, out)?,
            CabinetOp::Heartbeat | CabinetOp::Report => {
                // A commanded heartbeat or report is a handshake; the status push is the
                // cabinet's own status report.
                if let Some(c) = self.cabinets.get_mut(cabinet.as_str()) {
                    c.handshakes += 1;
                }
                self.report_status(&cabinet, now, out)?
            }
        }
        Ok(results)
    }

    /// C2 `POST /cabinet/ejectByRepair`: pop one slot, or every battery when `slot` is `None`
    /// or 0. Faulty batteries come out too (that is what a repair eject is for); faulty or
    /// locked slots cannot eject.
    pub fn eject_by_repair(
        &mut self,
        agent: &str,
        cabinet: &str,
        slot: Option<u16>,
        now: Millis,
        out: &mut Vec<Event>,
    ) -> Result<Vec<PopResult>> {
        let cab = self.cabinet_of(agent, cabinet)?;
        if !cab.online {
            return Err(Error::device_offline());
        }
        let slots = cab.slots.len();
        let cabinet = cabinet.to_string();
        match slot.filter(|&n| n > 0) {
            Some(n) if n as usize > slots => {
                Err(Error::slot_unavailable(format!("Slot {n} does not exist on {cabinet} (slots 1..{slots}).")))
            }
            Some(n) => Ok(vec![self.pop_slot(&cabinet, n, now, out)]),
            None => Ok(self.pop_all(&cabinet, PopFilter::All, now, out)),
        }
    }

    /// Pop every occupied slot whose battery matches `filter`; empty slots are skipped.
    fn pop_all(&mut self, cabinet: &str, filter: PopFilter, now: Millis, out: &mut Vec<Event>) -> Vec<PopResult> {
        let Some(cab) = self.cabinets.get(cabinet) else {
            return Vec::new();
        };
        let targets: Vec<u16> = cab
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let healthy = self.batteries.get(s.battery.as_deref()?).is_none_or(|b| b.fault.is_none());
                let take = match filter {
                    PopFilter::All => true,
                    PopFilter::Faulty => !healthy,
                    PopFilter::Healthy => healthy,
                };
                take.then_some(i as u16 + 1)
            })
            .collect();
        targets.into_iter().map(|n| self.pop_slot(cabinet, n, now, out)).collect()
    }

    /// Eject the battery of slot `n`: it becomes loose. Emits BATTERY_POPUP either way.
    fn pop_slot(&mut self, cabinet: &str, n: u16, now: Millis, out: &mut Vec<Event>) -> PopResult {
        let charge = self.settings.charge;
        let Some(cab) = self.cabinets.get_mut(cabinet) else {
            return PopResult { slot: n, battery: None, ok: false, description: "Unknown cabinet".into() };
        };
        let agent = cab.agent.clone();
        let failure = match cab.slot(n) {
            None => Some(format!("Slot {n} does not exist")),
            Some(s) if s.battery.is_none() => Some(format!("Slot {n} holds no battery")),
            Some(s) if s.locked => Some(format!("Slot {n} is locked")),
            Some(s) if !s.fault.is_none() => Some(format!("Slot {n} is faulty: {}", s.fault.cause())),
            Some(_) => None,
        };
        let result = match failure {
            Some(description) => PopResult {
                slot: n,
                battery: cab.slot(n).and_then(|s| s.battery.as_deref().map(str::to_string)),
                ok: false,
                description,
            },
            None => {
                let bid = cab.slot_mut(n).and_then(|s| s.battery.take());
                if let Some(b) = bid.as_deref().and_then(|b| self.batteries.get_mut(b)) {
                    b.move_to(BatteryPlace::Loose, &charge, now);
                }
                PopResult { slot: n, battery: bid.map(String::from), ok: true, description: String::new() }
            }
        };
        let kind = EventKind::BatteryPopped {
            cabinet: cabinet.to_string(),
            battery: result.battery.clone(),
            slot: n,
            ok: result.ok,
            description: result.description.clone(),
        };
        self.emit(out, now, &agent, kind);
        result
    }

    fn lock_slot(&mut self, cabinet: &str, n: u16, reason: &str, stop_charge: bool, now: Millis) {
        let charge = self.settings.charge;
        let Some(s) = self.cabinets.get_mut(cabinet).and_then(|c| c.slot_mut(n)) else {
            return;
        };
        s.locked = true;
        s.lock_reason = reason.into();
        if stop_charge {
            if let Some(b) = s.battery.as_deref().and_then(|b| self.batteries.get_mut(b)) {
                // Settle first so the level reached so far is kept, then hold it.
                b.settle(&charge, now);
                b.charge_paused = true;
            }
        }
    }

    fn unlock_slot(&mut self, cabinet: &str, n: u16, now: Millis) {
        let charge = self.settings.charge;
        let Some(s) = self.cabinets.get_mut(cabinet).and_then(|c| c.slot_mut(n)) else {
            return;
        };
        s.locked = false;
        s.lock_reason.clear();
        if let Some(b) = s.battery.as_deref().and_then(|b| self.batteries.get_mut(b)) {
            if b.charge_paused {
                b.settle(&charge, now);
                b.charge_paused = false;
            }
        }
    }

    /// Take the cabinet offline now and bring it back after `settings.restart_ms`.
    fn restart_cabinet(&mut self, cabinet: &str, now: Millis, out: &mut Vec<Event>) -> Result<()> {
        self.set_online(cabinet, false, now, out)?;
        let delay = self.settings.restart_ms;
        if delay <= 0 {
            self.set_online(cabinet, true, now, out)?;
        } else {
            self.due.insert((now + delay, Due::Reconnect(cabinet.to_string())));
        }
        Ok(())
    }

    /// C10 `bind2shop`: stand the agent's cabinet in the agent's shop (idempotent). Orders
    /// already created keep the terms they were created with.
    pub fn bind_cabinet_to_shop(&mut self, agent: &str, cabinet: &str, shop: &str) -> Result<String> {
        let id = self.resolve_cabinet(agent, cabinet)?.id.to_string();
        self.shop_of(agent, shop)?;
        let before = self.cabinets.get_mut(id.as_str()).and_then(|c| c.shop.replace(shop.into()));
        self.index_cabinet(&id, before.as_deref());
        Ok(id)
    }

    /// C12 `unbindShop`: take the agent's cabinets out of their shops. All ids are checked
    /// before any is changed; unbinding an unbound cabinet is a no-op.
    pub fn unbind_cabinets(&mut self, agent: &str, ids: &[String]) -> Result<Vec<String>> {
        let resolved = ids
            .iter()
            .map(|id| self.resolve_cabinet(agent, id).map(|c| c.id.to_string()))
            .collect::<Result<Vec<_>>>()?;
        for id in &resolved {
            let before = self.cabinets.get_mut(id.as_str()).and_then(|c| c.shop.take());
            self.index_cabinet(id, before.as_deref());
        }
        Ok(resolved)
    }

    /// C11 `bindAd` / C13 `publishAd`: store the advertising configuration on each of the
    /// agent's cabinets; with `restart`, every online one reboots to apply it (offline ones
    /// pick it up when they reconnect). All ids are checked before any is changed.
    pub fn set_ads(
        &mut self,
        agent: &str,
        ids: &[String],
        ads: &Ads,
        restart: bool,
        now: Millis,
        out: &mut Vec<Event>,
    ) -> Result<Vec<String>> {
        let resolved = ids
            .iter()
            .map(|id| self.resolve_cabinet(agent, id).map(|c| c.id.to_string()))
            .collect::<Result<Vec<_>>>()?;
        for id in &resolved {
            let online = match self.cabinets.get_mut(id.as_str()) {
                Some(c) => {
                    c.ads = Some(Box::new(ads.clone()));
                    c.online
                }
                None => continue,
            };
            if restart && online {
                self.restart_cabinet(id, now, out)?;
            }
        }
        Ok(resolved)
    }
}
