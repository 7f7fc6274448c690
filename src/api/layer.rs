//! The request pipeline's steps, and how they go on to the rest of it.
//!
//! Every request passes, in order: the body deadline (`api::body_deadline`), the request
//! journal (`control::requests::record`), the limits, token and envelope guard
//! (`api::guard`), the fault rules (`control::faults::inject`), then the routes. Each step is
//! a plain async function that takes the request and `next: impl AsyncFnOnce(ServiceRequest)
//! -> Answer`, what runs inside it; `app::pipeline` composes them into one actix-web
//! middleware.
//!
//! One middleware rather than one per step: each `from_fn` layer boxes the future of the
//! layer inside it and counts references to it, for every request. Composed, a fresh O1
//! makes three allocations fewer (`tests/allocations.rs`) and runs 2 % fewer instructions.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;

/// What a step, and the rest of the pipeline inside it, answers.
pub type Answer = Result<ServiceResponse<BoxBody>, actix_web::Error>;
