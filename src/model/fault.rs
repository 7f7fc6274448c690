//! Fault-injection rules (`/_sim/faults`): failures on demand, kept in the world so snapshots
//! carry them and every random draw comes from the world's one generator.
//!
//! A rule matches by endpoint (platform requests only), agent, device and, for pushes, event
//! name; it fires with its probability and at most `times` times (then it is removed). Three
//! families of effects, applied in three places:
//! - request effects (`error`, `httpStatus`, `latency`): before the platform handler runs
//!   (`control::faults::inject`);
//! - eject effects (`ejectFailure`, `batteryFault`, `slotFault`): inside
//!   [`World::eject_for_order`], whoever asked for the eject;
//! - push effects (`dropPush`, `delayPush`, `duplicatePush`): stamped on the event when the
//!   store hands it out, carried out by `push::Hub::publish`.

use super::event::Event;
use super::fault_types::{BatteryFault, RentalFailure, SlotFault};
use super::world::World;
use crate::clock::Millis;
use crate::error::{code, Error, Result};
use serde::{Deserialize, Serialize};

/// What a rule does when it fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum FaultEffect {
    /// The platform answers this business error (HTTP 200, `code`, `msg`) without running
    /// the handler.
    Error { code: i64, msg: String },
    /// The platform answers this HTTP status (with the envelope) without running the handler.
    HttpStatus { http_status: u16 },
    /// The platform request is held this many real milliseconds before it runs.
    Latency { latency_ms: u64 },
    /// The cabinet's eject fails with this rental failure type (docs/api-reference.md).
    EjectFailure { fault_type: RentalFailure },
    /// The battery the cabinet would hand out turns out faulty (battery fault type): the
    /// eject fails with rental failure 1 and a BATTERY_ABNORMAL_WARNING is raised.
    BatteryFault { battery_fault: BatteryFault },
    /// The slot the cabinet would eject from jams (slot fault type): the eject fails with
    /// rental failure 3 and a BATTERY_ABNORMAL_WARNING is raised.
    SlotFault { slot_fault: SlotFault },
    /// The push or callback is journaled as dropped and never sent.
    DropPush,
    /// The push or callback is queued only after this many real milliseconds.
    DelayPush { delay_ms: u64 },
    /// The push or callback is sent twice.
    DuplicatePush,
}

/// Where an effect applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultFamily {
    /// Platform requests.
    Request,
    /// Cabinet ejects.
    Eject,
    /// Outbound pushes and callbacks.
    Push,
}

impl FaultEffect {
    /// The family this effect belongs to.
    pub fn family(&self) -> FaultFamily {
        match self {
            FaultEffect::Error { .. } | FaultEffect::HttpStatus { .. } | FaultEffect::Latency { .. } => {
                FaultFamily::Request
            }
            FaultEffect::EjectFailure { .. } | FaultEffect::BatteryFault { .. } | FaultEffect::SlotFault { .. } => {
                FaultFamily::Eject
            }
            FaultEffect::DropPush | FaultEffect::DelayPush { .. } | FaultEffect::DuplicatePush => FaultFamily::Push,
        }
    }
}

/// What happens to one outbound delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PushFault {
    /// Journaled as dropped, never sent.
    Drop,
    /// Queued after this many real milliseconds.
    Delay(u64),
    /// Sent twice.
    Duplicate,
}

/// One fault-injection rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// Rule id, for `DELETE /_sim/faults/{id}`.
    #[serde(default)]
    pub id: u64,
    /// Platform endpoint: an operation id of docs/api-reference.md (`O2`, `C3`) or a path (suffix or
    /// template, `/rent/order/create`, `/cabinet/detail/{cabinetId}`); request rules only.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Agent account it applies to; any when absent.
    #[serde(default)]
    pub agent: Option<String>,
    /// Device (cabinet) id it applies to; any when absent.
    #[serde(default)]
    pub device: Option<String>,
    /// Event name for push rules (`BATTERY_IN`, `RENT_CALLBACK`, `RENT_CALLBACK_1`, ...).
    #[serde(default)]
    pub event: Option<String>,
    /// Chance of firing when it matches, 0..1.
    #[serde(default = "certain")]
    pub probability: f64,
    /// Firings left; the rule is removed when it reaches 0. Unlimited when absent.
    #[serde(default)]
    pub times: Option<u64>,
    /// How often it fired so far.
    #[serde(default)]
    pub fired: u64,
    /// What it does.
    #[serde(flatten)]
    pub effect: FaultEffect,
}

fn certain() -> f64 {
    1.0
}

