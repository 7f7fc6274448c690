//! The platform's wire layer (`/cdb-open-api/v1`): one file per documented group, the route
//! table below reading like the operation list of docs/api-reference.md.

pub mod answer_cache;
pub mod auth;
pub mod body;
pub mod body_deadline;
pub mod cabinet;
pub mod contract;
pub mod envelope;
pub mod event_push;
pub mod guard;
pub mod input;
pub mod json_out;
pub mod layer;
pub mod open;
pub mod operation;
pub mod order;
pub mod paging;
pub mod params;
pub mod price_strategy;
pub mod route;
pub mod shop;
pub mod status_block;

use crate::error::Error;
use actix_web::{web, HttpRequest, HttpResponse};

pub use crate::operations::PREFIX;

/// Register every platform route under [`PREFIX`].
///
/// actix-web tries a scope's resources in the order they are registered, each at a cost (a
/// match and a copy of the path, about 240 instructions; a path template such as
/// `/shop/detail/{shopid}` is a regular expression run against the path): C7's page passed
/// one template and fifteen resources. So a path is one resource whatever its methods
/// ([`route::resource`]), and the operations load tests read (O1 and O6 in `open`, R1, C7
/// first in `cabinet`) come before every template and every rarely used path. No template
/// matches another route's fixed path, so the order changes no answer.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PREFIX)
            .configure(open::routes)
            .configure(order::routes)
            .configure(cabinet::routes)
            .route("/oauth2/login", route::post().to(auth::login))
            .configure(shop::routes)
            .configure(price_strategy::routes)
            .configure(event_push::routes),
    );
}

/// Every platform operation, in the documentation's order.
pub fn all_operations() -> Vec<&'static operation::Operation> {
    [
        auth::OPERATIONS,
        open::OPERATIONS,
        cabinet::OPERATIONS,
        shop::OPERATIONS,
        price_strategy::OPERATIONS,
        order::OPERATIONS,
        event_push::OPERATIONS,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Unknown routes (and known paths with another method): HTTP 404 in the envelope, so
/// clients that call endpoints production does not have fail the same way here.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, Error> {
    Err(Error::NotFound(format!("No endpoint {} {}.", req.method(), req.path())))
}

/// JSON body errors in the envelope, with the parser's reason.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(params::MAX_PARAM_BODY).content_type_required(false).error_handler(|err, _| {
        let msg = match &err {
            actix_web::error::JsonPayloadError::OverflowKnownLength { .. }
            | actix_web::error::JsonPayloadError::Overflow { .. } => {
                return Error::payload_too_large(params::MAX_PARAM_BODY).into()
            }
            actix_web::error::JsonPayloadError::Deserialize(e) => {
                format!("malformed JSON ({e})")
            }
            other => other.to_string(),
        };
        Error::bad_body(msg).into()
    })
}

#[cfg(test)]
mod tests {
    /// The full descriptions beside the handlers and the list the layers below name operations
    /// by (`crate::operations`) are the same operations, in the same order.
    #[test]
    fn every_operation_is_in_the_list_below_the_wire_layer() {
        let described: Vec<(&str, &str)> = super::all_operations().iter().map(|o| (o.id, o.path)).collect();
        assert_eq!(described, crate::operations::OPERATIONS);
        // The contract check's table (documented method, parameters, input kind) names the
        // same operations on the same documented paths.
        let documented: std::collections::BTreeSet<(&str, &str)> = crate::operations::OPERATIONS
            .iter()
            .filter(|(id, path)| *id != "S5" || path.contains('{'))
            .copied()
            .collect();
        let checked: std::collections::BTreeSet<(&str, &str)> =
            super::contract::OPERATIONS.iter().map(|o| (o.id, o.path)).collect();
        assert_eq!(checked, documented);
    }
}
