//! Advance API / Cabinet (ENDPOINTS.md §3, C1-C13).

use actix_web::web;

/// Register this group's routes (relative to `/cdb-open-api/v1`).
pub fn routes(_cfg: &mut web::ServiceConfig) {}
