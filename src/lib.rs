//! bajie-sim: a stateful, deterministic simulator of the Bajie Charging / ChargeNow open API.
//!
//! Map of the crate:
//! - [`config`]: flags and environment -> [`config::Config`];
//! - [`app`]: `build(Config)` wires everything and returns a running server;
//! - [`clock`]: virtual time, the only source of time;
//! - [`model`]: domain types and rules (shops, cabinets, batteries, prices, orders, events);
//! - [`store`]: the only owner of the world lock;
//! - [`fixtures`]: world files, validation, the embedded default world;
//! - [`api`]: the platform's wire layer under `/cdb-open-api/v1`;
//! - [`control`]: the `/_sim` control API;
//! - [`sim`]: the simulation step;
//! - [`push`]: outbound event pushes and rent callbacks, with the delivery journal;
//! - [`error`]: the one error type;
//! - [`probe`]: `bajie-sim probe`, the container health check.

pub mod api;
pub mod app;
pub mod clock;
pub mod config;
pub mod control;
pub mod error;
pub mod fixtures;
pub mod model;
pub mod probe;
pub mod push;
pub mod sim;
pub mod store;
