//! [`DeviceLogin`]: the OAuth device-code login of the Codex CLI (`codex login --device-auth`).
//!
//! 1. `POST {issuer}/api/accounts/deviceauth/usercode` with `{"client_id":..}` answers
//!    `{"device_auth_id":..,"user_code":..,"interval":"5"}` (404: device login not enabled);
//! 2. the operator opens `{issuer}/codex/device` and enters the user code;
//! 3. meanwhile `POST {issuer}/api/accounts/deviceauth/token` with
//!    `{"device_auth_id":..,"user_code":..}` is polled every `interval` seconds: 403 or 404 mean
//!    "not yet", 200 carries `{"authorization_code":..,"code_challenge":..,"code_verifier":..}`;
//!    the flow gives up after 15 minutes;
//! 4. the code is exchanged at `POST {issuer}/oauth/token`, form-encoded
//!    `grant_type=authorization_code&code=..&redirect_uri={issuer}/deviceauth/callback&client_id=..&code_verifier=..`,
//!    for `{"id_token":..,"access_token":..,"refresh_token":..}`.
//!
//! Field names and paths follow `codex-rs/login/src/device_code_auth.rs` of the Codex CLI.

use std::time::Duration;

use bytes::Bytes;
use http::{StatusCode, Uri};
use serde_json::Value;
use tokio::time::Instant;

use super::RefreshError;
use super::endpoint::CODEX_CLIENT_ID;
use super::http::{DEFAULT_OAUTH_TIMEOUT, FORM, JSON, OAuthHttp, parse_endpoint};
use crate::credentials::SecretString;

/// The ChatGPT login issuer.
pub const DEFAULT_ISSUER: &str = "https://auth.openai.com";

/// How long a device code stays valid (the Codex CLI's limit).
pub const DEVICE_LOGIN_MAX_WAIT: Duration = Duration::from_secs(15 * 60);

/// Why a device login failed. Messages never include codes or tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The issuer is not an absolute http(s) URL.
    #[error("issuer {0:?} is not an absolute http(s) url")]
    InvalidIssuer(String),
    /// The issuer answered 404 to the user-code request.
    #[error(
        "device code login is not enabled at this issuer; use `upstreams import` with an auth.json"
    )]
    NotEnabled,
    /// A step answered an unexpected status.
    #[error("device login {step} failed with http {status}")]
    Status {
        /// `usercode`, `token` or `exchange`.
        step: &'static str,
        /// The status.
        status: u16,
    },
    /// A step answered a body without the expected fields.
    #[error("device login {0} answered an unexpected body")]
    Malformed(&'static str),
    /// Talking to the issuer failed.
    #[error("device login: {0}")]
    Http(#[from] RefreshError),
    /// Nobody entered the code in time.
    #[error("device login timed out: nobody entered the code within {0:?}")]
    TimedOut(Duration),
}

/// The code the operator enters, and where.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    /// The page to open: `{issuer}/codex/device`.
    pub verification_url: String,
    /// The one-time code to enter there.
    pub user_code: String,
    /// How often the token endpoint is polled.
    pub interval: Duration,
    device_auth_id: String,
}

/// The tokens of a completed login. `Debug` prints no token.
#[derive(Debug, Clone)]
pub struct LoginTokens {
    /// The OpenID id token (account, user, email, plan claims).
    pub id_token: SecretString,
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token, the start of the lineage the gateway will own.
    pub refresh_token: SecretString,
}

/// A device-code login against one issuer.
#[derive(Debug, Clone)]
pub struct DeviceLogin {
    http: OAuthHttp,
    issuer: String,
    client_id: String,
    max_wait: Duration,
    min_interval: Duration,
}

impl DeviceLogin {
    /// A login at `issuer` (for example [`DEFAULT_ISSUER`]).
    pub fn new(issuer: &str) -> Result<Self, LoginError> {
        let issuer = issuer.trim().trim_end_matches('/').to_owned();
        if parse_endpoint(&issuer).is_none() {
            return Err(LoginError::InvalidIssuer(issuer));
        }
        Ok(Self {
            http: OAuthHttp::new(DEFAULT_OAUTH_TIMEOUT),
            issuer,
            client_id: CODEX_CLIENT_ID.to_owned(),
            max_wait: DEVICE_LOGIN_MAX_WAIT,
            min_interval: Duration::from_secs(1),
        })
    }

