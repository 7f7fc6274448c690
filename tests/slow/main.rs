//! The slow suite: black-box tests that take long by nature (request fuzzing over every
//! operation, concurrent stress, process restarts with signals, receivers that stall). Same
//! rules as the `api` suite, and `cargo test` runs both; `cargo test --test api` leaves these
//! out while iterating.

// The helpers are shared with the `api` suite.
#[path = "../api/helpers.rs"]
mod helpers;

mod fuzz;
mod receivers;
mod restart;
mod stress;
