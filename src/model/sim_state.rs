//! The simulation's rates and schedule, kept inside the world so snapshots carry them.
//!
//! `model/sim/` reads and writes these; the model only defines them. The schedule is a time-ordered
//! set of tasks: a handful of fleet-wide processes (customer arrivals, heartbeats, outages,
//! faults), each of which re-schedules itself, plus one task per thing in flight (a customer
//! who will return a battery, a POS terminal that will come back, a fault that will be
//! repaired). A step pops what is due, so its cost follows the activity, not the fleet size.

use super::fault_types::{BatteryFault, SlotFault};
use super::id::CabinetId;
use crate::clock::Millis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Rates and shapes of the simulated activity (`sim` in fixture files, `/_sim/sim`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SimSettings {
    /// Customer rentals per cabinet per hour at demand factor 1.
    pub rents_per_cabinet_hour: f64,
    /// Demand factor for each hour of the virtual day (24 values, interpolated linearly).
    pub demand_curve: Vec<f64>,
    /// Median rental duration in minutes (log-normal).
    pub rental_median_minutes: f64,
    /// Spread of the log-normal rental duration (sigma of its logarithm).
    pub rental_sigma: f64,
    /// Shortest rental, minutes.
    pub rental_min_minutes: f64,
    /// Longest rental that is returned, minutes.
    pub rental_max_minutes: f64,
    /// Share of rentals whose battery is never returned (bought out at the timeout).
    pub never_return_share: f64,
    /// Share of returns into the cabinet the battery came from; the rest go to a nearby one.
    pub same_cabinet_share: f64,
    /// How far "nearby" reaches, metres.
    pub nearby_radius_m: f64,
    /// A customer who finds no cabinet to return into tries again after this many minutes.
    pub return_retry_minutes: f64,
    /// Callback URL given to simulated customers' orders (none by default).
    pub customer_callback_url: Option<String>,
    /// Seconds between two CABINET_STATUS reports of one cabinet (0: none).
    pub heartbeat_seconds: f64,
    /// Connection losses per cabinet per day.
    pub outages_per_cabinet_day: f64,
    /// Mean length of a connection loss, minutes (exponential).
    pub outage_minutes: f64,
    /// POS terminal disconnections per terminal per day.
    pub pos_outages_per_day: f64,
    /// Mean length of a POS disconnection, minutes (exponential).
    pub pos_outage_minutes: f64,
    /// Faults per docked battery per day.
    pub battery_faults_per_battery_day: f64,
    /// Faults per slot per day.
    pub slot_faults_per_slot_day: f64,
    /// Battery fault types drawn from (1..11, listed in docs/api-reference.md).
    pub battery_fault_types: Vec<BatteryFault>,
    /// Slot fault types drawn from (1..8, listed in docs/api-reference.md).
    pub slot_fault_types: Vec<SlotFault>,
    /// Mean time until a technician clears a simulated fault, hours (0: never).
    pub repair_hours: f64,
    /// Finished simulated-customer orders are forgotten this many hours after they end
    /// (0: kept for ever), so a long run of a large fleet keeps a bounded order book.
    pub order_retention_hours: f64,
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            rents_per_cabinet_hour: 0.5,
            // Quiet nights, a morning ramp, peaks at lunch (12-13 h) and in the evening (18-20 h).
            demand_curve: vec![
                0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 0.9, 1.0, 1.0, 1.3, 1.8, 1.7, 1.1, 1.0, 1.1, 1.4, 1.8, 1.9,
                1.6, 1.1, 0.7, 0.4,
            ],
            rental_median_minutes: 45.0,
            rental_sigma: 0.6,
            rental_min_minutes: 5.0,
            rental_max_minutes: 720.0,
            never_return_share: 0.02,
            same_cabinet_share: 0.35,
            nearby_radius_m: 2000.0,
            return_retry_minutes: 30.0,
            customer_callback_url: None,
            heartbeat_seconds: 600.0,
            outages_per_cabinet_day: 2.0,
            outage_minutes: 8.0,
            pos_outages_per_day: 12.0,
            pos_outage_minutes: 10.0,
            battery_faults_per_battery_day: 0.02,
            slot_faults_per_slot_day: 0.002,
            battery_fault_types: vec![
                BatteryFault::PhantomCharge,
                BatteryFault::LightningCable,
                BatteryFault::UsbCable,
                BatteryFault::TypeCCable,
                BatteryFault::Swelling,
                BatteryFault::CannotCharge,
                BatteryFault::HealthBelowStandard,
            ],
            slot_fault_types: vec![
                SlotFault::AuthorisationFailed,
                SlotFault::CannotEject,
                SlotFault::CannotRecogniseId,
                SlotFault::InsertionSwitchFailed,
                SlotFault::CannotLock,
            ],
            repair_hours: 8.0,
            order_retention_hours: 24.0,
        }
    }
}

