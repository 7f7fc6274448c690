//! Authentication (docs/api-reference.md, "Auth"): HTTP Basic on every platform endpoint, and the
//! OAuth2 login whose token is accepted as `Authorization: Bearer`.

use super::envelope;
use super::input::{Input, Text};
use super::operation::{schema, Answer, Method, Operation};
use crate::error::Error;
use crate::model::world::ct_eq;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::future::{ready, Ready};
use std::sync::Arc;

/// The authenticated agent of a platform request.
#[derive(Debug, Clone)]
pub struct AuthAgent(pub Arc<str>);

fn unauthorized(why: &str) -> Error {
    Error::Unauthorized(why.to_string())
}

/// Resolve the `Authorization` header to an agent account.
pub fn authenticate(state: &AppState, header: Option<&str>) -> Result<String, Error> {
    let h = header.ok_or_else(|| {
        unauthorized(
            "Full authentication is required: send Authorization: Basic base64(username:password) or Bearer <token>.",
        )
    })?;
    let (scheme, rest) = h.trim().split_once(' ').unwrap_or((h.trim(), ""));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .map_err(|_| unauthorized("Malformed Basic credentials: not base64."))?;
            let text = String::from_utf8(raw).map_err(|_| unauthorized("Malformed Basic credentials: not UTF-8."))?;
            let (user, pass) = text
                .split_once(':')
                .ok_or_else(|| unauthorized("Malformed Basic credentials: expected username:password."))?;
            state
                .store
                .read(|w| w.authenticate(user, pass).map(str::to_string))
                .ok_or_else(|| unauthorized("Bad credentials."))
        }
        "bearer" => {
            let token = rest.trim();
            let (now, policy) = (state.clock.now(), state.config.token_policy());
            state
                .store
                .read(|w| w.token_account(token, now, policy).map(str::to_string))
                .ok_or_else(|| unauthorized("Invalid or unknown bearer token; log in again with POST /oauth2/login."))
        }
        _ => Err(unauthorized("Unsupported Authorization scheme: use Basic or Bearer.")),
    }
}

impl FromRequest for AuthAgent {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return ready(Err(Error::Internal("application state missing".into())));
        };
        let header = req.headers().get("authorization").and_then(|v| v.to_str().ok());
        let answer = match header {
            // Remembered per worker while the world is unchanged (`answer_cache`): a load
            // test's every request carries the same header. Not bearer tokens: they expire
            // with the clock, which moves without changing the world, and their look-up is
            // one map search anyway.
            Some(h) if !is_bearer(h) => {
                super::answer_cache::account(state.store.stamp(), h, || authenticate(state, Some(h)))
            }
            other => authenticate(state, other).map(Arc::from),
        };
        ready(answer.map(AuthAgent))
    }
}

/// Whether an `Authorization` header carries a bearer token.
fn is_bearer(header: &str) -> bool {
    header.trim_start().get(..7).is_some_and(|s| s.eq_ignore_ascii_case("bearer "))
}

/// Hex SHA-256 of `s`, as the login expects the password.
pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A1, as the OpenAPI document lists it.
pub const OPERATIONS: &[Operation] = &[Operation {
    id: "A1",
    name: "login",
    methods: &[Method::Post],
    path: "/oauth2/login",
    tag: "Auth",
    summary: "A1 OAuth2 login (OAuth2登录): a bearer token",
    description: "Parameters in the query string (or a form body) although the method is POST. No authentication. \
        Send the token as `Authorization: Bearer <token>` afterwards.",
    auth: false,
    query: Some(schema::<Login>),
    answer: Answer::Bare(schema::<TokenAnswer<'static>>),
    ..Operation::BASE
}];

/// A1's parameters.
#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct Login {
    /// The account name.
    #[schemars(example = &"demo")]
    pub username: Text,
    /// Lower-case hex SHA-256 of the account's password.
    #[schemars(example = &"2a97516c354b68848cdbd8f54a226a0a55b21ed138e207ad6c5cbb9c00aa5aea")]
    pub password: Text,
}

/// A1 `POST /oauth2/login?username=..&password=<sha256-hex>`: a bearer token.
///
/// The docs declare only `{"key": {}}`; a production client reads `key` as the token string,
/// so `key` is the token, with the OAuth2-style `access_token` and `token_type` beside it.
pub async fn login(state: web::Data<AppState>, Input(q): Input<Login>) -> Result<HttpResponse, Error> {
    let user = q.username.as_str();
    let hash = q.password.to_ascii_lowercase();
    // Every account is compared (no `find`), so the time taken does not tell which exist.
    let account = state.store.read(|w| {
        w.agents().values().fold(None, |found, a| {
            let ok = ct_eq(a.account.as_bytes(), user.as_bytes())
                & ct_eq(sha256_hex(&a.password).as_bytes(), hash.as_bytes());
            if ok {
                Some(a.account.clone())
            } else {
                found
            }
        })
    });
    let account = account
        .ok_or_else(|| unauthorized("Bad credentials: password must be the SHA-256 hex of the account password."))?;
    let (now, policy) = (state.clock.now(), state.config.token_policy());
    let (token, _) = state.store.write(|w, _| w.issue_token(&account, now, policy))?;
    Ok(envelope::json(&TokenAnswer { key: &token, access_token: &token, token_type: "bearer" }))
}

/// A1's answer: an OAuth2 token response, not the platform's envelope (`key` repeats the
/// token for clients written against the platform's older token route).
#[derive(serde::Serialize, schemars::JsonSchema)]
struct TokenAnswer<'a> {
    key: &'a str,
    access_token: &'a str,
    token_type: &'static str,
}
