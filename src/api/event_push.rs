//! Cabinet event-push configuration (E1-E2, docs/api-reference.md): what each agent subscribes to
//! and where the platform POSTs the events (the pushes themselves are built in
//! `push/payload.rs` and delivered by `push/`).

use super::auth::AuthAgent;
use super::envelope::{self, Envelope};
use super::operation::{schema, Answer, Body, Method, Operation};
use crate::app::AppState;
use crate::error::Error;
use crate::model::event::{PushConfig, Subscription};
use actix_web::{web, HttpResponse};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// Longest URL accepted (a receiver URL is a configuration value, not a payload).
const MAX_URL: usize = 2048;

/// E1 and E2, as the OpenAPI document lists them (E3, the push itself, is E1's callback).
pub const OPERATIONS: &[Operation] = &[
    Operation {
        id: "E1",
        name: "push_config",
        methods: &[Method::Post],
        path: "/cabinet/eventPush/config",
        tag: "Cabinet Event Push",
        summary: "E1 Cabinet Event Push Config",
        description: "Replaces the account's configuration. Refusals (1002) name the field and leave the previous \
            configuration untouched.",
        body: Some(Body::HandKept("AgentCabinetEventPushConfig")),
        answer: Answer::Data(schema::<ConfigView<'static>>),
        ..Operation::BASE
    },
    Operation {
        id: "E2",
        name: "get_push_config",
        path: "/cabinet/eventPush/config/get",
        tag: "Cabinet Event Push",
        summary: "E2 GET Cabinet Event Push Config",
        description: "Documented key order `code, msg, data`.",
        answer: Answer::CodeFirst(schema::<ConfigView<'static>>),
        ..Operation::BASE
    },
];

/// Register this group's routes (relative to `/cdb-open-api/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cabinet/eventPush/config", web::post().to(save_config))
        .route("/cabinet/eventPush/config/get", web::get().to(get_config));
}

/// A receiving URL: absolute http(s), at most [`MAX_URL`] characters; stored trimmed.
fn url_field(v: &str, field: &str) -> Result<String, Error> {
    let v = v.trim();
    if v.len() > MAX_URL {
        return Err(Error::bad_body(format!("{field} is longer than {MAX_URL} characters")));
    }
    super::check_push_url(v).map_err(|why| Error::bad_body(format!("{field}: {why}")))?;
    Ok(v.to_string())
}

/// One `eventSubscriptions[i]` entry. Which events exist is the model's rule.
fn subscription(i: usize, v: &Value) -> Result<Subscription, Error> {
    let at = format!("eventSubscriptions[{i}]");
    let Value::Object(m) = v else {
        return Err(Error::bad_body(format!("{at} must be an object {{event, pushUrl, enable}}")));
    };
    let event = match m.get("event") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            return Err(Error::bad_body(format!("{at}.event is required")))
        }
        Some(_) => return Err(Error::bad_body(format!("{at}.event must be a string"))),
    };
    let push_url = match m.get("pushUrl") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if s.trim().is_empty() => String::new(),
        Some(Value::String(s)) => url_field(s, &format!("{at}.pushUrl"))?,
        Some(_) => return Err(Error::bad_body(format!("{at}.pushUrl must be a string"))),
    };
    // The schema marks `enable` required. Like the platform's JSON binder, "true"/"false"
    // strings are read as booleans.
    let enable = match m.get("enable") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => false,
        None | Some(Value::Null) => return Err(Error::bad_body(format!("{at}.enable is required (true or false)"))),
        Some(_) => return Err(Error::bad_body(format!("{at}.enable must be true or false"))),
    };
    Ok(Subscription { event, push_url, enable })
}

/// The `AgentCabinetEventPushConfig` body of E1, checked field by field so a client learns
/// exactly what is wrong.
fn parse_config(body: &[u8]) -> Result<PushConfig, Error> {
    let text = std::str::from_utf8(body).map_err(|_| Error::bad_body("it is not UTF-8"))?;
    if text.trim().is_empty() {
        return Err(Error::bad_body("expected a JSON object {pushUrl, eventSubscriptions}, got an empty body"));
    }
    let v: Value = serde_json::from_str(text).map_err(|e| Error::bad_body(format!("malformed JSON ({e})")))?;
    let Value::Object(m) = v else {
        return Err(Error::bad_body("expected a JSON object {pushUrl, eventSubscriptions}"));
    };
    let push_url = match m.get("pushUrl") {
        Some(Value::String(s)) if !s.trim().is_empty() => url_field(s, "pushUrl")?,
        None | Some(Value::Null) | Some(Value::String(_)) => {
            return Err(Error::bad_body("pushUrl is required (the default URL receiving the events)"))
        }
        Some(_) => return Err(Error::bad_body("pushUrl must be a string")),
    };
    let subs = match m.get("eventSubscriptions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().enumerate().map(|(i, v)| subscription(i, v)).collect::<Result<_, _>>()?,
        Some(_) => return Err(Error::bad_body("eventSubscriptions must be an array")),
    };
    Ok(PushConfig { push_url, event_subscriptions: subs })
}