impl SimSettings {
    /// Every unusable value, in words; empty when the settings can run.
    pub fn problems(&self) -> Vec<String> {
        let mut v = Vec::new();
        let rates = [
            ("rentsPerCabinetHour", self.rents_per_cabinet_hour),
            ("rentalMedianMinutes", self.rental_median_minutes),
            ("rentalSigma", self.rental_sigma),
            ("rentalMinMinutes", self.rental_min_minutes),
            ("rentalMaxMinutes", self.rental_max_minutes),
            ("nearbyRadiusM", self.nearby_radius_m),
            ("returnRetryMinutes", self.return_retry_minutes),
            ("heartbeatSeconds", self.heartbeat_seconds),
            ("outagesPerCabinetDay", self.outages_per_cabinet_day),
            ("outageMinutes", self.outage_minutes),
            ("posOutagesPerDay", self.pos_outages_per_day),
            ("posOutageMinutes", self.pos_outage_minutes),
            ("batteryFaultsPerBatteryDay", self.battery_faults_per_battery_day),
            ("slotFaultsPerSlotDay", self.slot_faults_per_slot_day),
            ("repairHours", self.repair_hours),
            ("orderRetentionHours", self.order_retention_hours),
        ];
        for (name, x) in rates {
            if !(x.is_finite() && (0.0..=1.0e9).contains(&x)) {
                v.push(format!("{name} must be a non-negative number, got {x}"));
            }
        }
        for (name, x) in [("neverReturnShare", self.never_return_share), ("sameCabinetShare", self.same_cabinet_share)]
        {
            if !(x.is_finite() && (0.0..=1.0).contains(&x)) {
                v.push(format!("{name} must be between 0 and 1, got {x}"));
            }
        }
        if self.rental_min_minutes > self.rental_max_minutes {
            v.push("rentalMinMinutes must not exceed rentalMaxMinutes".into());
        }
        if self.return_retry_minutes < 1.0 {
            v.push("returnRetryMinutes must be at least 1".into());
        }
        if self.demand_curve.len() != 24 {
            v.push(format!("demandCurve must have 24 values (one per hour), got {}", self.demand_curve.len()));
        } else if self.demand_curve.iter().any(|x| !(x.is_finite() && *x >= 0.0)) {
            v.push("demandCurve values must be non-negative numbers".into());
        }
        // Numbers outside the vocabularies are refused when read; 0 is no fault to draw.
        if self.battery_fault_types.iter().any(|t| t.is_none()) {
            v.push(format!("batteryFaultTypes must be within 1..{}", BatteryFault::MAX));
        }
        if self.slot_fault_types.iter().any(|t| t.is_none()) {
            v.push(format!("slotFaultTypes must be within 1..{}", SlotFault::MAX));
        }
        if let Some(u) = self.customer_callback_url.as_deref() {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                v.push("customerCallbackUrl must be an http(s) URL".into());
            }
        }
        v
    }

    /// The demand factor at `minute_of_day` (0..1440), interpolated between hourly values.
    pub fn demand_at(&self, minute_of_day: i64) -> f64 {
        let n = self.demand_curve.len();
        if n == 0 {
            return 0.0;
        }
        let h = (minute_of_day.rem_euclid(1440) as f64) / 60.0 * (n as f64 / 24.0);
        let i = h.floor() as usize % n;
        let frac = h - h.floor();
        let (a, b) = (self.demand_curve[i], self.demand_curve[(i + 1) % n]);
        a + (b - a) * frac
    }

    /// The highest demand factor of the day (the thinning bound of customer arrivals).
    pub fn demand_max(&self) -> f64 {
        self.demand_curve.iter().copied().fold(0.0, f64::max)
    }
}