impl FaultRule {
    /// Every reason the rule cannot be used, in words; empty when it is fine.
    pub fn problems(&self) -> Vec<String> {
        let mut v = Vec::new();
        if !(self.probability.is_finite() && (0.0..=1.0).contains(&self.probability)) {
            v.push(format!("probability must be between 0 and 1, got {}", self.probability));
        }
        if self.times == Some(0) {
            v.push("times must be at least 1 (leave it out for no limit)".into());
        }
        let family = self.effect.family();
        if self.endpoint.is_some() && family != FaultFamily::Request {
            v.push("endpoint applies only to error, httpStatus and latency rules".into());
        }
        if self.event.is_some() && family != FaultFamily::Push {
            v.push("event applies only to dropPush, delayPush and duplicatePush rules".into());
        }
        match &self.effect {
            FaultEffect::Error { code, msg } => {
                if *code == 0 {
                    v.push("code must not be 0 (0 is success)".into());
                }
                if msg.trim().is_empty() {
                    v.push("msg must not be empty".into());
                }
            }
            FaultEffect::HttpStatus { http_status } if !(100..=599).contains(http_status) => {
                v.push(format!("httpStatus must be 100..599, got {http_status}"));
            }
            FaultEffect::Latency { latency_ms } if *latency_ms > 120_000 => {
                v.push(format!("latencyMs must be at most 120000, got {latency_ms}"));
            }
            // Numbers outside the vocabularies are refused when the rule is read; "no fault"
            // is no effect.
            FaultEffect::EjectFailure { fault_type: RentalFailure::Other } => {
                v.push("faultType must be a rental failure type other than 0".into());
            }
            FaultEffect::BatteryFault { battery_fault: BatteryFault::None } => {
                v.push(format!("batteryFault must be 1..{}, got 0", BatteryFault::MAX));
            }
            FaultEffect::SlotFault { slot_fault: SlotFault::None } => {
                v.push(format!("slotFault must be 1..{}, got 0", SlotFault::MAX));
            }
            FaultEffect::DelayPush { delay_ms } if *delay_ms > 600_000 => {
                v.push(format!("delayMs must be at most 600000, got {delay_ms}"));
            }
            _ => {}
        }
        v
    }

    fn matches(
        &self,
        family: FaultFamily,
        agent: Option<&str>,
        device: Option<&str>,
        event: Option<&str>,
        endpoint_ok: &dyn Fn(&str) -> bool,
    ) -> bool {
        let same = |want: &Option<String>, got: Option<&str>| {
            want.as_deref().is_none_or(|w| got.is_some_and(|g| g.eq_ignore_ascii_case(w)))
        };
        self.effect.family() == family
            && same(&self.agent, agent)
            && same(&self.device, device)
            && self.endpoint.as_deref().is_none_or(endpoint_ok)
            && self.event.as_deref().is_none_or(|w| {
                // `RENT_CALLBACK` covers the three callback statuses.
                event.is_some_and(|e| e.eq_ignore_ascii_case(w) || (w == "RENT_CALLBACK" && e.starts_with(w)))
            })
    }
}

/// The rules in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultRules {
    /// Id of the next rule.
    pub next_id: u64,
    /// Rules, oldest first.
    pub rules: Vec<FaultRule>,
}

impl Default for FaultRules {
    fn default() -> Self {
        FaultRules { next_id: 1, rules: Vec::new() }
    }
}

impl FaultRules {
    /// Whether any rule of `family` exists (the cheap check before anything else).
    pub fn any(&self, family: FaultFamily) -> bool {
        self.rules.iter().any(|r| r.effect.family() == family)
    }

    /// Which request rules could apply to a platform request at this endpoint: `None` when no
    /// rule names it (the common case, decided under the read lock), else whether any of them
    /// filters by agent and by device, so the caller works those out only when they matter.
    pub fn request_filters(&self, endpoint_ok: &dyn Fn(&str) -> bool) -> Option<(bool, bool)> {
        let mut found: Option<(bool, bool)> = None;
        for r in self.rules.iter().filter(|r| r.effect.family() == FaultFamily::Request) {
            if r.endpoint.as_deref().is_none_or(endpoint_ok) {
                let (a, d) = found.unwrap_or_default();
                found = Some((a || r.agent.is_some(), d || r.device.is_some()));
            }
        }
        found
    }

    /// Whether any request rule matches this request, before its probability is drawn.
    pub fn request_matches(
        &self,
        agent: Option<&str>,
        device: Option<&str>,
        endpoint_ok: &dyn Fn(&str) -> bool,
    ) -> bool {
        self.rules.iter().any(|r| r.matches(FaultFamily::Request, agent, device, None, endpoint_ok))
    }