    /// Gives up after `max_wait` (default 15 minutes).
    #[must_use]
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Step 1: asks for a user code.
    pub async fn request_code(&self) -> Result<DeviceCode, LoginError> {
        let body = serde_json::json!({ "client_id": self.client_id }).to_string();
        let (status, answer) = self
            .http
            .post(
                &self.uri("/api/accounts/deviceauth/usercode")?,
                JSON,
                body.into(),
            )
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Err(LoginError::NotEnabled);
        }
        if !status.is_success() {
            return Err(LoginError::Status {
                step: "usercode",
                status: status.as_u16(),
            });
        }
        let value: Value =
            serde_json::from_slice(&answer).map_err(|_| LoginError::Malformed("usercode"))?;
        let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        let device_auth_id = text("device_auth_id").ok_or(LoginError::Malformed("usercode"))?;
        let user_code = text("user_code")
            .or_else(|| text("usercode"))
            .ok_or(LoginError::Malformed("usercode"))?;
        // The Codex backend sends the interval as a string of seconds; accept a number too.
        let interval = match value.get("interval") {
            Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(v) => v.as_u64(),
            None => None,
        }
        .unwrap_or(5);
        Ok(DeviceCode {
            verification_url: format!("{}/codex/device", self.issuer),
            user_code,
            interval: Duration::from_secs(interval).max(self.min_interval),
            device_auth_id,
        })
    }

    /// Steps 3 and 4: waits for the operator to enter the code, then exchanges it for tokens.
    pub async fn complete(&self, code: &DeviceCode) -> Result<LoginTokens, LoginError> {
        let (authorization_code, code_verifier) = self.poll(code).await?;
        let redirect_uri = format!("{}/deviceauth/callback", self.issuer);
        let form = form_encode(&[
            ("grant_type", "authorization_code"),
            ("code", authorization_code.expose()),
            ("redirect_uri", &redirect_uri),
            ("client_id", &self.client_id),
            ("code_verifier", code_verifier.expose()),
        ]);
        let (status, answer) = self
            .http
            .post(&self.uri("/oauth/token")?, FORM, Bytes::from(form))
            .await?;
        if !status.is_success() {
            return Err(LoginError::Status {
                step: "exchange",
                status: status.as_u16(),
            });
        }
        let value: Value =
            serde_json::from_slice(&answer).map_err(|_| LoginError::Malformed("exchange"))?;
        let token = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(|s| SecretString::new(s.to_owned()))
                .ok_or(LoginError::Malformed("exchange"))
        };
        Ok(LoginTokens {
            id_token: token("id_token")?,
            access_token: token("access_token")?,
            refresh_token: token("refresh_token")?,
        })
    }

    /// Polls until the code is entered; returns the authorization code and PKCE verifier.
    async fn poll(&self, code: &DeviceCode) -> Result<(SecretString, SecretString), LoginError> {
        let uri = self.uri("/api/accounts/deviceauth/token")?;
        let body = Bytes::from(
            serde_json::json!({
                "device_auth_id": code.device_auth_id,
                "user_code": code.user_code,
            })
            .to_string(),
        );
        let deadline = Instant::now() + self.max_wait;
        loop {
            let (status, answer) = self.http.post(&uri, JSON, body.clone()).await?;
            if status.is_success() {
                let value: Value =
                    serde_json::from_slice(&answer).map_err(|_| LoginError::Malformed("token"))?;
                let field = |name: &str| {
                    value
                        .get(name)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(|s| SecretString::new(s.to_owned()))
                        .ok_or(LoginError::Malformed("token"))
                };
                return Ok((field("authorization_code")?, field("code_verifier")?));
            }
            if status != StatusCode::FORBIDDEN && status != StatusCode::NOT_FOUND {
                return Err(LoginError::Status {
                    step: "token",
                    status: status.as_u16(),
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(LoginError::TimedOut(self.max_wait));
            }
            tokio::time::sleep(code.interval.min(deadline - now)).await;
        }
    }

    fn uri(&self, path: &str) -> Result<Uri, LoginError> {
        format!("{}{path}", self.issuer)
            .parse()
            .map_err(|_| LoginError::InvalidIssuer(self.issuer.clone()))
    }
}

/// `application/x-www-form-urlencoded`: unreserved characters as they are, the rest as `%XX`.
fn form_encode(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding() {
        assert_eq!(
            form_encode(&[("a", "x y/z"), ("redirect_uri", "https://h/p?q=1&r")]),
            "a=x%20y%2Fz&redirect_uri=https%3A%2F%2Fh%2Fp%3Fq%3D1%26r"
        );
    }

    #[test]
    fn issuer_must_be_a_url() {
        assert!(DeviceLogin::new("auth.openai.com").is_err());
        assert!(DeviceLogin::new("https://auth.openai.com/").is_ok());
    }
}
