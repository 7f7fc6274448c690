//! Black-box tests: each test starts the simulator on port 0, talks HTTP to it and receives
//! pushes and callbacks on a local recording sink.

mod admin_kit;
mod advance;
mod conformance;
mod faults;
mod helpers;
mod isolation;
mod perf;
mod pushes;
mod rent_flow;
mod sim;
mod state;
mod validation;
