//! Domain types and rules: agents, shops, cabinets and slots, batteries and their charge,
//! price strategies and billing, orders, events. No JSON wire shapes and no locks live here;
//! `store/` owns the lock and `api/` owns the platform's field names.
//!
//! The types derive serde only for the simulator's own snapshot format (`/_sim/state`), never
//! for platform responses.

pub mod admin;
pub mod batteries;
pub mod battery;
pub mod cabinet;
pub mod credentials;
pub mod derived;
pub mod event;
pub mod fault;
pub mod fault_types;
pub mod fixtures;
pub mod geo;
pub mod geohash;
pub mod hardware;
pub mod id;
pub mod money;
pub mod order;
pub mod order_index;
pub mod pos;
pub mod price;
pub mod price_admin;
pub mod push_config;
pub mod rng;
pub mod setup;
pub mod shard;
pub mod shop;
pub mod shop_admin;
pub mod shop_index;
pub mod sim;
pub mod sim_state;
pub mod snapshot;
pub mod table;
pub mod world;

pub use battery::{Battery, BatteryPlace, ChargeModel};
pub use cabinet::{Cabinet, Slot};
pub use event::{Event, EventKind, PushConfig, SlotReport};
pub use fault::{FaultEffect, FaultRule, PushFault};
pub use id::{AgentId, BatteryId, CabinetId, PriceId, ShopId, TradeNo};
pub use money::Money;
pub use order::{Order, OrderOrigin, OrderStatus};
pub use price::{PriceStrategy, PriceTerms, TimetableRow};
pub use rng::SimRng;
pub use shard::Shard;
pub use shop::Shop;
pub use sim_state::{SimSettings, SimState, SimTask};
pub use snapshot::Snapshot;
pub use world::{Agent, Settings, World};