/// One scheduled piece of simulated activity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "target", rename_all = "camelCase")]
pub enum SimTask {
    /// The next customer arrival somewhere in the fleet.
    Rent,
    /// The next CABINET_STATUS report (cabinets take turns).
    Heartbeat,
    /// The next connection loss somewhere in the fleet.
    Outage,
    /// The next POS terminal disconnection.
    PosOutage,
    /// The next battery fault.
    BatteryFault,
    /// The next slot fault.
    SlotFault,
    /// A customer brings back the battery of this order.
    Return(String),
    /// This cabinet's POS terminal reconnects.
    PosOnline(String),
    /// A technician clears this battery's fault.
    RepairBattery(String),
    /// A technician clears the fault of this cabinet's slot.
    RepairSlot(String, u16),
    /// Forget this finished customer order.
    Forget(String),
}

impl SimTask {
    /// Whether this is one of the fleet-wide processes (re-seeded when the rates change).
    pub fn is_process(&self) -> bool {
        matches!(
            self,
            SimTask::Rent
                | SimTask::Heartbeat
                | SimTask::Outage
                | SimTask::PosOutage
                | SimTask::BatteryFault
                | SimTask::SlotFault
        )
    }
}

/// Running totals of what the simulation did, for `/_sim/sim` and the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SimStats {
    /// Orders simulated customers created.
    pub rentals: u64,
    /// Customers who found nothing to rent (cabinet offline or without a rentable battery).
    pub walk_aways: u64,
    /// Batteries simulated customers brought back.
    pub returns: u64,
    /// Returns into another cabinet than the one rented from.
    pub returns_elsewhere: u64,
    /// Customers who found no cabinet to return into and came back later.
    pub return_retries: u64,
    /// Rentals that will never come back.
    pub never_returned: u64,
    /// CABINET_STATUS reports.
    pub heartbeats: u64,
    /// Connection losses.
    pub outages: u64,
    /// POS disconnections.
    pub pos_outages: u64,
    /// Battery faults raised.
    pub battery_faults: u64,
    /// Slot faults raised.
    pub slot_faults: u64,
    /// Faults cleared by a technician.
    pub repairs: u64,
    /// Customer orders forgotten after their retention.
    pub forgotten_orders: u64,
}

/// Look-up tables derived from the world (which cabinet is where), rebuilt on demand and
/// never saved: they follow from the cabinets and shops.
#[derive(Debug, Clone, Default)]
pub struct SimIndex {
    /// When it was built, `None` before the first build.
    pub built_at: Option<Millis>,
    /// Cabinet and shop counts it was built from.
    pub fingerprint: (usize, usize),
    /// Cabinet ids in id order (inline strings: a rebuild copies 100,000 of them under the
    /// world lock, without an allocation each).
    pub cabinets: Vec<CabinetId>,
    /// `slot_prefix[i]`: slots of cabinets `0..=i` (weighted picks of a slot).
    pub slot_prefix: Vec<u64>,
    /// Indices of cabinets with a POS terminal.
    pub pos: Vec<usize>,
}

impl PartialEq for SimIndex {
    /// A cache: two worlds that differ only in their look-up tables are the same world.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The simulation's part of the world: its settings, schedule and counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SimState {
    /// Rates.
    pub settings: SimSettings,
    /// Whether the fleet-wide processes have been seeded.
    pub started: bool,
    /// What is due when, in time order.
    pub queue: BTreeSet<(Millis, SimTask)>,
    /// The cabinet that reported status last (heartbeats go round in id order).
    pub heartbeat_cursor: Option<super::id::CabinetId>,
    /// Running totals.
    pub stats: SimStats,
    /// Derived look-up tables, shared between copies of the world (a copy for a snapshot
    /// should not pay for them).
    #[serde(skip)]
    pub index: Arc<SimIndex>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_settings_are_valid_and_peak_at_lunch_and_evening() {
        let s = SimSettings::default();
        assert!(s.problems().is_empty(), "{:?}", s.problems());
        assert!(s.demand_at(12 * 60 + 30) > s.demand_at(10 * 60));
        assert!(s.demand_at(19 * 60) > s.demand_at(15 * 60));
        assert!(s.demand_at(3 * 60) < 0.1);
        assert!((s.demand_at(9 * 60) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn bad_settings_are_named() {
        let s = SimSettings { never_return_share: 2.0, demand_curve: vec![1.0], ..SimSettings::default() };
        let p = s.problems().join("; ");
        assert!(p.contains("neverReturnShare") && p.contains("demandCurve"), "{p}");
    }
}
