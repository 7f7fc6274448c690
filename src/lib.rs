//! bajie-sim: a stateful, deterministic simulator of the Bajie Charging / ChargeNow open API.
//!
//! Map of the crate:
//! - [`config`]: flags and environment -> [`config::Config`];
//! - [`app`]: `build(Config)` wires everything and returns a running server;
//! - [`state`]: the running simulator's shared state (`AppState`) and how a world is loaded;
//! - [`clock`]: virtual time, the only source of time;
//! - [`model`]: domain types and rules (shops, cabinets, batteries, prices, orders, events);
//! - [`store`]: the only owner of the world lock;
//! - [`fixtures`]: world files, validation, the embedded default world;
//! - [`operations`]: the platform's operation ids and paths, the one list below the wire layer;
//! - [`api`]: the platform's wire layer under `/cdb-open-api/v1`;
//! - [`control`]: the `/_sim` control API;
//! - [`sim`]: the simulation step;
//! - [`driver`]: the threads that move virtual time (the simulation driver, long advances);
//! - [`push`]: outbound event pushes and rent callbacks, with the delivery journal;
//! - [`metrics`]: Prometheus metrics (`/_sim/metrics`), recorded at the end of every request;
//! - [`latency`]: answer-time profiles per operation (`/_sim/latency`);
//! - [`error`]: the one error type;
//! - [`probe`]: `bajie-sim probe`, the container health check.

pub mod api;
pub mod app;
pub mod clock;
pub mod config;
pub mod control;
pub mod driver;
pub mod error;
pub mod latency;
pub mod metrics;
pub mod model;
pub mod operations;
pub mod probe;
pub mod push;
pub mod state;
pub mod store;

// The world's loader and its living activity are rules of the world and live in `model/`, where
// the world's fields are visible; these names keep the paths the rest of the crate uses.
pub use model::fixtures;
pub use model::sim;
