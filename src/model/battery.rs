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
///
/// Saved as an internally tagged object (`{"kind":"slot","cabinet":"BAA00000","slot":1}`,
/// `{"kind":"rented","order":"..."}`, `{"kind":"loose"}`); read back by a hand-written
/// visitor (below) rather than serde's derive, which buffers every such object into a
/// generic tree before it knows the variant: 1.5 million batteries paid that on every restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

impl<'de> Deserialize<'de> for BatteryPlace {
    /// The fields in any order, `kind` included; fields no variant has are ignored, as the
    /// derived reader did (fields of another variant are read by their type, then ignored).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PlaceVisitor)
    }
}

/// Reads a [`BatteryPlace`] from its fields as they come.
struct PlaceVisitor;

impl<'de> serde::de::Visitor<'de> for PlaceVisitor {
    type Value = BatteryPlace;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a battery place (an object with `kind` slot, rented or loose)")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<BatteryPlace, A::Error> {
        use serde::de::Error;
        let (mut kind, mut cabinet, mut slot, mut order) = (None::<PlaceKind>, None, None, None);
        while let Some(key) = m.next_key::<PlaceField>()? {
            match key {
                PlaceField::Kind if kind.is_some() => return Err(A::Error::duplicate_field("kind")),
                PlaceField::Kind => kind = Some(m.next_value()?),
                PlaceField::Cabinet if cabinet.is_some() => return Err(A::Error::duplicate_field("cabinet")),
                PlaceField::Cabinet => cabinet = Some(m.next_value::<CabinetId>()?),
                PlaceField::Slot if slot.is_some() => return Err(A::Error::duplicate_field("slot")),
                PlaceField::Slot => slot = Some(m.next_value::<u16>()?),
                PlaceField::Order if order.is_some() => return Err(A::Error::duplicate_field("order")),
                PlaceField::Order => order = Some(m.next_value::<TradeNo>()?),
                PlaceField::Other => {
                    m.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        match kind.ok_or_else(|| A::Error::missing_field("kind"))? {
            PlaceKind::Slot => Ok(BatteryPlace::Slot {
                cabinet: cabinet.ok_or_else(|| A::Error::missing_field("cabinet"))?,
                slot: slot.ok_or_else(|| A::Error::missing_field("slot"))?,
            }),
            PlaceKind::Rented => {
                Ok(BatteryPlace::Rented { order: order.ok_or_else(|| A::Error::missing_field("order"))? })
            }
            PlaceKind::Loose => Ok(BatteryPlace::Loose),
        }
    }
}

/// The `kind` of a saved [`BatteryPlace`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
enum PlaceKind {
    Slot,
    Rented,
    Loose,
}

/// A field name of a saved [`BatteryPlace`].
enum PlaceField {
    Kind,
    Cabinet,
    Slot,
    Order,
    Other,
}

impl<'de> Deserialize<'de> for PlaceField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Names;
        impl serde::de::Visitor<'_> for Names {
            type Value = PlaceField;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PlaceField, E> {
                Ok(match v {
                    "kind" => PlaceField::Kind,
                    "cabinet" => PlaceField::Cabinet,
                    "slot" => PlaceField::Slot,
                    "order" => PlaceField::Order,
                    _ => PlaceField::Other,
                })
            }
        }
        d.deserialize_identifier(Names)
    }
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

    /// Whether [`Self::vol_at`] is at least `min` at `now`. A docked battery charging at
    /// rates that are not negative never loses charge, so one docked at `min` or more already
    /// is answered without the charge curve: rentable counts ask this of every docked battery
    /// of every cabinet on a device page.
    pub fn vol_at_least(&self, model: &ChargeModel, now: Millis, min: u8) -> bool {
        AtLeast::new(model, now, min).holds(self)
    }

    /// A time until which [`Self::vol_at`] keeps its value at `now`: for every `t` with
    /// `now <= t < until`, `vol_at(t) == vol_at(now)`. Always after `now`; `Millis::MAX` when
    /// the level no longer moves (full, empty, paused). Response caches use it to serve an
    /// O1 answer again until a `vol` in it would change.
    pub fn vol_steady_until(&self, model: &ChargeModel, now: Millis) -> Millis {
        self.vol_and_steady_until(model, now).1
    }

    /// [`Self::vol_at`] and [`Self::vol_steady_until`] at `now`, the level worked out once
    /// (O1 wants both for every docked battery).
    pub fn vol_and_steady_until(&self, model: &ChargeModel, now: Millis) -> (u8, Millis) {
        if now < self.since {
            // Not reached in practice (levels are settled at the current time); the level
            // holds until `since` at least.
            return (self.vol_at(model, now), self.since);
        }
        let level = self.level_at(model, now);
        let vol = level.clamp(0.0, 100.0).floor();
        // `vol_at(now)`, from the level just computed.
        let at_now = vol as u8;
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
            return (at_now, Millis::MAX);
        }
        let mut until = now.saturating_add((gap / rate * MINUTE as f64).floor() as Millis);
        // The level is monotonic within a phase, so an equal `vol` at the last instant means
        // an equal `vol` throughout; halve the span if rounding made the estimate too long.
        while until > now + 1 && self.vol_at(model, until - 1) != at_now {
            until = now + (until - now) / 2;
        }
        (at_now, until.max(now + 1))
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

