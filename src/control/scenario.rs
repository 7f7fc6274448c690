//! Scenario helpers under `/_sim` (fill, empty, set charge, make an eject fail, ...).

use actix_web::web;

/// Register these routes (inside the `/_sim` scope).
pub fn routes(_cfg: &mut web::ServiceConfig) {}
