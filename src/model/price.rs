//! Price strategies and the billing formula.
//!
//! The formula (documented in docs/billing.md, pinned by the table of cases below):
//!
//! 1. minutes = rental time rounded **up** to whole minutes;
//! 2. minutes <= free minutes -> 0; otherwise the free minutes are deducted;
//! 3. the billable minutes are cut into 24-hour days counted from the borrow time; each day
//!    costs `ceil(minutes / period) * price` (type 2 timetables: the `totalFee` of the row the
//!    day's minutes fall in), capped at the daily maximum when that is above zero;
//! 4. the total never exceeds the timeout (buy-out) amount when that is above zero;
//! 5. an order still out `timeoutDay` days after the borrow is bought out: it is charged the
//!    timeout amount and ends (that happens in the world's due-action queue, not here).

use super::id::{AgentId, PriceId, ShopId};
use super::money::Money;
use crate::clock::{Millis, MINUTE};
use serde::{Deserialize, Serialize};

/// One row of a timetable strategy (type 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimetableRow {
    /// Segment start, minutes into the day.
    pub start_minute: i64,
    /// Segment end, minutes into the day.
    pub end_minute: i64,
    /// Fee of this segment (`setcionFee`).
    pub section_fee: Money,
    /// Cumulative fee when the rental ends in this segment.
    pub total_fee: Money,
    /// Serial number.
    pub seqno: i64,
}

/// A price strategy as the merchant configures it (P3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceStrategy {
    /// Numeric id (`priceId`).
    pub id: PriceId,
    /// Owning agent.
    pub agent: AgentId,
    /// Name.
    pub name: String,
    /// The shop it was created for, if any (`shopId` in P3).
    pub shop: Option<ShopId>,
    /// 1 advanced, 2 timetable, 3 general.
    pub kind: i64,
    /// 0 general, 1 POS.
    pub custom_type: i64,
    /// Priority.
    pub priority: i64,
    /// Whether a deposit is charged.
    pub is_deposit: bool,
    /// Deposit.
    pub deposit: Money,
    /// Amount charged when the battery is not returned in time.
    pub timeout_amount: Money,
    /// Days after which an unreturned battery is bought out.
    pub timeout_day: i64,
    /// Free minutes at the start of a rental.
    pub free_minutes: i64,
    /// Free uses per day (stored and shown; not applied by the billing formula).
    pub day_use_free_count: i64,
    /// Price per period.
    pub price: Money,
    /// Period length in `price_unit`s.
    pub price_time: i64,
    /// 0 minute, 1 hour, 2 day.
    pub price_unit: i64,
    /// Cap per 24 hours; zero means no cap.
    pub daily_max: Money,
    /// Automatic refund flag.
    pub auto_refund: i64,
    /// Timetable rows (type 2).
    pub details: Vec<TimetableRow>,
}

impl PriceStrategy {
    /// The billing period in minutes (`priceMinute`).
    pub fn period_minutes(&self) -> i64 {
        let unit = match self.price_unit {
            1 => 60,
            2 => 1440,
            _ => 1,
        };
        (self.price_time.max(1)).saturating_mul(unit)
    }

    /// The terms an order is billed with, frozen at the order's creation.
    pub fn terms(&self, currency: &str) -> PriceTerms {
        let timetable = if self.kind == 2 { self.details.clone() } else { Vec::new() };
        PriceTerms::of(Some(self.id), self.name.clone(), currency, self.rates(), timetable)
    }

    /// The numbers of [`terms`](Self::terms), without the copies of the name, currency and
    /// timetable an order keeps: what a read that only shows the prices (O1) needs.
    pub fn rates(&self) -> Rates {
        Rates {
            price: self.price,
            period_minutes: self.period_minutes(),
            free_minutes: self.free_minutes,
            daily_max: self.daily_max,
            deposit: self.deposit,
            timeout_day: self.timeout_day,
            timeout_amount: self.timeout_amount,
            auto_refund: self.auto_refund,
        }
    }
}

/// The numbers of a set of billing terms (see [`PriceTerms`] for each).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub price: Money,
    pub period_minutes: i64,
    pub free_minutes: i64,
    pub daily_max: Money,
    pub deposit: Money,
    pub timeout_day: i64,
    pub timeout_amount: Money,
    pub auto_refund: i64,
}

impl Rates {
    /// The platform's default terms, for a shop bound to no strategy.
    pub const PLATFORM_DEFAULT: Rates = Rates {
        price: Money(100),
        period_minutes: 60,
        free_minutes: 5,
        daily_max: Money(1000),
        deposit: Money(9900),
        timeout_day: 5,
        timeout_amount: Money(9900),
        auto_refund: 0,
    };
}

/// The billing terms of one order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceTerms {
    /// Strategy id, `None` for the built-in default.
    pub price_id: Option<PriceId>,
    /// Strategy name.
    pub name: String,
    /// ISO currency code.
    pub currency: String,
    /// Price per period.
    pub price: Money,
    /// Period in minutes.
    pub period_minutes: i64,
    /// Free minutes.
    pub free_minutes: i64,
    /// Daily cap, zero for none.
    pub daily_max: Money,
    /// Deposit.
    pub deposit: Money,
    /// Buy-out after this many days.
    pub timeout_day: i64,
    /// Buy-out amount.
    pub timeout_amount: Money,
    /// Automatic refund flag.
    pub auto_refund: i64,
    /// Timetable rows, for type 2 strategies.
    pub timetable: Vec<TimetableRow>,
}

