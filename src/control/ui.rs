//! The live dashboard at `/_sim/ui`.

use actix_web::web;

/// Register these routes (inside the `/_sim` scope).
pub fn routes(_cfg: &mut web::ServiceConfig) {}
