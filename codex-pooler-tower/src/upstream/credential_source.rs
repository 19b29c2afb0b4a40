//! Where the upstream client gets each account's access token.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use codex_pooler_core::model::{AccountId, UpstreamAccount};

/// An account's OAuth access token. Its `Debug` never prints the value.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    /// Wraps a token.
    pub fn new(token: impl Into<Arc<str>>) -> Self {
        Self(token.into())
    }

    /// The token itself, for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// Why no token could be had for an account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The source holds no token for the account.
    #[error("no access token for upstream account {0}")]
    Missing(AccountId),
    /// The account's refresh token was rejected for good; an operator must log it in again.
    #[error("upstream account {0} needs a new login: its refresh token was rejected")]
    ReauthRequired(AccountId),
    /// The access token is unusable and refreshing it failed for now (retried with backoff).
    #[error("upstream account {0} has no valid access token: refreshing it failed")]
    RefreshFailed(AccountId),
    /// Refreshed tokens could not be stored yet, so they are not used yet.
    #[error("refreshed tokens of upstream account {0} are not stored yet")]
    NotStored(AccountId),
}

/// Supplies access tokens for upstream accounts.
#[async_trait]
pub trait CredentialSource: Send + Sync + fmt::Debug + 'static {
    /// The token to send for `account` now.
    async fn access_token(&self, account: &UpstreamAccount)
    -> Result<AccessToken, CredentialError>;

    /// Called once when upstream answered 401 to `rejected`, the token [`access_token`] gave
    /// for `account`: `Some` is a token to retry the same account with, `None` means no retry
    /// (the 401 stands), an error means the account has no usable token now.
    ///
    /// The default never retries; [`RefreshingCredentials`](crate::refresh::RefreshingCredentials)
    /// refreshes.
    ///
    /// [`access_token`]: CredentialSource::access_token
    async fn refresh_after_unauthorized(
        &self,
        account: &UpstreamAccount,
        rejected: &AccessToken,
    ) -> Result<Option<AccessToken>, CredentialError> {
        let _ = (account, rejected);
        Ok(None)
    }
}

/// Access tokens held in memory, replaced wholesale when the configuration reloads.
#[derive(Debug, Default)]
pub struct StaticCredentials {
    tokens: RwLock<HashMap<AccountId, AccessToken>>,
}

impl StaticCredentials {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one account's token.
    pub fn insert(&self, account: AccountId, token: AccessToken) {
        self.tokens
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account, token);
    }

    /// Replaces all tokens.
    pub fn replace_all(&self, tokens: HashMap<AccountId, AccessToken>) {
        *self.tokens.write().unwrap_or_else(|p| p.into_inner()) = tokens;
    }
}

#[async_trait]
impl CredentialSource for StaticCredentials {
    async fn access_token(
        &self,
        account: &UpstreamAccount,
    ) -> Result<AccessToken, CredentialError> {
        self.tokens
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&account.id)
            .cloned()
            .ok_or(CredentialError::Missing(account.id))
    }
}
