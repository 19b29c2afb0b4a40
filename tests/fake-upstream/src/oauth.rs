//! The fake's OAuth server: rotating refresh tokens and the device-code login, as
//! `auth.openai.com` behaves for the Codex CLI (see `shared/research/codex-protocol.md` §8).
//!
//! - Each refresh token works once. A refresh answers a new access token (a JWT with `exp`), a
//!   new refresh token and a new id token, and the account's expected access token becomes the
//!   new one (the old one stops working at `/responses`). Sending a used refresh token answers
//!   `401 {"error":{"code":"refresh_token_reused",..}}`; an unknown one
//!   `400 {"error":"invalid_grant",..}`.
//! - Failures can be injected ([`FakeRefreshFailure`]) and every refresh call is counted.
//! - The device login issues a user code, answers `403` to the first
//!   [`FakeOAuth::device_pending_polls`] polls, then an authorization code, and exchanges it for
//!   tokens of [`FakeOAuth::device_account`].

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::config::FakeConfig;

/// The Codex CLI's OAuth client id; other client ids are refused.
pub const FAKE_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// A failure injected into every refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeRefreshFailure {
    /// `400 {"error":"invalid_grant"}`: the lineage is dead.
    InvalidGrant,
    /// This status (for example 503) with a server-error body.
    Status(u16),
}

/// The OAuth side of the fake. `Default`: no refresh token known, tokens valid for an hour, no
/// device login.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeOAuth {
    /// A failure to answer every refresh with (the refresh token is not consumed).
    pub refresh_failure: Option<FakeRefreshFailure>,
    /// How long issued access tokens are valid.
    pub access_token_lifetime: Duration,
    /// Pause before answering a refresh.
    pub refresh_delay: Duration,
    /// The `chatgpt_account_id` a device-code login signs in as; `None` answers the device
    /// endpoints 404 (device login not enabled).
    pub device_account: Option<String>,
    /// How many polls answer "pending" (403) before the login is approved.
    pub device_pending_polls: u32,
    grants: Vec<Grant>,
    flows: Vec<DeviceFlow>,
    refresh_calls: u64,
    issued: u64,
}

#[derive(Debug, Clone, PartialEq)]
struct Grant {
    refresh_token: String,
    account: String,
    used: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct DeviceFlow {
    device_auth_id: String,
    user_code: String,
    polls: u32,
    authorization_code: String,
    code_verifier: String,
    exchanged: bool,
}

impl Default for FakeOAuth {
    fn default() -> Self {
        Self {
            refresh_failure: None,
            access_token_lifetime: Duration::from_secs(3600),
            refresh_delay: Duration::ZERO,
            device_account: None,
            device_pending_polls: 1,
            grants: Vec::new(),
            flows: Vec::new(),
            refresh_calls: 0,
            issued: 0,
        }
    }
}

impl FakeOAuth {
    /// Accepts `refresh_token` (once) for the account `chatgpt_account_id`.
    pub fn grant(&mut self, chatgpt_account_id: &str, refresh_token: &str) {
        self.grants.push(Grant {
            refresh_token: refresh_token.to_owned(),
            account: chatgpt_account_id.to_owned(),
            used: false,
        });
    }

    /// How many refresh requests were answered (failures included).
    pub fn refresh_calls(&self) -> u64 {
        self.refresh_calls
    }

    /// The refresh token that works now for `chatgpt_account_id`, if any.
    pub fn live_refresh_token(&self, chatgpt_account_id: &str) -> Option<&str> {
        self.grants
            .iter()
            .rev()
            .find(|g| g.account == chatgpt_account_id && !g.used)
            .map(|g| g.refresh_token.as_str())
    }

