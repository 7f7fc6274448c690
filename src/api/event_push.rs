//! Cabinet event-push configuration (E1-E2, docs/api-reference.md): what each agent subscribes to
//! and where the platform POSTs the events (the pushes themselves are built in
//! `push/payload.rs` and delivered by `push/`).

use super::auth::AuthAgent;
use super::envelope::{self, Envelope};
use super::input::{bind_json, BindError, Text};
use super::operation::{schema, Answer, Body, Method, Operation};
use super::route;
use crate::error::{clip, Error};
use crate::model::event::{EventName, PushConfig, Subscription};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
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
        body: Some(Body::Typed(schema::<PushConfigBody>)),
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
    cfg.route("/cabinet/eventPush/config", route::post().to(save_config))
        .route("/cabinet/eventPush/config/get", route::get().to(get_config));
}

/// A receiving URL: absolute http(s), at most [`MAX_URL`] characters; stored trimmed.
fn url_field(v: &str, field: &str) -> Result<String, Error> {
    let v = v.trim();
    if v.len() > MAX_URL {
        return Err(Error::bad_body(format!("{field} is longer than {MAX_URL} characters")));
    }
    crate::model::push_config::check_url(v).map_err(|why| Error::bad_body(format!("{field}: {why}")))?;
    Ok(v.to_string())
}

/// E1's body (`AgentCabinetEventPushConfig`).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "AgentCabinetEventPushConfigRequest")]
pub struct PushConfigBody {
    /// The default URL receiving the events (absolute http or https).
    #[schemars(example = &"http://127.0.0.1:9/hook")]
    pub push_url: Text,
    /// Which events are pushed, and where; absent is none.
    pub event_subscriptions: Option<Vec<SubscriptionBody>>,
}

/// One `eventSubscriptions[i]` entry (`PushSubscription`).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "PushSubscriptionRequest")]
pub struct SubscriptionBody {
    /// An event name (docs/event-push.md), exact case.
    #[schemars(with = "EventName", example = &"BATTERY_IN")]
    pub event: Text,
    /// Where this event goes instead of the default URL; blank or absent is the default.
    pub push_url: Option<Text>,
    /// Whether the event is pushed. Like the platform's JSON binder, "true"/"false" strings
    /// are read as booleans.
    pub enable: bool,
}

/// The `AgentCabinetEventPushConfig` body of E1, bound with E1's own refusals: code 1002 with
/// the member's path (`eventSubscriptions[0].enable is required`). Which events exist is the
/// model's rule (`World::set_push_config`).
fn parse_config(body: &[u8]) -> Result<PushConfig, Error> {
    let text = std::str::from_utf8(body).map_err(|_| Error::bad_body("it is not UTF-8"))?;
    if text.trim().is_empty() {
        return Err(Error::bad_body("expected a JSON object {pushUrl, eventSubscriptions}, got an empty body"));
    }
    let v: Value = serde_json::from_str(text).map_err(|e| Error::bad_body(format!("malformed JSON ({e})")))?;
    let b: PushConfigBody = bind_json(&v).map_err(|e| match e {
        BindError::Missing(name) => Error::bad_body(format!("{name} is required")),
        BindError::Bad { name, why } => Error::bad_body(format!("{name}: {why}")),
        BindError::NotAnObject { name, got } if name.is_empty() => {
            Error::bad_body(format!("expected a JSON object {{pushUrl, eventSubscriptions}}, got {got}"))
        }
        BindError::NotAnObject { name, got } => Error::bad_body(format!("{name}: expected a JSON object, got {got}")),
        BindError::Other(why) => Error::bad_body(why),
    })?;
    let push_url = url_field(&b.push_url, "pushUrl")?;
    let subs = b
        .event_subscriptions
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, s)| {
            let push_url = match s.push_url {
                Some(u) => url_field(&u, &format!("eventSubscriptions[{i}].pushUrl"))?,
                None => String::new(),
            };
            let event = EventName::from_name(&s.event.0).ok_or_else(|| {
                Error::bad_body(format!(
                    "eventSubscriptions[{i}].event '{}' is not an event name (expected one of {})",
                    clip(&s.event.0),
                    EventName::list()
                ))
            })?;
            Ok(Subscription { event, push_url, enable: s.enable })
        })
        .collect::<Result<_, Error>>()?;
    Ok(PushConfig { push_url, event_subscriptions: subs })
}

/// The wire form of a configuration (`AgentCabinetEventPushConfig`).
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "AgentCabinetEventPushConfig")]
struct ConfigView<'a> {
    push_url: &'a str,
    event_subscriptions: Vec<SubscriptionView<'a>>,
}

/// One subscription of a [`ConfigView`].
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "PushSubscription")]
struct SubscriptionView<'a> {
    event: EventName,
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
            .map(|s| SubscriptionView { event: s.event, push_url: &s.push_url, enable: s.enable })
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
        assert!(err(r#"{"pushUrl":7}"#).contains("pushUrl: expected a string, got a number"));
        assert!(err(r#"{"pushUrl":"ftp://x/"}"#).contains("only http and https"));
        assert!(err(r#"{"pushUrl":"/relative"}"#).contains("not an absolute URL"));
        let base = r#"{"pushUrl":"http://h/","eventSubscriptions":"#;
        assert!(err(&format!("{base}{{}}}}")).contains("eventSubscriptions: expected an array, got an object"));
        assert!(err(&format!("{base}[1]}}")).contains("eventSubscriptions[0]: expected a JSON object, got a number"));
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
            vec![Subscription { event: EventName::BatteryIn, push_url: "".into(), enable: false }]
        );
    }
}