/// The wire form of a configuration (`AgentCabinetEventPushConfig`).
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct ConfigView<'a> {
    push_url: &'a str,
    event_subscriptions: Vec<SubscriptionView<'a>>,
}

/// One subscription of a [`ConfigView`].
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct SubscriptionView<'a> {
    event: &'a str,
    push_url: &'a str,
    enable: bool,
}

/// The view of `c`; before any E1, `{"pushUrl":"","eventSubscriptions":[]}`.
fn view(c: Option<&PushConfig>) -> ConfigView<'_> {
    let Some(c) = c else {
        return ConfigView { push_url: "", event_subscriptions: Vec::new() };
    };
    ConfigView {
        push_url: &c.push_url,
        event_subscriptions: c
            .event_subscriptions
            .iter()
            .map(|s| SubscriptionView { event: &s.event, push_url: &s.push_url, enable: s.enable })
            .collect(),
    }
}

/// E1 `POST /cabinet/eventPush/config` (JSON `AgentCabinetEventPushConfig`): replace the
/// agent's configuration; `data` is what was saved. A refused body changes nothing.
async fn save_config(
    state: web::Data<AppState>,
    agent: AuthAgent,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, Error> {
    let body = body.map_err(|e| super::params::read_error(&e))?;
    let config = parse_config(&body)?;
    let (saved, _) = state.store.write(|w, _| w.set_push_config(&agent.0, config))?;
    Ok(envelope::ok(view(Some(&saved))))
}

/// E2 `GET /cabinet/eventPush/config/get`: the agent's configuration. Before any E1 it is
/// `{"pushUrl":"","eventSubscriptions":[]}` (nothing is pushed).
async fn get_config(state: web::Data<AppState>, agent: AuthAgent) -> HttpResponse {
    let config = state.store.read(|w| w.push_config(&agent.0));
    // E2's envelope is documented code first.
    Envelope::ok_code_first(view(config.as_deref())).respond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_is_checked_field_by_field() {
        let err = |b: &str| parse_config(b.as_bytes()).unwrap_err().message().to_string();
        assert!(err("").contains("empty body"));
        assert!(err("{").contains("malformed JSON"));
        assert!(err("[]").contains("expected a JSON object"));
        assert!(err("{}").contains("pushUrl is required"));
        assert!(err(r#"{"pushUrl":"  "}"#).contains("pushUrl is required"));
        assert!(err(r#"{"pushUrl":7}"#).contains("pushUrl must be a string"));
        assert!(err(r#"{"pushUrl":"ftp://x/"}"#).contains("only http and https"));
        assert!(err(r#"{"pushUrl":"/relative"}"#).contains("not an absolute URL"));
        let base = r#"{"pushUrl":"http://h/","eventSubscriptions":"#;
        assert!(err(&format!("{base}{{}}}}")).contains("must be an array"));
        assert!(err(&format!("{base}[1]}}")).contains("eventSubscriptions[0] must be an object"));
        assert!(err(&format!(r#"{base}[{{"enable":true}}]}}"#)).contains("eventSubscriptions[0].event is required"));
        assert!(err(&format!(r#"{base}[{{"event":"BATTERY_IN"}}]}}"#)).contains("enable is required"));
        assert!(err(&format!(r#"{base}[{{"event":"BATTERY_IN","enable":true,"pushUrl":"mailto:a@b"}}]}}"#))
            .contains("eventSubscriptions[0].pushUrl"));
        let ok = parse_config(
            format!(r#"{base}[{{"event":"BATTERY_IN","enable":"false","pushUrl":null}}], "extra": 1}}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(
            ok.event_subscriptions,
            vec![Subscription { event: "BATTERY_IN".into(), push_url: "".into(), enable: false }]
        );
    }
}
