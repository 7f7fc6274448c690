//! Black-box tests: each test starts the simulator on port 0, talks HTTP to it and receives
//! pushes and callbacks on a local recording sink.

mod cross_account;
mod fuzz;
mod helpers;
mod openapi;
mod pushes;
mod receivers;
mod rent_flow;
mod restart;
mod schema;
mod security;
mod stress;
