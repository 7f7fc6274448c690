//! Bearer tokens: issued by the OAuth2 login, looked up on every Bearer request.
//!
//! A token lives for a fixed virtual age (`--token-ttl-s`) and is never retired early: a load
//! test with thousands of users on one account keeps every token it was given. What bounds
//! the world is a cap per account (`--max-tokens-per-account`): a login past it, with every
//! token still live, is refused (HTTP 429) instead of silently invalidating another client's
//! token, which was the old behaviour and made more than 64 users fight each other with 401s.
//!
//! Tokens are kept under the hex SHA-256 of the token, not the token itself: a look-up is one
//! ordered-map search whatever the number of tokens (the old walk compared every token to stay
//! constant-time, O(n) per request), the search compares digests an attacker cannot steer
//! toward a stored token, and a snapshot carries no usable credential.

use super::world::World;
use crate::clock::Millis;
use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Default of `--max-tokens-per-account`: live tokens one account may hold. Each costs about
/// 200 bytes; 10,000 covers a load test of thousands of users logging in once each (or a
/// few times) within a token's lifetime.
pub const DEFAULT_MAX_TOKENS_PER_ACCOUNT: usize = 10_000;

/// Default of `--token-ttl-s`: a token's lifetime in virtual seconds, 30 days (72 real
/// minutes at `--speed 600`, 12 real hours at 60x).
pub const DEFAULT_TOKEN_TTL_S: u64 = 30 * 86_400;

/// How many tokens an account may hold and for how long they are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    /// Live tokens per account; a login past it is refused.
    pub max_per_account: usize,
    /// Virtual lifetime of a token, milliseconds; 0: tokens never expire.
    pub ttl_ms: Millis,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy { max_per_account: DEFAULT_MAX_TOKENS_PER_ACCOUNT, ttl_ms: DEFAULT_TOKEN_TTL_S as Millis * 1000 }
    }
}

impl TokenPolicy {
    /// Whether a token issued at `issued_at` is still valid at `now`.
    pub fn live(&self, issued_at: Millis, now: Millis) -> bool {
        self.ttl_ms == 0 || now.saturating_sub(issued_at) < self.ttl_ms
    }
}

/// One issued token (the map key is its digest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    /// The account it authenticates as.
    pub account: String,
    /// Virtual time it was issued.
    pub issued_at: Millis,
}

/// Tokens by the hex SHA-256 of the token.
pub type Tokens = BTreeMap<String, Token>;

/// The key a token is kept under.
pub fn token_key(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Read the token table of a snapshot. Snapshots written before tokens had an age map the
/// token itself to the account; such tokens are read as issued at time 0, that is expired
/// unless `--token-ttl-s 0`, and make room for new logins.
pub fn deserialize_tokens<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Tokens, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Saved {
        Now(Token),
        Before(String),
    }
    let saved = BTreeMap::<String, Saved>::deserialize(d)?;
    Ok(saved
        .into_iter()
        .map(|(k, v)| match v {
            Saved::Now(t) => (k, t),
            Saved::Before(account) => (token_key(&k), Token { account, issued_at: 0 }),
        })
        .collect())
}

impl World {
    /// Issue a token for `account` at `now`. The account's expired tokens are forgotten first;
    /// when it still holds `policy.max_per_account` live ones the login is refused and the
    /// world is unchanged, so no client ever loses a token it was given.
    pub fn issue_token(&mut self, account: &str, now: Millis, policy: TokenPolicy) -> Result<String> {
        let (mut live, mut expired) = (0usize, Vec::new());
        for (k, t) in &self.tokens {
            if t.account == account {
                if policy.live(t.issued_at, now) {
                    live += 1;
                } else {
                    expired.push(k.clone());
                }
            }
        }
        if live >= policy.max_per_account {
            return Err(Error::token_cap(account, live));
        }
        for k in expired {
            self.tokens.remove(&k);
        }
        // A shard's tokens start with its number, so a balancer routes them to it.
        let prefix = self.shard.map(|s| s.token_prefix()).unwrap_or_default();
        let token = format!("{prefix}{}", self.rng.hex(32));
        self.tokens.insert(token_key(&token), Token { account: account.to_string(), issued_at: now });
        Ok(token)
    }

    /// The account a bearer token belongs to, if it was issued and is still live at `now`.
    pub fn token_account(&self, token: &str, now: Millis, policy: TokenPolicy) -> Option<&str> {
        if token.is_empty() {
            return None;
        }
        let t = self.tokens.get(&token_key(token))?;
        policy.live(t.issued_at, now).then_some(t.account.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::world::Agent;

    fn world() -> World {
        let mut w = World::empty(1);
        for a in ["demo", "acme"] {
            w.agents.insert(a.into(), Agent { account: a.into(), password: a.into(), name: a.into(), push: None });
        }
        w
    }

    #[test]
    fn tokens_live_until_their_age_and_the_cap_refuses_instead_of_evicting() {
        let mut w = world();
        let policy = TokenPolicy { max_per_account: 50, ttl_ms: 60_000 };
        let acme = w.issue_token("acme", 0, policy).unwrap();
        let demo: Vec<String> = (0..50).map(|i| w.issue_token("demo", i, policy).unwrap()).collect();
        let refused = w.issue_token("demo", 100, policy).unwrap_err();
        assert_eq!(refused.code(), 429);
        assert!(refused.message().contains("demo") && refused.message().contains("50 live"), "{refused}");
        assert!(demo.iter().all(|t| w.token_account(t, 100, policy) == Some("demo")), "no live token is retired");
        assert_eq!(w.token_account(&acme, 100, policy), Some("acme"), "another account's cap is its own");
        assert_eq!(w.token_account(&demo[0][..31], 100, policy), None);
        assert_eq!(w.token_account("", 100, policy), None);
        // Past their age they stop working, and make room.
        assert_eq!(w.token_account(&demo[0], 60_000, policy), None);
        assert_eq!(w.token_account(&demo[49], 60_000, policy), Some("demo"));
        let fresh = w.issue_token("demo", 60_000, policy).unwrap();
        assert_eq!(w.tokens.values().filter(|t| t.account == "demo").count(), 50, "the expired one was forgotten");
        assert_eq!(w.token_account(&fresh, 60_000, policy), Some("demo"));
        let forever = TokenPolicy { ttl_ms: 0, ..policy };
        assert_eq!(w.token_account(&demo[1], i64::MAX, forever), Some("demo"));
    }

    #[test]
    fn snapshots_keep_digests_and_read_the_older_table() {
        let mut w = world();
        let token = w.issue_token("demo", 5, TokenPolicy::default()).unwrap();
        let text = serde_json::to_string(&w.tokens).unwrap();
        assert!(!text.contains(&token), "the token itself is not saved");
        let old = format!(r#"{{"{token}":"demo"}}"#);
        let mut de = serde_json::Deserializer::from_str(&old);
        let read = deserialize_tokens(&mut de).unwrap();
        assert_eq!(read.get(&token_key(&token)), Some(&Token { account: "demo".into(), issued_at: 0 }));
    }
}
