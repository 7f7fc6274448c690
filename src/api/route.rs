//! Routes for one HTTP method, without actix's bookkeeping for a 405 page.
//!
//! actix's method guard (`web::get()` and friends) records every method it is asked about in
//! the request's extensions, for a `405 Method Not Allowed` it could build later: three
//! allocations per guard checked on the way to the matching route, on every request. The
//! platform answers a known path with another method in its own envelope (`api::not_found`
//! and the contract check), never with that page, so these guards only compare the method.

use actix_web::guard::{Guard, GuardContext};
use actix_web::http::Method;
use actix_web::{web, Route};

/// Passes requests with this method.
struct Only(Method);

impl Guard for Only {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        ctx.head().method == self.0
    }
}

/// A route for `GET`.
pub fn get() -> Route {
    web::route().guard(Only(Method::GET))
}

/// A route for `POST`.
pub fn post() -> Route {
    web::route().guard(Only(Method::POST))
}

/// A route for `PUT`.
pub fn put() -> Route {
    web::route().guard(Only(Method::PUT))
}

/// A route for `DELETE`.
pub fn delete() -> Route {
    web::route().guard(Only(Method::DELETE))
}
