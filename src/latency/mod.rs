//! Answer-time profiles: how long the simulator holds each platform operation's answer back,
//! so a load test exercises its client's connection pools and timeouts as production would.
//!
//! A profile is per operation id (`O1`, `C7`, ...; `*` for every operation without its own):
//! `none` (the default), `fixed` (always the same wait) or `lognormal` (given by its median
//! and its 99th percentile, the two figures a production dashboard shows). Profiles come from
//! `--latency`, from a fixture's `latency` object and from `POST /_sim/latency`; a reset goes
//! back to the ones the simulator started with.
//!
//! Waits are seeded: each operation draws from its own generator, seeded from the simulator's
//! seed and the operation id, so the n-th O1 request of a run waits the same as the n-th O1
//! request of the next run with the same seed (which request is n-th depends on arrival order
//! when requests overlap). A draw takes a small mutex of its own, never the world lock; the
//! wait itself is an async sleep on the worker's runtime (`metrics::observe`), so held
//! answers cost a timer each and no thread.

use crate::model::SimRng;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Longest wait a profile may ask for, and the cap of a single log-normal draw: ten minutes.
/// Any client timeout worth testing is shorter.
pub const MAX_MS: f64 = 600_000.0;

/// The key of the profile every operation without its own uses.
pub const ANY: &str = "*";

/// The 99th percentile of the standard normal distribution: `p99 = median * exp(Z99 * sigma)`.
const Z99: f64 = 2.326_347_874_040_841;

/// One operation's answer-time distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Profile {
    /// No added wait.
    None,
    /// Always `ms` milliseconds.
    Fixed {
        /// The wait.
        ms: f64,
    },
    /// Log-normal with this median and 99th percentile, milliseconds.
    Lognormal {
        /// Half the answers wait less than this.
        median_ms: f64,
        /// 99 % of the answers wait less than this.
        p99_ms: f64,
    },
}

impl Profile {
    /// Check the figures; the error names the offending one.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let in_range = |name: &'static str, v: f64, lo: f64| {
            if v.is_finite() && (lo..=MAX_MS).contains(&v) {
                Ok(())
            } else {
                Err((name, format!("{v} is outside {lo}..{MAX_MS} milliseconds")))
            }
        };
        match *self {
            Profile::None => Ok(()),
            Profile::Fixed { ms } => in_range("ms", ms, 0.0),
            Profile::Lognormal { median_ms, p99_ms } => {
                // A median of 0 has no logarithm; a hundredth of a millisecond is no wait anyway.
                in_range("medianMs", median_ms, 0.01)?;
                in_range("p99Ms", p99_ms, 0.01)?;
                if p99_ms < median_ms {
                    return Err(("p99Ms", format!("{p99_ms} is below medianMs {median_ms}")));
                }
                Ok(())
            }
        }
    }

    /// One wait drawn with `rng` (also the benchmark yardstick's, `bench-baseline`).
    pub fn draw(&self, rng: &mut SimRng) -> Duration {
        let ms = match *self {
            Profile::None => 0.0,
            Profile::Fixed { ms } => ms,
            Profile::Lognormal { median_ms, p99_ms } => {
                let sigma = (p99_ms / median_ms).ln() / Z99;
                // Box-Muller: one standard normal from two uniforms; 1 - u keeps ln away from 0.
                let (u1, u2) = (1.0 - rng.unit(), rng.unit());
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                median_ms * (sigma * z).exp()
            }
        };
        Duration::from_secs_f64(ms.clamp(0.0, MAX_MS) / 1000.0)
    }

    /// Parse the command-line form: `none`, `fixed:MS` or `lognormal:MEDIAN_MS:P99_MS`.
    pub fn parse(text: &str) -> Result<Profile, String> {
        let parts: Vec<&str> = text.trim().split(':').map(str::trim).collect();
        let num = |s: &str| s.parse::<f64>().map_err(|_| format!("'{s}' is not a number of milliseconds"));
        let p = match parts.as_slice() {
            ["none"] => Profile::None,
            ["fixed", ms] => Profile::Fixed { ms: num(ms)? },
            ["lognormal", m, p] => Profile::Lognormal { median_ms: num(m)?, p99_ms: num(p)? },
            _ => return Err(format!("'{text}' is not none, fixed:MS or lognormal:MEDIAN_MS:P99_MS")),
        };
        p.validate().map_err(|(name, why)| format!("{name}: {why}"))?;
        Ok(p)
    }
}

/// An operation id as written by a user (`o1`, ` O1 `) in its canonical form, if it is one.
pub fn canonical(op: &str) -> Option<String> {
    let op = op.trim().to_ascii_uppercase();
    (op == ANY || crate::operations::is_operation(&op)).then_some(op)
}

/// Parse `--latency`: comma-separated `OP=PROFILE` items, e.g.
/// `O1=lognormal:80:400,O2=fixed:1200,*=fixed:50`.
pub fn parse_spec(spec: &str) -> Result<BTreeMap<String, Profile>, String> {
    let mut out = BTreeMap::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (op, profile) = item.split_once('=').ok_or_else(|| format!("'{item}' is not OPERATION=PROFILE"))?;
        let key = canonical(op)
            .ok_or_else(|| format!("'{}' is not an operation id (O1..O7, C1..C13, ...) or *", op.trim()))?;
        out.insert(key, Profile::parse(profile).map_err(|e| format!("{}: {e}", op.trim()))?);
    }
    Ok(out)
}

