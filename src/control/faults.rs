//! Fault-injection rules under `/_sim/faults`.

use actix_web::web;

/// Register these routes (inside the `/_sim` scope).
pub fn routes(_cfg: &mut web::ServiceConfig) {}
