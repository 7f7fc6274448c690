//! Routes for one HTTP method, without actix's bookkeeping for a 405 page.
//!
//! actix's method guard (`web::get()` and friends) records every method it is asked about in
//! the request's extensions, for a `405 Method Not Allowed` it could build later: three
//! allocations per guard checked on the way to the matching route, on every request. The
//! platform answers a known path with another method in its own envelope (`api::not_found`
//! and the contract check), never with that page, so these guards only compare the method.
//! A path served with several methods is one resource ([`resource`]), whose fallback for any
//! other method is that envelope too.

use actix_web::guard::{Guard, GuardContext};
use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Resource, Responder, Route};

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

/// The resource serving `path`, its routes added by the caller (one per method).
///
/// actix tries a scope's resources in order, and every resource tried costs a match and a copy
/// and drop of the request's path, about 240 instructions: `cfg.route(path, ...)` makes a
/// resource per method, so a path served with two methods was tried twice and C7's first page
/// was the sixteenth resource tried. A method the resource does not list gets the platform's
/// 404 envelope (`api::not_found`), as a request to a path nobody serves does, not actix's
/// `405` page.
pub fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(super::not_found))
}

/// [`resource`] serving `path` with `handler` for both `GET` and `POST` (the platform's pages
/// document one and clients send either for several operations).
pub fn get_and_post<F, Args>(path: &str, handler: F) -> Resource
where
    F: Handler<Args> + Clone,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    resource(path).route(get().to(handler.clone())).route(post().to(handler))
}
