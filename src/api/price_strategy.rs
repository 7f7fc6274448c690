//! Advance API / PriceStrategy (ENDPOINTS.md §5, P1-P6).

use actix_web::web;

/// Register this group's routes (relative to `/cdb-open-api/v1`).
pub fn routes(_cfg: &mut web::ServiceConfig) {}
