//! Answer-time profiles under `/_sim/latency` (the profiles live in `latency/`):
//!
//! - `GET /_sim/latency`: the profiles in force, by operation id;
//! - `POST /_sim/latency?operation=O1&kind=lognormal&medianMs=80&p99Ms=400` (or `kind=fixed&ms=`,
//!   `kind=none` to remove; `operation=*` for every operation without its own; the same names
//!   in a JSON body work too): set one profile; `?reset=true` returns to the profiles the
//!   simulator started with;
//! - `DELETE /_sim/latency`: remove every profile.

use crate::api::envelope;
use crate::api::params::Params;
use crate::error::Error;
use crate::latency::{canonical, Profile};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// Register these routes (inside the `/_sim` scope).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/latency", web::get().to(list))
        .route("/latency", web::post().to(set))
        .route("/latency", web::delete().to(clear));
}

fn view(state: &AppState) -> HttpResponse {
    envelope::ok(json!({ "profiles": state.latency.profiles() }))
}

/// `GET /_sim/latency`.
async fn list(state: web::Data<AppState>) -> HttpResponse {
    view(&state)
}

/// The profile a request's parameters describe; errors name the parameter.
fn profile_from(p: &Params) -> Result<Profile, Error> {
    let need = |name: &str| p.float(name)?.ok_or_else(|| Error::missing_param(name));
    let profile = match p.required("kind")?.trim().to_ascii_lowercase().as_str() {
        "none" => Profile::None,
        "fixed" => Profile::Fixed { ms: need("ms")? },
        "lognormal" => Profile::Lognormal { median_ms: need("medianMs")?, p99_ms: need("p99Ms")? },
        other => return Err(Error::bad_param("kind", format!("'{other}' is not none, fixed or lognormal"))),
    };
    profile.validate().map_err(|(name, why)| Error::bad_param(name, why))?;
    Ok(profile)
}

/// `POST /_sim/latency`: set one operation's profile, or `reset=true`.
async fn set(state: web::Data<AppState>, p: Params) -> Result<HttpResponse, Error> {
    if p.bool("reset")?.unwrap_or(false) {
        state.latency.reset();
        return Ok(view(&state));
    }
    let op = p.required("operation")?;
    let op = canonical(op).ok_or_else(|| {
        Error::bad_param("operation", "expected an operation id (O1..O7, C1..C13, S1..S5, P1..P6, R1, E1, E2, A1) or *")
    })?;
    let profile = profile_from(&p)?;
    state.latency.set(&op, profile);
    Ok(view(&state))
}

/// `DELETE /_sim/latency`: no profile at all.
async fn clear(state: web::Data<AppState>) -> HttpResponse {
    state.latency.clear();
    view(&state)
}
