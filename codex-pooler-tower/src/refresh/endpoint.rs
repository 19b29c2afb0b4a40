//! [`TokenEndpoint`]: the OAuth refresh call, and [`HttpTokenEndpoint`], its HTTP form.
//!
//! The request is the one the Codex CLI sends (captured from 0.169):
//!
//! ```text
//! POST https://auth.openai.com/oauth/token
//! content-type: application/json
//! {"client_id":"app_EMoamEEZ73f0CkXaXp7hrann","grant_type":"refresh_token",
//!  "refresh_reason":"proactive_expiry","refresh_token":"rt_..."}
//! ```
//!
//! The answer is `{"access_token":..,"refresh_token":..,"id_token":..}`; the refresh token
//! rotates on every call (the old one is then dead), and a missing one means "keep the old".

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::Uri;
use serde_json::Value;

use super::http::{DEFAULT_OAUTH_TIMEOUT, JSON, OAuthHttp, parse_endpoint};
use super::{RefreshError, classify_failure};
use crate::credentials::SecretString;

/// The OAuth token endpoint of ChatGPT logins.
pub const DEFAULT_TOKEN_ENDPOINT: &str = "https://auth.openai.com/oauth/token";

/// The OAuth client id of the Codex CLI, under which the pooled logins were issued.
pub const CODEX_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// Why a refresh is made, sent as `refresh_reason` (the Codex CLI's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefreshReason {
    /// The access token expires soon (or has expired).
    ProactiveExpiry,
    /// Upstream answered 401 to the current access token.
    UnauthorizedRecovery,
}

impl RefreshReason {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ProactiveExpiry => "proactive_expiry",
            Self::UnauthorizedRecovery => "unauthorized_recovery",
        }
    }
}

/// The tokens a successful refresh returned. `Debug` prints no token.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// The new access token.
    pub access_token: SecretString,
    /// The rotated refresh token; `None` when the endpoint kept the old one.
    pub refresh_token: Option<SecretString>,
    /// A new id token, when sent.
    pub id_token: Option<SecretString>,
}

impl TokenGrant {
    /// Reads a token answer: `access_token` is required, the others optional (empty counts as
    /// absent).
    pub fn from_json(body: &[u8]) -> Result<Self, RefreshError> {
        let value: Value = serde_json::from_slice(body).map_err(|_| RefreshError::Malformed)?;
        let field = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| SecretString::new(s.to_owned()))
        };
        Ok(Self {
            access_token: field("access_token").ok_or(RefreshError::Malformed)?,
            refresh_token: field("refresh_token"),
            id_token: field("id_token"),
        })
    }
}

/// Exchanges a refresh token for new tokens.
#[async_trait]
pub trait TokenEndpoint: Send + Sync + fmt::Debug + 'static {
    /// One refresh call. Must not retry: a retried call could consume a rotated token whose
    /// answer was lost.
    async fn refresh(
        &self,
        refresh_token: &SecretString,
        reason: RefreshReason,
    ) -> Result<TokenGrant, RefreshError>;
}

/// Why an endpoint URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token endpoint {0:?} is not an absolute http(s) url")]
pub struct InvalidEndpoint(pub String);

/// The token endpoint over HTTPS (hyper-util, rustls with ring).
#[derive(Debug, Clone)]
pub struct HttpTokenEndpoint {
    http: OAuthHttp,
    uri: Uri,
    client_id: String,
}

impl HttpTokenEndpoint {
    /// The endpoint at `url` (for example [`DEFAULT_TOKEN_ENDPOINT`]), with a 30-second deadline
    /// per call.
    pub fn new(url: &str) -> Result<Self, InvalidEndpoint> {
        Self::build(url, OAuthHttp::new(DEFAULT_OAUTH_TIMEOUT))
    }

    /// Like [`HttpTokenEndpoint::new`] with a custom TLS configuration (for a private CA).
    pub fn with_tls_config(url: &str, tls: rustls::ClientConfig) -> Result<Self, InvalidEndpoint> {
        Self::build(url, OAuthHttp::with_tls_config(tls, DEFAULT_OAUTH_TIMEOUT))
    }

    /// Sets the per-call deadline.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.with_timeout(timeout);
        self
    }

    fn build(url: &str, http: OAuthHttp) -> Result<Self, InvalidEndpoint> {
        let uri = parse_endpoint(url).ok_or_else(|| InvalidEndpoint(url.to_owned()))?;
        Ok(Self {
            http,
            uri,
            client_id: CODEX_CLIENT_ID.to_owned(),
        })
    }

    /// The endpoint's URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }
}

/// The JSON body of a refresh request.
pub(crate) fn refresh_body(
    client_id: &str,
    refresh_token: &SecretString,
    reason: RefreshReason,
) -> Bytes {
    let body = serde_json::json!({
        "client_id": client_id,
        "grant_type": "refresh_token",
        "refresh_reason": reason.as_str(),
        "refresh_token": refresh_token.expose(),
    });
    Bytes::from(body.to_string())
}

#[async_trait]
impl TokenEndpoint for HttpTokenEndpoint {
    async fn refresh(
        &self,
        refresh_token: &SecretString,
        reason: RefreshReason,
    ) -> Result<TokenGrant, RefreshError> {
        let body = refresh_body(&self.client_id, refresh_token, reason);
        let (status, answer) = self.http.post(&self.uri, JSON, body).await?;
        if status.is_success() {
            TokenGrant::from_json(&answer)
        } else {
            Err(classify_failure(status.as_u16(), &answer))
        }
    }
}
