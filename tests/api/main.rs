//! Black-box tests: each test starts the simulator on port 0, talks HTTP to it and receives
//! pushes and callbacks on a local recording sink. The long-running groups (fuzz, stress,
//! restart, slow receivers) are the `slow` suite (`tests/slow/`); `cargo test` runs both.

mod admin_kit;
mod advance;
mod cli;
mod conformance;
mod connection;
mod cross_account;
mod docs;
mod faults;
mod fidelity;
mod helpers;
mod isolation;
mod load_clients;
mod metrics;
mod openapi;
mod perf;
mod pushes;
mod rent_flow;
mod requests;
mod runtime;
mod schema;
mod security;
mod shards;
mod sim;
mod state;
mod type_walk;
mod ui;
mod validation;
