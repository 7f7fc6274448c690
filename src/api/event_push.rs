//! Cabinet event-push configuration (ENDPOINTS.md §7, E1-E2).

use actix_web::web;

/// Register this group's routes (relative to `/cdb-open-api/v1`).
pub fn routes(_cfg: &mut web::ServiceConfig) {}