/// [`Battery::vol_at_least`] asked of many batteries under one charge model, time and bound:
/// what depends only on those is worked out once. A device page asks it of some 350 docked
/// batteries, and the per-battery model checks were a fifth of its slot counts.
#[derive(Debug, Clone, Copy)]
pub struct AtLeast<'m> {
    model: &'m ChargeModel,
    now: Millis,
    min: u8,
    /// `min` as a level.
    floor: f64,
    /// Docked batteries never lose charge under this model.
    never_lose: bool,
}

impl<'m> AtLeast<'m> {
    /// The question "is the charge at least `min` at `now`" under `model`.
    pub fn new(model: &'m ChargeModel, now: Millis, min: u8) -> Self {
        AtLeast {
            model,
            now,
            min,
            floor: f64::from(min),
            never_lose: model.fast_per_min >= 0.0 && model.slow_per_min >= 0.0,
        }
    }

    /// Whether `b`'s charge is at least the bound at the time (see [`Battery::vol_at_least`]).
    pub fn holds(&self, b: &Battery) -> bool {
        if self.never_lose && b.level >= self.floor && matches!(b.place, BatteryPlace::Slot { .. }) {
            return true;
        }
        b.vol_at(self.model, self.now) >= self.min
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
    fn vol_at_least_answers_as_the_charge_curve_does() {
        let models = [
            ChargeModel::default(),
            ChargeModel { slow_per_min: 0.0, ..ChargeModel::default() },
            ChargeModel { fast_per_min: -1.0, slow_per_min: -0.5, ..ChargeModel::default() },
            ChargeModel { taper_at: 150.0, ..ChargeModel::default() },
        ];
        for m in &models {
            for level in [-3.0, 0.0, 0.5, 19.99, 20.0, 20.01, 79.9, 80.0, 99.99, 100.0, 104.0] {
                let mut all = vec![docked(level)];
                let mut r = docked(level);
                r.place = BatteryPlace::Rented { order: "T".into() };
                all.push(r.clone());
                r.place = BatteryPlace::Loose;
                all.push(r);
                let mut p = docked(level);
                p.charge_paused = true;
                all.push(p);
                for b in &all {
                    for now in [0, 1, 59_999, 7 * MINUTE + 123, 200 * MINUTE, 100_000 * MINUTE] {
                        for min in [0, 1, 19, 20, 21, 80, 100] {
                            assert_eq!(b.vol_at_least(m, now, min), b.vol_at(m, now) >= min, "{b:?} {m:?} {now} {min}");
                            assert_eq!(AtLeast::new(m, now, min).holds(b), b.vol_at(m, now) >= min, "{b:?} {m:?}");
                        }
                    }
                }
            }
        }
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
                assert_eq!(b.vol_and_steady_until(&m, now), (v, until), "{b:?} at {now}");
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

    #[test]
    fn places_read_back_whatever_the_field_order_and_bad_ones_are_named() {
        for place in [
            BatteryPlace::Slot { cabinet: "BAA00001".into(), slot: 7 },
            BatteryPlace::Rented { order: "261130120000000001".into() },
            BatteryPlace::Loose,
        ] {
            let text = serde_json::to_string(&place).unwrap();
            assert_eq!(serde_json::from_str::<BatteryPlace>(&text).unwrap(), place, "{text}");
        }
        let read = |t: &str| serde_json::from_str::<BatteryPlace>(t).map_err(|e| e.to_string());
        assert_eq!(
            read(r#"{"slot":3,"extra":[1,{"a":2}],"cabinet":"C","kind":"slot"}"#),
            Ok(BatteryPlace::Slot { cabinet: "C".into(), slot: 3 })
        );
        assert_eq!(read(r#"{"kind":"loose","cabinet":"C"}"#), Ok(BatteryPlace::Loose));
        assert!(read(r#"{"kind":"docked"}"#).unwrap_err().contains("unknown variant `docked`"));
        assert!(read(r#"{"kind":"slot","slot":3}"#).unwrap_err().contains("missing field `cabinet`"));
        assert!(read(r#"{"kind":"rented"}"#).unwrap_err().contains("missing field `order`"));
        assert!(read(r#"{"cabinet":"C","slot":1}"#).unwrap_err().contains("missing field `kind`"));
        assert!(read(r#"{"kind":"slot","cabinet":"C","slot":"1"}"#).unwrap_err().contains("invalid type"));
        assert!(read(r#"{"kind":"slot","kind":"slot"}"#).unwrap_err().contains("duplicate field `kind`"));
        assert!(read(r#""slot""#).unwrap_err().contains("battery place"));
    }
}