impl PriceTerms {
    /// The terms of a shop with no bound strategy: the docs' illustrative default.
    pub fn platform_default(currency: &str) -> Self {
        PriceTerms::of(None, "Default".into(), currency, Rates::PLATFORM_DEFAULT, Vec::new())
    }

    /// Terms from their numbers and what names them.
    fn of(price_id: Option<PriceId>, name: String, currency: &str, r: Rates, timetable: Vec<TimetableRow>) -> Self {
        PriceTerms {
            price_id,
            name,
            currency: currency.to_string(),
            price: r.price,
            period_minutes: r.period_minutes,
            free_minutes: r.free_minutes,
            daily_max: r.daily_max,
            deposit: r.deposit,
            timeout_day: r.timeout_day,
            timeout_amount: r.timeout_amount,
            auto_refund: r.auto_refund,
            timetable,
        }
    }

    /// The amount due for a rental of `duration` (see the module doc for the formula).
    pub fn bill(&self, duration: Millis) -> Money {
        let minutes = (duration.max(0) + MINUTE - 1) / MINUTE;
        if minutes <= self.free_minutes {
            return Money::ZERO;
        }
        let billable = minutes - self.free_minutes.max(0);
        let (days, rest) = (billable / 1440, billable % 1440);
        let mut total = self.day_charge(1440).0.saturating_mul(days);
        if rest > 0 {
            total = total.saturating_add(self.day_charge(rest).0);
        }
        if self.timeout_amount.0 > 0 {
            total = total.min(self.timeout_amount.0);
        }
        Money(total)
    }

    fn day_charge(&self, minutes: i64) -> Money {
        let raw = if self.timetable.is_empty() {
            let periods = (minutes + self.period_minutes - 1) / self.period_minutes.max(1);
            self.price.0.saturating_mul(periods)
        } else {
            self.timetable
                .iter()
                .find(|r| minutes > r.start_minute && minutes <= r.end_minute)
                .or_else(|| self.timetable.iter().max_by_key(|r| r.end_minute))
                .map(|r| r.total_fee.0)
                .unwrap_or(0)
        };
        if self.daily_max.0 > 0 {
            Money(raw.min(self.daily_max.0))
        } else {
            Money(raw)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paris_standard() -> PriceTerms {
        // 1.50 per 30 min, 5 free minutes, cap 6.00 a day, buy-out 30.00 after 3 days.
        PriceTerms {
            price_id: Some(PriceId(101)),
            name: "Paris Standard".into(),
            currency: "EUR".into(),
            price: Money(150),
            period_minutes: 30,
            free_minutes: 5,
            daily_max: Money(600),
            deposit: Money(3000),
            timeout_day: 3,
            timeout_amount: Money(3000),
            auto_refund: 0,
            timetable: Vec::new(),
        }
    }

    #[test]
    fn billing_table() {
        let t = paris_standard();
        let s = 1000;
        let cases: &[(&str, Millis, i64)] = &[
            ("zero time is free", 0, 0),
            ("inside the free minutes", 4 * MINUTE, 0),
            ("exactly the free minutes", 5 * MINUTE, 0),
            ("one second past free rounds up to a minute: one period", 5 * MINUTE + s, 150),
            ("35 min = 30 billable = one period", 35 * MINUTE, 150),
            ("36 min = 31 billable = two periods", 36 * MINUTE, 300),
            ("2 h = 115 billable = four periods", 120 * MINUTE, 600),
            ("5 h hits the daily cap", 300 * MINUTE, 600),
            ("a full day is one cap", (1440 + 5) * MINUTE, 600),
            ("a day and 31 minutes: cap + two periods", (1440 + 5 + 31) * MINUTE, 900),
            ("two days and an hour: capped days plus two periods", (2 * 1440 + 65) * MINUTE, 1500),
            ("never more than the buy-out amount", 10 * 1440 * MINUTE, 3000),
        ];
        for (name, duration, cents) in cases {
            assert_eq!(t.bill(*duration), Money(*cents), "{name}");
        }
    }

    #[test]
    fn no_cap_and_no_free_time() {
        let mut t = paris_standard();
        t.daily_max = Money::ZERO;
        t.free_minutes = 0;
        t.timeout_amount = Money::ZERO;
        assert_eq!(t.bill(300 * MINUTE), Money(1500));
        assert_eq!(t.bill(1), Money(150));
    }

    #[test]
    fn timetable_uses_the_row_the_rental_ends_in() {
        let mut t = paris_standard();
        t.free_minutes = 0;
        t.timetable = vec![
            TimetableRow { start_minute: 0, end_minute: 60, section_fee: Money(100), total_fee: Money(100), seqno: 1 },
            TimetableRow {
                start_minute: 60,
                end_minute: 180,
                section_fee: Money(150),
                total_fee: Money(250),
                seqno: 2,
            },
        ];
        assert_eq!(t.bill(30 * MINUTE), Money(100));
        assert_eq!(t.bill(61 * MINUTE), Money(250));
        assert_eq!(t.bill(500 * MINUTE), Money(250));
    }
}
