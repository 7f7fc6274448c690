//! Domain types and rules: agents, shops, cabinets and slots, batteries and their charge,
//! price strategies and billing, orders, events. No JSON wire shapes and no locks live here;
//! `store/` owns the lock and `api/` owns the platform's field names.
//!
//! The types derive serde only for the simulator's own snapshot format (`/_sim/state`), never
//! for platform responses.

pub mod battery;
pub mod cabinet;
pub mod credentials;
pub mod event;
pub mod geo;
pub mod money;
pub mod order;
pub mod pos;
pub mod price;
pub mod push_config;
pub mod rng;
pub mod shop;
pub mod world;

pub use battery::{Battery, BatteryPlace, ChargeModel};
pub use cabinet::{Cabinet, Slot};
pub use event::{Event, EventKind, PushConfig, SlotReport};
pub use money::Money;
pub use order::{Order, OrderOrigin, OrderStatus};
pub use price::{PriceStrategy, PriceTerms, TimetableRow};
pub use rng::SimRng;
pub use shop::Shop;
pub use world::{Agent, Settings, World};
