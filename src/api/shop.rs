//! Advance API / Shop (ENDPOINTS.md §4, S1-S5).

use actix_web::web;

/// Register this group's routes (relative to `/cdb-open-api/v1`).
pub fn routes(_cfg: &mut web::ServiceConfig) {}
