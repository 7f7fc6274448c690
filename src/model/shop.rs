//! Shops (merchant locations) where cabinets stand.

use super::id::{AgentId, PriceId, ShopId};
use crate::clock::Millis;
use serde::{Deserialize, Serialize};

/// Currencies the simulator knows: code, symbol, name.
pub const CURRENCIES: &[(&str, &str, &str)] = &[
    ("EUR", "€", "Euro"),
    ("USD", "$", "US Dollar"),
    ("GBP", "£", "Pound Sterling"),
    ("CNY", "¥", "Chinese Yuan"),
    ("JPY", "¥", "Japanese Yen"),
    ("CHF", "CHF", "Swiss Franc"),
    ("AUD", "A$", "Australian Dollar"),
    ("CAD", "C$", "Canadian Dollar"),
    ("HKD", "HK$", "Hong Kong Dollar"),
    ("SGD", "S$", "Singapore Dollar"),
    ("SEK", "kr", "Swedish Krona"),
    ("NOK", "kr", "Norwegian Krone"),
    ("DKK", "kr", "Danish Krone"),
    ("PLN", "zł", "Polish Zloty"),
    ("CZK", "Kč", "Czech Koruna"),
    ("AED", "AED", "UAE Dirham"),
    ("BRL", "R$", "Brazilian Real"),
    ("MXN", "MX$", "Mexican Peso"),
    ("THB", "฿", "Thai Baht"),
    ("KRW", "₩", "South Korean Won"),
    ("INR", "₹", "Indian Rupee"),
    ("TRY", "₺", "Turkish Lira"),
    ("ZAR", "R", "South African Rand"),
    ("VES", "Bs.", "Venezuelan Bolívar"),
];

/// The symbol of a known currency code.
pub fn currency_symbol(code: &str) -> Option<&'static str> {
    CURRENCIES.iter().find(|c| c.0 == code).map(|c| c.1)
}

/// The English name of a known currency code.
pub fn currency_name(code: &str) -> Option<&'static str> {
    CURRENCIES.iter().find(|c| c.0 == code).map(|c| c.2)
}

/// A merchant location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shop {
    /// Shop id (`pNewid` / `newID`): short lower-case hex in the default world.
    pub id: ShopId,
    /// Row number, as the platform's numeric `id` in shop lists.
    pub row: u64,
    /// Owning agent.
    pub agent: AgentId,
    /// Name.
    pub name: String,
    /// Street address; `None` when unset (the platform then omits the field).
    pub address: Option<String>,
    /// City.
    pub city: String,
    /// Province or state.
    pub province: String,
    /// District.
    pub region: String,
    /// WGS-84 latitude.
    pub latitude: f64,
    /// WGS-84 longitude.
    pub longitude: f64,
    /// Opening hours text, e.g. `09:00-22:00`.
    pub opening_time: String,
    /// ISO currency code of its prices.
    pub currency: String,
    /// Phone.
    pub mobile: String,
    /// Description.
    pub content: String,
    /// Icon URL.
    pub icon: String,
    /// Logo URL.
    pub logo: String,
    /// Banner URL.
    pub banner: String,
    /// Scene type (O6 enumeration / `pSceneType`).
    pub scene_type: i64,
    /// Store type (`pStoreType`).
    pub store_type: i64,
    /// `pAuditor`: 0 disabled, 1 enabled.
    pub auditor: i64,
    /// Stripe Terminal location id.
    pub location_id: String,
    /// Price strategy bound for general rentals.
    pub price_id: Option<PriceId>,
    /// Price strategy bound for POS rentals.
    pub pos_price_id: Option<PriceId>,
    /// When it was created.
    pub created_at: Millis,
}
