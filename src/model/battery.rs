//! Batteries and their charge model.
//!
//! Charge is never updated step by step. A battery stores the level it had at the moment its
//! mode last changed (docked, rented, loose) and the level at any later time is derived from
//! the elapsed time: a fleet of 100,000 cabinets costs nothing per step for charging.

pub use super::fault_types::BatteryFault;
use super::id::{AgentId, BatteryId, CabinetId, TradeNo};
use crate::clock::{Millis, MINUTE};
use serde::{Deserialize, Serialize};

/// Where a battery is. Every battery is in exactly one place (`/_sim/check` verifies it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum BatteryPlace {
    /// Docked in a cabinet slot (1-based), charging.
    Slot { cabinet: CabinetId, slot: u16 },
    /// Out with a customer on an open order, discharging.
    Rented { order: TradeNo },
    /// Out of any cabinet and any open order: popped for repair, or left with a customer after
    /// a closed or bought-out order. A return puts it back into the fleet.
    Loose,
}

/// The rates of the charge curve, in percent per minute.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ChargeModel {
    /// Charging below `taper_at` (fast phase).
    pub fast_per_min: f64,
    /// Level where charging slows down.
    pub taper_at: f64,
    /// Charging above `taper_at` (slow phase).
    pub slow_per_min: f64,
    /// Discharge while rented (the customer charges a phone).
    pub rented_drain_per_min: f64,
    /// Self-discharge while loose.
    pub idle_drain_per_min: f64,
}

impl Default for ChargeModel {
    fn default() -> Self {
        // 0 -> 80 % in 60 min, 80 -> 100 % in another 60 min; a phone top-up costs about
        // 20 % an hour; an idle pack loses about 1 % a day.
        ChargeModel {
            fast_per_min: 80.0 / 60.0,
            taper_at: 80.0,
            slow_per_min: 20.0 / 60.0,
            rented_drain_per_min: 20.0 / 60.0,
            idle_drain_per_min: 1.0 / 1440.0,
        }
    }
}

/// A power bank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Battery {
    /// Opaque upper-case id (`FECF007552`).
    pub id: BatteryId,
    /// The agent whose fleet it belongs to.
    pub agent: AgentId,
    /// Where it is now.
    pub place: BatteryPlace,
    /// Charge level in percent at `since`.
    pub level: f64,
    /// When `level` was last settled (a change of place, a fault, a set).
    pub since: Millis,
    /// Battery fault type, 0 when healthy.
    pub fault: BatteryFault,
    /// Charging stopped by an operator (`lockStopCharge`): the level holds while docked. Cleared
    /// when the battery leaves its slot or the slot is unlocked.
    #[serde(default)]
    pub charge_paused: bool,
}

impl Battery {
    /// The charge level in percent at `now`, derived from the level at the last change.
    pub fn level_at(&self, model: &ChargeModel, now: Millis) -> f64 {
        let mins = (now - self.since) as f64 / MINUTE as f64;
        if mins <= 0.0 {
            return self.level;
        }
        let l = self.level;
        match self.place {
            BatteryPlace::Slot { .. } if self.fault == BatteryFault::CannotCharge || self.charge_paused => l,
            BatteryPlace::Slot { .. } => {
                let (mut l, mut m) = (l, mins);
                if l < model.taper_at && model.fast_per_min > 0.0 {
                    let to_taper = (model.taper_at - l) / model.fast_per_min;
                    if m <= to_taper {
                        return l + m * model.fast_per_min;
                    }
                    l = model.taper_at;
                    m -= to_taper;
                }
                (l + m * model.slow_per_min).min(100.0)
            }
            BatteryPlace::Rented { .. } => (l - mins * model.rented_drain_per_min).max(0.0),
            BatteryPlace::Loose => (l - mins * model.idle_drain_per_min).max(0.0),
        }
    }

    /// The integer percentage clients see as `vol` (rounded down: 100 only when full).
    pub fn vol_at(&self, model: &ChargeModel, now: Millis) -> u8 {
        self.level_at(model, now).clamp(0.0, 100.0).floor() as u8
    }