    /// Every reason the rule set cannot be used (snapshot validation).
    pub fn problems(&self) -> Vec<String> {
        let mut v = Vec::new();
        for r in &self.rules {
            v.extend(r.problems().into_iter().map(|p| format!("fault rule {}: {p}", r.id)));
            if r.id >= self.next_id {
                v.push(format!("fault rule {} is not below nextId {}", r.id, self.next_id));
            }
        }
        v
    }
}

/// What the request rules decided for one platform request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestFaults {
    /// Real milliseconds to wait before anything else.
    pub latency_ms: u64,
    /// The answer to give instead of running the handler.
    pub fail: Option<FaultEffect>,
}

impl World {
    /// Add a rule; returns it with its id.
    pub fn add_fault_rule(&mut self, mut rule: FaultRule) -> Result<FaultRule> {
        let problems = rule.problems();
        if !problems.is_empty() {
            return Err(Error::business(code::BAD_PARAM, format!("Fault rule refused: {}.", problems.join("; "))));
        }
        rule.id = self.faults.next_id;
        rule.fired = 0;
        self.faults.next_id += 1;
        self.faults.rules.push(rule.clone());
        Ok(rule)
    }

    /// Remove rule `id`.
    pub fn remove_fault_rule(&mut self, id: u64) -> Result<FaultRule> {
        let i = self
            .faults
            .rules
            .iter()
            .position(|r| r.id == id)
            .ok_or_else(|| Error::control(format!("No fault rule {id}.")))?;
        Ok(self.faults.rules.remove(i))
    }

    /// The first rule of `family` that matches and fires; counts it and retires it when
    /// its `times` are used up. Rules with probability 1 fire without a draw, so adding one
    /// leaves the world's random sequence as it was.
    fn draw_fault(
        &mut self,
        family: FaultFamily,
        agent: Option<&str>,
        device: Option<&str>,
        event: Option<&str>,
        endpoint_ok: &dyn Fn(&str) -> bool,
    ) -> Option<FaultEffect> {
        let mut i = 0;
        while i < self.faults.rules.len() {
            let r = &self.faults.rules[i];
            let hit = r.matches(family, agent, device, event, endpoint_ok)
                && (r.probability >= 1.0 || self.rng.chance(r.probability));
            if !hit {
                i += 1;
                continue;
            }
            return Some(self.use_rule(i).0);
        }
        None
    }

    /// Count a firing of rule `i`: its effect, and whether that used up its `times` (the rule
    /// is then removed, so the caller must not advance past it).
    fn use_rule(&mut self, i: usize) -> (FaultEffect, bool) {
        let r = &mut self.faults.rules[i];
        r.fired += 1;
        let effect = r.effect.clone();
        let spent = r.times.as_mut().is_some_and(|t| {
            *t = t.saturating_sub(1);
            *t == 0
        });
        if spent {
            self.faults.rules.remove(i);
        }
        (effect, spent)
    }

    /// The request rules' verdict on a platform request: latencies add up, the first error or
    /// status that fires is the answer.
    pub fn draw_request_faults(
        &mut self,
        agent: Option<&str>,
        device: Option<&str>,
        endpoint_ok: &dyn Fn(&str) -> bool,
    ) -> RequestFaults {
        let mut out = RequestFaults::default();
        if !self.faults.any(FaultFamily::Request) {
            return out;
        }
        // Latency rules all apply; among failures only the first one that fires counts, so
        // later failure rules are not drawn (nor their `times` used) once one has fired.
        let mut i = 0;
        while i < self.faults.rules.len() {
            let r = &self.faults.rules[i];
            let is_latency = matches!(r.effect, FaultEffect::Latency { .. });
            if r.effect.family() != FaultFamily::Request || (!is_latency && out.fail.is_some()) {
                i += 1;
                continue;
            }
            let hit = r.matches(FaultFamily::Request, agent, device, None, endpoint_ok)
                && (r.probability >= 1.0 || self.rng.chance(r.probability));
            if !hit {
                i += 1;
                continue;
            }
            let (effect, spent) = self.use_rule(i);
            match effect {
                FaultEffect::Latency { latency_ms } => out.latency_ms = out.latency_ms.saturating_add(latency_ms),
                other => out.fail = Some(other),
            }
            if !spent {
                i += 1;
            }
        }
        out
    }

