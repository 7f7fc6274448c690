//! Advance API / Order (ENDPOINTS.md §6, R1).

use actix_web::web;

/// Register this group's routes (relative to `/cdb-open-api/v1`).
pub fn routes(_cfg: &mut web::ServiceConfig) {}