/// Parse a fixture's `latency` object: `{"O1": {"kind": "lognormal", "medianMs": 80,
/// "p99Ms": 400}, "*": {"kind": "fixed", "ms": 50}}`.
pub fn parse_fixture(value: &serde_json::Value) -> Result<BTreeMap<String, Profile>, String> {
    let map = value.as_object().ok_or("latency: expected an object of operation id -> profile")?;
    let mut out = BTreeMap::new();
    for (op, v) in map {
        let key = canonical(op).ok_or_else(|| format!("latency: '{op}' is not an operation id or *"))?;
        let p: Profile = serde_json::from_value(v.clone()).map_err(|e| format!("latency.{op}: {e}"))?;
        p.validate().map_err(|(name, why)| format!("latency.{op}.{name}: {why}"))?;
        out.insert(key, p);
    }
    Ok(out)
}

/// A profile in force and its generator.
#[derive(Debug)]
struct Slot {
    profile: Profile,
    rng: SimRng,
}

/// The profiles in force. Cheap when none is set: one atomic load per request.
#[derive(Debug)]
pub struct Latency {
    seed: u64,
    start: BTreeMap<String, Profile>,
    any: AtomicBool,
    slots: Mutex<BTreeMap<String, Slot>>,
}

/// A stable 64-bit mix of an operation id, so each operation's generator has its own stream.
fn key_hash(op: &str) -> u64 {
    op.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

impl Latency {
    /// The profiles `start` (from the flag and the fixtures), seeded from `seed`.
    pub fn new(seed: u64, start: BTreeMap<String, Profile>) -> Self {
        let l = Latency { seed, start, any: AtomicBool::new(false), slots: Mutex::new(BTreeMap::new()) };
        l.reset();
        l
    }

    /// Back to the profiles the simulator started with, their generators from the start.
    pub fn reset(&self) {
        let mut slots = self.slots.lock();
        slots.clear();
        for (op, p) in &self.start {
            if *p != Profile::None {
                slots.insert(op.clone(), Slot { profile: *p, rng: SimRng::new(self.seed ^ key_hash(op)) });
            }
        }
        self.any.store(!slots.is_empty(), Ordering::Release);
    }

    /// Set `op`'s profile (`None` removes it); its generator starts again from the seed.
    pub fn set(&self, op: &str, profile: Profile) {
        let mut slots = self.slots.lock();
        if profile == Profile::None {
            slots.remove(op);
        } else {
            slots.insert(op.to_string(), Slot { profile, rng: SimRng::new(self.seed ^ key_hash(op)) });
        }
        self.any.store(!slots.is_empty(), Ordering::Release);
    }

    /// Remove every profile.
    pub fn clear(&self) {
        self.slots.lock().clear();
        self.any.store(false, Ordering::Release);
    }

    /// The profiles in force, by operation.
    pub fn profiles(&self) -> BTreeMap<String, Profile> {
        self.slots.lock().iter().map(|(op, s)| (op.clone(), s.profile)).collect()
    }

    /// The wait for the next answer of operation `op`, if its profile (or `*`'s) asks for one.
    pub fn draw(&self, op: &str) -> Option<Duration> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let mut slots = self.slots.lock();
        let slot = if slots.contains_key(op) { slots.get_mut(op) } else { slots.get_mut(ANY) }?;
        let d = slot.profile.draw(&mut slot.rng);
        (!d.is_zero()).then_some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lognormal_profile_meets_its_median_and_p99() {
        let p = Profile::Lognormal { median_ms: 100.0, p99_ms: 800.0 };
        let mut rng = SimRng::new(3);
        let mut v: Vec<f64> = (0..20_000).map(|_| p.draw(&mut rng).as_secs_f64() * 1000.0).collect();
        v.sort_by(f64::total_cmp);
        let (median, p99) = (v[v.len() / 2], v[v.len() * 99 / 100]);
        assert!((90.0..110.0).contains(&median), "median {median}");
        assert!((700.0..920.0).contains(&p99), "p99 {p99}");
    }

    #[test]
    fn draws_are_seeded_per_operation_and_restart_on_reset() {
        let start = parse_spec("O1=lognormal:50:500, *=fixed:7").unwrap();
        let a = Latency::new(9, start.clone());
        let first: Vec<_> = (0..5).map(|_| a.draw("O1")).collect();
        assert_eq!(a.draw("C7"), Some(Duration::from_millis(7)), "the default profile");
        let b = Latency::new(9, start);
        assert_eq!(first, (0..5).map(|_| b.draw("O1")).collect::<Vec<_>>());
        a.reset();
        assert_eq!(first, (0..5).map(|_| a.draw("O1")).collect::<Vec<_>>());
        a.set("O1", Profile::None);
        assert_eq!(a.draw("O1"), Some(Duration::from_millis(7)));
        a.clear();
        assert_eq!(a.draw("O1"), None);
    }

    #[test]
    fn bad_specs_name_what_is_wrong() {
        assert!(parse_spec("Z9=fixed:1").unwrap_err().contains("'Z9' is not an operation id"));
        assert!(parse_spec("O1=fixed").unwrap_err().contains("not none, fixed:MS"));
        assert!(parse_spec("O1=lognormal:100:50").unwrap_err().contains("p99Ms"));
        assert!(parse_spec("O1=fixed:-1").unwrap_err().contains("ms:"));
        assert!(parse_spec("o1=none").unwrap()["O1"] == Profile::None);
        let fx = serde_json::json!({ "c7": { "kind": "lognormal", "medianMs": 5, "p99Ms": 9 } });
        assert_eq!(parse_fixture(&fx).unwrap()["C7"], Profile::Lognormal { median_ms: 5.0, p99_ms: 9.0 });
        let bad = serde_json::json!({ "O1": { "kind": "fixed", "ms": 1e9 } });
        assert!(parse_fixture(&bad).unwrap_err().contains("latency.O1.ms"));
    }
}
