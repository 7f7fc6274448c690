//! Rent orders.

use super::fault_types::RentalFailure;
use super::id::{AgentId, BatteryId, CabinetId, ShopId, TradeNo};
use super::money::Money;
use super::price::PriceTerms;
use crate::clock::Millis;
use serde::{Deserialize, Serialize};

/// The life of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OrderStatus {
    /// Created; the cabinet has not ejected yet.
    Pending,
    /// The battery is out with the customer.
    InLease,
    /// The eject failed (callback `status=0`).
    Failed,
    /// Cancelled before any eject (O4 on a pending order).
    Revoked,
    /// The battery came back; billed.
    Returned,
    /// Completed by the merchant (O4) while the battery was still out; billed to that moment.
    Closed,
    /// Not returned within the strategy's timeout days; charged the timeout amount.
    BoughtOut,
}

impl OrderStatus {
    /// The platform's `borrowStatus`: 0 not leased, 1 under lease, 2 revoked, 3 returned,
    /// 5 returned after timeout (used for buy-outs).
    pub fn borrow_status(self) -> i64 {
        match self {
            OrderStatus::Pending => 0,
            OrderStatus::InLease => 1,
            OrderStatus::Failed | OrderStatus::Revoked => 2,
            OrderStatus::Returned | OrderStatus::Closed => 3,
            OrderStatus::BoughtOut => 5,
        }
    }

    /// The rent-callback `status` that describes this state, if any.
    pub fn callback_status(self) -> Option<u8> {
        match self {
            OrderStatus::Failed => Some(0),
            OrderStatus::InLease => Some(1),
            OrderStatus::Returned => Some(2),
            _ => None,
        }
    }

    /// Whether a rental took place and is over (returned, closed by the merchant or bought
    /// out): the order has an end time and a final amount.
    pub fn is_ended(self) -> bool {
        matches!(self, OrderStatus::Returned | OrderStatus::Closed | OrderStatus::BoughtOut)
    }

    /// Whether the order is finished.
    pub fn is_final(self) -> bool {
        !matches!(self, OrderStatus::Pending | OrderStatus::InLease)
    }
}

/// Who created the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OrderOrigin {
    /// `POST /rent/order/create`.
    OpenApi,
    /// The back office: `ejectByRent` without an Open API order, or the control API.
    Admin,
    /// A simulated customer.
    Customer,
}

/// A rent order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Trade number: `yyMMddHHmmss` + 8 digits.
    pub trade_no: TradeNo,
    /// Owning agent.
    pub agent: AgentId,
    /// Who created it.
    pub origin: OrderOrigin,
    /// Cabinet rented from.
    pub cabinet: CabinetId,
    /// Cabinet type (slot count) as text, `deviceType`.
    pub device_type: String,
    /// Shop of that cabinet at creation.
    pub shop: Option<ShopId>,
    /// Shop name at creation, for order lists.
    pub shop_name: String,
    /// Where the callbacks go.
    pub callback_url: Option<String>,
    /// State.
    pub status: OrderStatus,
    /// Creation time.
    pub created_at: Millis,
    /// When the battery left the cabinet.
    pub borrow_time: Option<Millis>,
    /// Battery handed out.
    pub battery: Option<BatteryId>,
    /// Slot it came from.
    pub slot: Option<u16>,
    /// When it ended (return, close, buy-out).
    pub end_time: Option<Millis>,
    /// Cabinet returned into.
    pub return_cabinet: Option<String>,
    /// Shop returned at.
    pub return_shop: Option<String>,
    /// Amount billed once final.
    pub amount: Money,
    /// Billing terms frozen at creation.
    pub terms: PriceTerms,
    /// Rental failure type when the eject failed.
    pub fault_type: Option<RentalFailure>,
    /// Rental failure text.
    pub fault_cause: Option<String>,
}

impl Order {
    /// The amount due at `now`: the final amount once finished, else the running total.
    pub fn amount_at(&self, now: Millis) -> Money {
        match (self.status, self.borrow_time) {
            (OrderStatus::InLease, Some(t)) => self.terms.bill(now - t),
            _ => self.amount,
        }
    }

    /// Minutes billed (or running) at `now`.
    pub fn duration_minutes_at(&self, now: Millis) -> i64 {
        match self.borrow_time {
            Some(t) => {
                let end = self.end_time.unwrap_or(now);
                ((end - t).max(0) + 59_999) / 60_000
            }
            None => 0,
        }
    }
}