    /// The eject rules' verdict on an eject at `cabinet` (from `slot`, or the best battery):
    /// `(rental failure type, cause, slot)` when a rule makes it fail. Battery and slot
    /// effects mark the battery or slot and raise BATTERY_ABNORMAL_WARNING.
    pub(crate) fn inject_eject_fault(
        &mut self,
        cabinet: &str,
        slot: Option<u16>,
        now: Millis,
        out: &mut Vec<Event>,
    ) -> Option<(RentalFailure, String, Option<u16>)> {
        if !self.faults.any(FaultFamily::Eject) {
            return None;
        }
        let agent = self.cabinets.get(cabinet)?.agent.clone();
        let effect = self.draw_fault(FaultFamily::Eject, Some(&agent), Some(cabinet), None, &|_| true)?;
        let target = |w: &World| {
            let cab = w.cabinets.get(cabinet)?;
            let n = slot.or_else(|| w.best_slot(cab, now))?;
            Some((n, cab.slot(n)?.battery.clone()))
        };
        match effect {
            FaultEffect::EjectFailure { fault_type } => Some((fault_type, fault_type.cause().to_string(), slot)),
            FaultEffect::BatteryFault { battery_fault } => {
                let (n, battery) = target(self)?;
                let battery = battery?;
                self.set_battery_fault(&battery, battery_fault, now, out).ok()?;
                let failure = RentalFailure::AuthoriseFailed;
                Some((failure, failure.cause().to_string(), Some(n)))
            }
            FaultEffect::SlotFault { slot_fault } => {
                let (n, _) = target(self)?;
                self.set_slot_fault(cabinet, n, slot_fault, now, out).ok()?;
                let failure = RentalFailure::EjectFailed;
                Some((failure, format!("{}: {}", failure.cause(), slot_fault.cause()), Some(n)))
            }
            _ => None,
        }
    }

    /// Decide, for each outgoing event, whether a push rule drops, delays or duplicates it.
    pub fn stamp_push_faults(&mut self, events: &mut [Event]) {
        if events.is_empty() || !self.faults.any(FaultFamily::Push) {
            return;
        }
        for e in events.iter_mut() {
            let name = match &e.kind {
                super::EventKind::RentCallback { status, .. } => format!("RENT_CALLBACK_{status}"),
                // Only deliveries that will be made: an unsubscribed event uses up no rule.
                k => match k.push_name().filter(|n| e.push.as_deref().and_then(|c| c.target(*n)).is_some()) {
                    Some(n) => n.to_string(),
                    None => continue,
                },
            };
            let fired = self.draw_fault(FaultFamily::Push, Some(&e.agent), e.kind.cabinet(), Some(&name), &|_| true);
            e.fault = match fired {
                Some(FaultEffect::DropPush) => Some(PushFault::Drop),
                Some(FaultEffect::DelayPush { delay_ms }) => Some(PushFault::Delay(delay_ms)),
                Some(FaultEffect::DuplicatePush) => Some(PushFault::Duplicate),
                _ => None,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(effect: FaultEffect) -> FaultRule {
        FaultRule {
            id: 0,
            endpoint: None,
            agent: None,
            device: None,
            event: None,
            probability: 1.0,
            times: None,
            fired: 0,
            effect,
        }
    }

    #[test]
    fn rules_read_and_write_flat_json() {
        let r: FaultRule =
            serde_json::from_str(r#"{"effect":"ejectFailure","faultType":3,"device":"BJD60151","times":1}"#).unwrap();
        assert_eq!(r.effect, FaultEffect::EjectFailure { fault_type: RentalFailure::EjectFailed });
        assert_eq!(r.probability, 1.0);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["effect"], "ejectFailure");
        assert_eq!(v["faultType"], 3);
    }

    #[test]
    fn misplaced_filters_and_bad_values_are_named() {
        let mut r = rule(FaultEffect::DropPush);
        r.endpoint = Some("O2".into());
        r.probability = 1.5;
        let p = r.problems().join("; ");
        assert!(p.contains("endpoint applies only") && p.contains("probability"), "{p}");
        assert!(!rule(FaultEffect::HttpStatus { http_status: 700 }).problems().is_empty());
    }

    #[test]
    fn times_retire_a_rule_and_certain_rules_do_not_draw() {
        let mut w = World::empty(1);
        let mut r = rule(FaultEffect::Error { code: 5000, msg: "boom".into() });
        r.times = Some(2);
        w.add_fault_rule(r).unwrap();
        let rng_before = w.rng.clone();
        for _ in 0..2 {
            assert!(w.draw_request_faults(None, None, &|_| true).fail.is_some());
        }
        assert!(w.faults.rules.is_empty());
        assert!(w.draw_request_faults(None, None, &|_| true).fail.is_none());
        assert_eq!(w.rng, rng_before);
    }
}