    /// A time until which [`Self::vol_at`] keeps its value at `now`: for every `t` with
    /// `now <= t < until`, `vol_at(t) == vol_at(now)`. Always after `now`; `Millis::MAX` when
    /// the level no longer moves (full, empty, paused). Response caches use it to serve an
    /// O1 answer again until a `vol` in it would change.
    pub fn vol_steady_until(&self, model: &ChargeModel, now: Millis) -> Millis {
        if now < self.since {
            // Not reached in practice (levels are settled at the current time); the level
            // holds until `since` at least.
            return self.since;
        }
        let level = self.level_at(model, now);
        let vol = level.clamp(0.0, 100.0).floor();
        // The rate now and the level at which `vol` changes; charging above the taper is the
        // slow rate, below it the faster of the two (a crossing may only come later).
        let (rate, gap) = match self.place {
            BatteryPlace::Slot { .. } if self.fault == BatteryFault::CannotCharge || self.charge_paused => (0.0, 0.0),
            BatteryPlace::Slot { .. } if level >= 100.0 => (0.0, 0.0),
            BatteryPlace::Slot { .. } => {
                let rate = if level < model.taper_at {
                    model.fast_per_min.max(model.slow_per_min)
                } else {
                    model.slow_per_min
                };
                (rate, vol + 1.0 - level)
            }
            // Below 1 % a draining pack shows 0 until it is docked again.
            BatteryPlace::Rented { .. } | BatteryPlace::Loose if level < 1.0 => (0.0, 0.0),
            BatteryPlace::Rented { .. } => (model.rented_drain_per_min, level - vol),
            BatteryPlace::Loose => (model.idle_drain_per_min, level - vol),
        };
        if rate.is_nan() || rate <= 0.0 {
            return Millis::MAX;
        }
        let mut until = now.saturating_add((gap / rate * MINUTE as f64).floor() as Millis);
        // The level is monotonic within a phase, so an equal `vol` at the last instant means
        // an equal `vol` throughout; halve the span if rounding made the estimate too long.
        let at_now = self.vol_at(model, now);
        while until > now + 1 && self.vol_at(model, until - 1) != at_now {
            until = now + (until - now) / 2;
        }
        until.max(now + 1)
    }

    /// Move the battery, settling its level first so the curve continues from here.
    pub fn move_to(&mut self, place: BatteryPlace, model: &ChargeModel, now: Millis) {
        self.settle(model, now);
        self.place = place;
        // A pause belongs to the slot it was docked in, not to the battery.
        self.charge_paused = false;
    }

    /// Fix the derived level at `now` as the new starting point.
    pub fn settle(&mut self, model: &ChargeModel, now: Millis) {
        self.level = self.level_at(model, now);
        self.since = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docked(level: f64) -> Battery {
        Battery {
            id: "B".into(),
            agent: "a".into(),
            place: BatteryPlace::Slot { cabinet: "C".into(), slot: 1 },
            level,
            since: 0,
            fault: BatteryFault::None,
            charge_paused: false,
        }
    }

    #[test]
    fn charging_tapers_after_eighty_percent() {
        let m = ChargeModel::default();
        let b = docked(20.0);
        // 45 min at 4/3 %/min: 20 -> 80.
        assert!((b.level_at(&m, 45 * MINUTE) - 80.0).abs() < 1e-9);
        // 30 more minutes in the slow phase: +10 %.
        assert!((b.level_at(&m, 75 * MINUTE) - 90.0).abs() < 1e-9);
        assert_eq!(b.vol_at(&m, 10 * 60 * MINUTE), 100);
    }

    #[test]
    fn vol_holds_until_its_steady_time() {
        let m = ChargeModel::default();
        let mut batteries = Vec::new();
        for level in [0.0, 0.5, 12.0, 12.25, 79.9, 80.0, 99.99, 100.0] {
            batteries.push(docked(level));
            let mut r = docked(level);
            r.place = BatteryPlace::Rented { order: "T".into() };
            batteries.push(r.clone());
            r.place = BatteryPlace::Loose;
            batteries.push(r.clone());
            let mut p = docked(level);
            p.charge_paused = true;
            batteries.push(p);
        }
        for b in &batteries {
            for now in [0, 1, 59_999, 7 * MINUTE + 123, 200 * MINUTE] {
                let until = b.vol_steady_until(&m, now);
                assert!(until > now, "{b:?} at {now}");
                let v = b.vol_at(&m, now);
                if until < Millis::MAX {
                    // Tight enough to matter: the value changes at `until` or soon after.
                    assert_eq!(b.vol_at(&m, until - 1), v, "{b:?} at {now}");
                    assert!(b.vol_at(&m, until + MINUTE) != v || until - now > MINUTE, "{b:?} at {now}");
                } else {
                    assert_eq!(b.vol_at(&m, now + 1000 * MINUTE), v, "{b:?} at {now}");
                }
                for k in 0..50 {
                    let t = now + (until.min(now + 1000 * MINUTE) - now) * k / 50;
                    assert_eq!(b.vol_at(&m, t), v, "{b:?} at {t} (steady from {now} until {until})");
                }
            }
        }
    }

    #[test]
    fn rented_batteries_drain_and_faulty_ones_do_not_charge() {
        let m = ChargeModel::default();
        let mut b = docked(90.0);
        b.move_to(BatteryPlace::Rented { order: "T".into() }, &m, 0);
        assert!((b.level_at(&m, 60 * MINUTE) - 70.0).abs() < 1e-9);
        assert_eq!(b.vol_at(&m, 100 * 60 * MINUTE), 0);
        let mut f = docked(50.0);
        f.fault = BatteryFault::CannotCharge;
        assert_eq!(f.vol_at(&m, 600 * MINUTE), 50);
    }
}