    fn next(&mut self) -> u64 {
        self.issued += 1;
        self.issued
    }
}

/// An answer: status and JSON body.
pub(crate) type Answer = (u16, Value);

/// `grant_type=refresh_token` (JSON body).
pub(crate) fn refresh(config: &mut FakeConfig, body: &Value, now: u64) -> Answer {
    config.oauth.refresh_calls += 1;
    if body.get("client_id").and_then(Value::as_str) != Some(FAKE_CLIENT_ID) {
        return invalid_request("unknown client_id");
    }
    match config.oauth.refresh_failure {
        Some(FakeRefreshFailure::InvalidGrant) => return invalid_grant(),
        Some(FakeRefreshFailure::Status(status)) => {
            return (
                status,
                json!({"error": {"message": "fake auth server failure", "type": "server_error"}}),
            );
        }
        None => {}
    }
    let sent = body
        .get("refresh_token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(grant) = config
        .oauth
        .grants
        .iter_mut()
        .find(|g| g.refresh_token == sent)
    else {
        return invalid_grant();
    };
    if grant.used {
        return (
            401,
            json!({"error": {
                "message": "Your refresh token has already been used to generate a new access token. Please try signing in again.",
                "type": "invalid_request_error",
                "param": null,
                "code": "refresh_token_reused",
            }}),
        );
    }
    grant.used = true;
    let account = grant.account.clone();
    issue(config, &account, now)
}

/// `POST /api/accounts/deviceauth/usercode`.
pub(crate) fn user_code(config: &mut FakeConfig, body: &Value) -> Answer {
    if config.oauth.device_account.is_none() {
        return (404, json!({"error": {"message": "not found"}}));
    }
    if body.get("client_id").and_then(Value::as_str) != Some(FAKE_CLIENT_ID) {
        return invalid_request("unknown client_id");
    }
    let n = config.oauth.next();
    let flow = DeviceFlow {
        device_auth_id: format!("deviceauth_fake_{n}"),
        user_code: format!("FAKE-{n:04}"),
        polls: 0,
        authorization_code: format!("ac_fake_{n}"),
        code_verifier: format!("verifier_fake_{n}"),
        exchanged: false,
    };
    let answer = json!({
        "device_auth_id": flow.device_auth_id,
        "user_code": flow.user_code,
        "interval": "1",
    });
    config.oauth.flows.push(flow);
    (200, answer)
}

/// `POST /api/accounts/deviceauth/token`: pending (403) until approved.
pub(crate) fn poll(config: &mut FakeConfig, body: &Value) -> Answer {
    let id = body.get("device_auth_id").and_then(Value::as_str);
    let code = body.get("user_code").and_then(Value::as_str);
    let pending = config.oauth.device_pending_polls;
    let Some(flow) = config
        .oauth
        .flows
        .iter_mut()
        .find(|f| Some(f.device_auth_id.as_str()) == id && Some(f.user_code.as_str()) == code)
    else {
        return invalid_request("unknown device authorization");
    };
    flow.polls += 1;
    if flow.polls <= pending {
        return (
            403,
            json!({"error": {"message": "authorization pending", "code": "deviceauth_authorization_pending"}}),
        );
    }
    (
        200,
        json!({
            "authorization_code": flow.authorization_code,
            "code_challenge": "fake-challenge",
            "code_verifier": flow.code_verifier,
        }),
    )
}

/// `grant_type=authorization_code` (form body): the device login's code exchange.
pub(crate) fn exchange(config: &mut FakeConfig, form: &[(String, String)], now: u64) -> Answer {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("client_id") != Some(FAKE_CLIENT_ID)
        || !field("redirect_uri").is_some_and(|u| u.ends_with("/deviceauth/callback"))
    {
        return invalid_request("bad client_id or redirect_uri");
    }
    let (code, verifier) = (field("code"), field("code_verifier"));
    let Some(flow) = config.oauth.flows.iter_mut().find(|f| {
        Some(f.authorization_code.as_str()) == code
            && Some(f.code_verifier.as_str()) == verifier
            && !f.exchanged
    }) else {
        return invalid_grant();
    };
    flow.exchanged = true;
    let Some(account) = config.oauth.device_account.clone() else {
        return invalid_grant();
    };
    issue(config, &account, now)
}

/// Issues tokens for `account`: a new grant, and the account's expected access token replaced.
fn issue(config: &mut FakeConfig, account: &str, now: u64) -> Answer {
    let n = config.oauth.next();
    let exp = now + config.oauth.access_token_lifetime.as_secs();
    let (label, plan) = config
        .account(account)
        .map(|a| (a.label.clone(), a.plan_type.clone()))
        .unwrap_or_else(|| (account.to_owned(), "plus".to_owned()));
    let auth = json!({
        "chatgpt_plan_type": plan,
        "chatgpt_user_id": format!("user-{account}"),
        "chatgpt_account_id": account,
    });
    let access_token = jwt(&json!({
        "exp": exp, "iat": now, "jti": format!("fake-at-{n}"),
        "https://api.openai.com/auth": auth,
    }));
    let id_token = jwt(&json!({
        "email": format!("{label}@example.com"), "exp": exp, "iat": now,
        "https://api.openai.com/auth": auth,
    }));
    let refresh_token = format!("rt_fake_{account}_{n}");
    config.oauth.grant(account, &refresh_token);
    if let Some(held) = config
        .accounts
        .iter_mut()
        .find(|a| a.chatgpt_account_id == account)
    {
        held.access_token = access_token.clone();
    }
    (
        200,
        json!({
            "access_token": access_token,
            "refresh_token": refresh_token,
            "id_token": id_token,
            "token_type": "Bearer",
            "expires_in": config.oauth.access_token_lifetime.as_secs(),
        }),
    )
}

fn invalid_grant() -> Answer {
    (
        400,
        json!({"error": "invalid_grant", "error_description": "Invalid refresh token"}),
    )
}

fn invalid_request(message: &str) -> Answer {
    (
        400,
        json!({"error": {"message": message, "type": "invalid_request_error", "code": "invalid_request"}}),
    )
}

/// An unsigned JWT around `claims`.
fn jwt(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.fakesig")
}

/// Decodes an `application/x-www-form-urlencoded` body (`+` is a space, `%XX` a byte).
pub(crate) fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &[u8]| {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < s.len() => {
                    let hex = std::str::from_utf8(&s[i + 1..i + 3]).ok();
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |b| *b == b'=');
            let key = decode(parts.next().unwrap_or_default());
            let value = decode(parts.next().unwrap_or_default());
            (key, value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FakeAccount;

    fn config() -> FakeConfig {
        let mut config = FakeConfig::with_accounts(vec![FakeAccount::new("acct-1", "tok", "one")]);
        config.oauth.grant("acct-1", "rt-0");
        config
    }

    fn refresh_body(rt: &str) -> Value {
        json!({"client_id": FAKE_CLIENT_ID, "grant_type": "refresh_token", "refresh_token": rt})
    }

    #[test]
    fn refresh_tokens_work_once() {
        let mut config = config();
        let (status, answer) = refresh(&mut config, &refresh_body("rt-0"), 1_000);
        assert_eq!(status, 200);
        let access = answer["access_token"].as_str().unwrap_or_default();
        assert_eq!(config.accounts[0].access_token, access);
        let next = answer["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            config.oauth.live_refresh_token("acct-1"),
            Some(next.as_str())
        );
        let (status, answer) = refresh(&mut config, &refresh_body("rt-0"), 1_001);
        assert_eq!(status, 401);
        assert_eq!(answer["error"]["code"], "refresh_token_reused");
        assert_eq!(refresh(&mut config, &refresh_body("nope"), 1_002).0, 400);
        assert_eq!(refresh(&mut config, &refresh_body(&next), 1_003).0, 200);
        assert_eq!(config.oauth.refresh_calls(), 4);
    }

    #[test]
    fn injected_failures_do_not_consume_the_token() {
        let mut config = config();
        config.oauth.refresh_failure = Some(FakeRefreshFailure::Status(503));
        assert_eq!(refresh(&mut config, &refresh_body("rt-0"), 1).0, 503);
        config.oauth.refresh_failure = Some(FakeRefreshFailure::InvalidGrant);
        let (status, answer) = refresh(&mut config, &refresh_body("rt-0"), 1);
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        config.oauth.refresh_failure = None;
        assert_eq!(refresh(&mut config, &refresh_body("rt-0"), 1).0, 200);
    }

    #[test]
    fn form_bodies_decode() {
        assert_eq!(
            parse_form(b"a=x%20y%2Fz&b=1+2&c"),
            [
                ("a".to_owned(), "x y/z".to_owned()),
                ("b".to_owned(), "1 2".to_owned()),
                ("c".to_owned(), String::new()),
            ]
        );
    }
}
