//! An agent's event-push configuration (E1/E2) as world operations. The nine events are
//! `model::event::EventName`.
//!
//! The api layer checks the wire shape and the URLs; the rules about which events may be
//! subscribed live here so every way into the world (E1, a snapshot import) obeys them.

use super::event::PushConfig;
use super::world::World;
use crate::error::{code, Error, Result};
use std::sync::Arc;

impl World {
    /// E1: replace `agent`'s event-push configuration with `config`; returns what was saved.
    ///
    /// Every subscription names one of the nine events (its type says so), each at most once: a duplicate
    /// would make it ambiguous which URL and `enable` flag win, so it is refused rather than
    /// silently resolved. Nothing changes when the configuration is refused.
    pub fn set_push_config(&mut self, agent: &str, config: PushConfig) -> Result<Arc<PushConfig>> {
        for (i, s) in config.event_subscriptions.iter().enumerate() {
            if config.event_subscriptions[..i].iter().any(|p| p.event == s.event) {
                return Err(Error::business(
                    code::BAD_BODY,
                    format!("Request body is invalid: eventSubscriptions[{i}].event {} is listed twice.", s.event),
                ));
            }
        }
        let a = self
            .agents
            .get_mut(agent)
            .ok_or_else(|| Error::Internal(format!("authenticated agent {agent} is not in the world")))?;
        let saved = Arc::new(config);
        a.push = Some(saved.clone());
        Ok(saved)
    }

    /// E2: `agent`'s event-push configuration, `None` until E1 saved one.
    pub fn push_config(&self, agent: &str) -> Option<Arc<PushConfig>> {
        self.agents.get(agent).and_then(|a| a.push.clone())
    }
}

/// Callback and push URLs must be absolute http(s) URLs: the one check of every way a URL
/// comes in (O2's callback, E1, advertising media, the command line, scenarios).
pub fn check_url(url: &str) -> std::result::Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host_str().is_some() => Ok(()),
        Ok(_) => Err("only http and https URLs are called back".into()),
        Err(e) => Err(format!("'{}' is not an absolute URL ({e})", crate::error::clip(url))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::{EventName, Subscription};
    use crate::model::world::Agent;

    fn world() -> World {
        let mut w = World::empty(1);
        w.agents.insert(
            "demo".into(),
            Agent { account: "demo".into(), password: "demo".into(), name: "Demo".into(), push: None },
        );
        w
    }

    fn sub(event: EventName) -> Subscription {
        Subscription { event, push_url: String::new(), enable: true }
    }

    #[test]
    fn duplicate_events_are_refused_and_nothing_changes() {
        let mut w = world();
        let cfg = |subs: Vec<Subscription>| PushConfig { push_url: "http://x/".into(), event_subscriptions: subs };
        let e = w.set_push_config("demo", cfg(vec![sub(EventName::BatteryIn), sub(EventName::BatteryIn)])).unwrap_err();
        assert!(e.message().contains("listed twice"), "{e}");
        assert!(w.push_config("demo").is_none());
        let saved = w.set_push_config("demo", cfg(EventName::ALL.map(sub).to_vec())).unwrap();
        assert_eq!(w.push_config("demo"), Some(saved));
    }
}
