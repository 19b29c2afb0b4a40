//! Unauthorized recovery: every call the gateway makes with an account's token goes through
//! [`with_recovery`], so a 401 is answered the same way everywhere (model traffic over HTTP and
//! websocket, the usage probe, the catalog sync, workspace discovery).
//!
//! 1. Take the account's token from the [`CredentialSource`] and make the call.
//! 2. If upstream refused the token (401), ask for one refresh
//!    ([`CredentialSource::refresh_after_unauthorized`], single-flight per account) and, given a
//!    token, make the call once more. A second 401 stands: there is never a second refresh.
//! 3. After a refresh the account's workspace route is rediscovered in the background, as the
//!    Codex CLI reruns `/wham/accounts/check` after its unauthorized recovery. The retry itself
//!    uses the route known now.

use std::future::Future;

use codex_pooler_core::model::UpstreamAccount;

use super::{AccessToken, CredentialError, CredentialSource};
use crate::workspace::WorkspaceRoutes;

/// An answer to a call made with an account's token.
pub(crate) trait TokenAnswer {
    /// What a superseded 401 answer is reduced to before the retry (quota evidence, or nothing:
    /// an HTTP response is dropped at once so its connection is freed).
    type Evidence;

    /// Whether upstream refused the token (401).
    fn is_unauthorized(&self) -> bool;

    /// The evidence in a 401 answer that will not be returned.
    fn into_evidence(self) -> Self::Evidence;
}

/// What a call made with an account's token came to.
#[derive(Debug)]
pub(crate) struct Recovered<T: TokenAnswer> {
    /// The answer to use: the retry's after a refresh, else the only call's; an error when the
    /// account had no token, or refreshing after a 401 failed (the account has no usable token
    /// now: the caller moves on).
    pub(crate) answer: Result<T, CredentialError>,
    /// What was kept of the 401 answer that was not returned (a retry replaced it, or the
    /// refresh failed).
    pub(crate) refused: Option<T::Evidence>,
}

