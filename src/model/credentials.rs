//! Bearer tokens: issued by the OAuth2 login, looked up on every Bearer request. Kept
//! bounded (a client that logs in before every call must not grow the world without end)
//! and compared without an early exit.

use super::world::{ct_eq, World};

/// Tokens kept per account; logging in once more retires one of the older ones.
pub const MAX_TOKENS_PER_ACCOUNT: usize = 64;

impl World {
    /// Issue a token for `account`, retiring another of its tokens past
    /// [`MAX_TOKENS_PER_ACCOUNT`]. Tokens are random, so the one retired (the first in key
    /// order) is an arbitrary older one; a client holding it gets 401 and logs in again.
    pub fn issue_token_bounded(&mut self, account: &str) -> String {
        let token = self.issue_token(account);
        let mine: Vec<String> =
            self.tokens.iter().filter(|(t, a)| a.as_str() == account && **t != token).map(|(t, _)| t.clone()).collect();
        if mine.len() >= MAX_TOKENS_PER_ACCOUNT {
            for t in &mine[..mine.len() + 1 - MAX_TOKENS_PER_ACCOUNT] {
                self.tokens.remove(t);
            }
        }
        token
    }

    /// The account a bearer token belongs to. Every token is compared in constant time, with
    /// no early exit, so the answer time does not tell how much of a guess was right.
    pub fn token_account(&self, token: &str) -> Option<&str> {
        let mut found = None;
        for (t, account) in &self.tokens {
            if ct_eq(t.as_bytes(), token.as_bytes()) {
                found = Some(account.as_str());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::world::Agent;

    #[test]
    fn tokens_are_bounded_per_account_and_found_only_whole() {
        let mut w = World::empty(1);
        for a in ["demo", "acme"] {
            w.agents.insert(a.into(), Agent { account: a.into(), password: a.into(), name: a.into(), push: None });
        }
        let acme = w.issue_token_bounded("acme");
        let mut last = String::new();
        for _ in 0..200 {
            last = w.issue_token_bounded("demo");
        }
        assert_eq!(w.tokens.values().filter(|a| *a == "demo").count(), MAX_TOKENS_PER_ACCOUNT);
        assert_eq!(w.token_account(&last), Some("demo"));
        assert_eq!(w.token_account(&acme), Some("acme"), "another account's tokens are not retired");
        assert_eq!(w.token_account(&last[..31]), None);
        assert_eq!(w.token_account(""), None);
    }
}
