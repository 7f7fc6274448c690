//! `GET /_sim/openapi.json`: the OpenAPI 3.0 document of the platform and control APIs.
//!
//! The document is a file of the repository (`openapi/openapi.json`), compiled in so the
//! binary serves it without set-up. `tests/api/openapi.rs` keeps it true: every operation of
//! the vendor's list is in it, and the answers of the implemented endpoints validate against
//! it. Served as stored (servers `/`, i.e. this simulator), never rebuilt per request.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};

/// The document, as committed.
pub const DOCUMENT: &str = include_str!("../../openapi/openapi.json");

/// Register the route (inside the `/_sim` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(document));
}

/// `GET /_sim/openapi.json`.
async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/json")))
        .body(DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_json_and_openapi_3() {
        let v: serde_json::Value = serde_json::from_str(DOCUMENT).expect("openapi/openapi.json is JSON");
        assert!(v["openapi"].as_str().unwrap().starts_with("3.0"));
        assert!(v["paths"]["/_sim/openapi.json"]["get"].is_object());
    }
}