/// Makes `call` with the account's token, recovering once from a 401. `rediscover` is told
/// about accounts whose token was refreshed.
pub(crate) async fn with_recovery<T, F, Fut>(
    credentials: &dyn CredentialSource,
    account: &UpstreamAccount,
    rediscover: Option<&WorkspaceRoutes>,
    mut call: F,
) -> Recovered<T>
where
    T: TokenAnswer,
    F: FnMut(AccessToken) -> Fut,
    Fut: Future<Output = T>,
{
    let token = match credentials.access_token(account).await {
        Ok(token) => token,
        Err(err) => {
            return Recovered {
                answer: Err(err),
                refused: None,
            };
        }
    };
    let first = call(token.clone()).await;
    if !first.is_unauthorized() {
        return Recovered {
            answer: Ok(first),
            refused: None,
        };
    }
    match credentials
        .refresh_after_unauthorized(account, &token)
        .await
    {
        Ok(Some(fresh)) => {
            let refused = Some(first.into_evidence());
            tracing::debug!(account = %account.id, "upstream refused the token: retrying once with a fresh one");
            if let Some(routes) = rediscover {
                routes.request_discovery(account.id);
            }
            Recovered {
                answer: Ok(call(fresh).await),
                refused,
            }
        }
        // No fresher token to try: the 401 stands.
        Ok(None) => Recovered {
            answer: Ok(first),
            refused: None,
        },
        Err(err) => Recovered {
            answer: Err(err),
            refused: Some(first.into_evidence()),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use codex_pooler_core::model::AccountId;

    use super::*;

    impl TokenAnswer for u16 {
        type Evidence = u16;

        fn is_unauthorized(&self) -> bool {
            *self == 401
        }

        fn into_evidence(self) -> u16 {
            self
        }
    }

    /// Hands out `old`; a refresh answers `outcome`.
    #[derive(Debug)]
    struct Source {
        outcome: Result<Option<&'static str>, CredentialError>,
        refreshes: AtomicUsize,
    }

    #[async_trait]
    impl CredentialSource for Source {
        async fn access_token(&self, _: &UpstreamAccount) -> Result<AccessToken, CredentialError> {
            Ok(AccessToken::new("old"))
        }

        async fn refresh_after_unauthorized(
            &self,
            _: &UpstreamAccount,
            rejected: &AccessToken,
        ) -> Result<Option<AccessToken>, CredentialError> {
            assert_eq!(rejected.expose(), "old");
            self.refreshes.fetch_add(1, Ordering::SeqCst);
            self.outcome.clone().map(|t| t.map(AccessToken::new))
        }
    }

    fn account() -> UpstreamAccount {
        UpstreamAccount::new(AccountId(7), "a").with_chatgpt_account_id("acct")
    }

    /// Runs with a call answering 401 to `refused_tokens`, 200 otherwise; returns what it came
    /// to, the tokens sent, the refresh count and whether rediscovery was asked for.
    async fn run(
        outcome: Result<Option<&'static str>, CredentialError>,
        refused_tokens: &[&str],
    ) -> (Recovered<u16>, Vec<String>, usize, bool) {
        let source = Source {
            outcome,
            refreshes: AtomicUsize::new(0),
        };
        let routes = WorkspaceRoutes::new();
        let sent = Mutex::new(Vec::new());
        let recovered = with_recovery(&source, &account(), Some(&routes), |token| {
            sent.lock().unwrap().push(token.expose().to_owned());
            let status = if refused_tokens.contains(&token.expose()) {
                401
            } else {
                200
            };
            async move { status }
        })
        .await;
        let rediscover = routes.take_requested() == [AccountId(7)];
        let sent = sent.into_inner().unwrap();
        (recovered, sent, source.refreshes.into_inner(), rediscover)
    }

    #[tokio::test]
    async fn an_accepted_token_is_not_refreshed() {
        let (r, sent, refreshes, rediscover) = run(Ok(Some("new")), &[]).await;
        assert_eq!(r.answer, Ok(200));
        assert_eq!((sent.len(), refreshes, rediscover), (1, 0, false));
    }

    #[tokio::test]
    async fn a_401_refreshes_once_and_retries_once() {
        let (r, sent, refreshes, rediscover) = run(Ok(Some("new")), &["old"]).await;
        assert_eq!(r.answer, Ok(200));
        assert_eq!(r.refused, Some(401));
        assert_eq!(sent, ["old", "new"]);
        assert_eq!((refreshes, rediscover), (1, true));
    }

    #[tokio::test]
    async fn a_second_401_stands() {
        let (r, sent, refreshes, _) = run(Ok(Some("new")), &["old", "new"]).await;
        assert_eq!(r.answer, Ok(401));
        assert_eq!((sent.len(), refreshes), (2, 1));
    }

    #[tokio::test]
    async fn no_fresher_token_keeps_the_401() {
        let (r, sent, refreshes, rediscover) = run(Ok(None), &["old"]).await;
        assert_eq!(r.answer, Ok(401));
        assert_eq!(r.refused, None);
        assert_eq!((sent.len(), refreshes, rediscover), (1, 1, false));
    }

    #[tokio::test]
    async fn a_failed_refresh_is_an_error_keeping_the_refusal() {
        let dead = CredentialError::ReauthRequired(AccountId(7));
        let (r, sent, refreshes, rediscover) = run(Err(dead.clone()), &["old"]).await;
        assert_eq!(r.answer, Err(dead));
        assert_eq!(r.refused, Some(401));
        assert_eq!((sent.len(), refreshes, rediscover), (1, 1, false));
    }

    #[tokio::test]
    async fn no_token_no_call() {
        let missing = crate::upstream::StaticCredentials::new();
        let r = with_recovery(&missing, &account(), None, |_| async { 200_u16 }).await;
        assert_eq!(r.answer, Err(CredentialError::Missing(AccountId(7))));
    }
}
