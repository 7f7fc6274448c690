//! Money as whole cents, so billing never meets floating-point drift.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in minor units (cents) of the order's currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(pub i64);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// From a major-unit amount (e.g. `1.5` EUR); rounds to the nearest cent. `None` for
    /// non-finite, negative or absurdly large values.
    pub fn from_major(v: f64) -> Option<Money> {
        if !v.is_finite() || !(0.0..=1.0e12).contains(&v) {
            return None;
        }
        Some(Money((v * 100.0).round() as i64))
    }

    /// The amount in major units.
    pub fn major(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// Whether the amount is a whole number of major units (written `30`, never `30.0`).
    pub fn is_whole(self) -> bool {
        self.0 % 100 == 0
    }
}

impl fmt::Display for Money {
    /// Two decimals, as the platform's string amounts (`"1.50"`, `"-0.50"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The sign is written apart: `-50 / 100` is 0, which has none.
        let sign = if self.0 < 0 { "-" } else { "" };
        let cents = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", cents / 100, cents % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_and_formats() {
        assert_eq!(Money::from_major(1.5), Some(Money(150)));
        assert_eq!(Money::from_major(0.1 + 0.2), Some(Money(30)));
        assert_eq!(Money::from_major(-1.0), None);
        assert_eq!(Money::from_major(f64::NAN), None);
        assert_eq!(Money(150).to_string(), "1.50");
        assert_eq!(Money(-50).to_string(), "-0.50");
        assert_eq!(Money(-1234).to_string(), "-12.34");
        assert_eq!(Money(i64::MIN).to_string(), "-92233720368547758.08");
        assert!(Money(3000).is_whole());
    }
}
