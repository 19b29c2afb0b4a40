//! Who is calling: the `chatgpt-account-id` header plus a bearer token that must match it.

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue};

use super::config::FakeAccount;
use super::rejection::Rejection;
use super::state::FakeState;

/// The header naming the ChatGPT account (workspace) a request is for.
pub(crate) const ACCOUNT_ID_HEADER: &str = "chatgpt-account-id";

/// A header the fake adds to every `/responses` answer (HTTP head, websocket `101`, websocket
/// `error` frames) naming the account that served it: a stand-in for an account-identifying
/// header a real backend may add, which a gateway must not hand to its clients.
pub(crate) const SERVING_ACCOUNT_HEADER: &str = "x-openai-account-id";

/// Adds [`SERVING_ACCOUNT_HEADER`] for `account` to `head`.
pub(crate) fn name_serving_account(head: &mut HeaderMap, account: &FakeAccount) {
    if let Ok(value) = HeaderValue::try_from(account.chatgpt_account_id.as_str()) {
        head.insert(SERVING_ACCOUNT_HEADER, value);
    }
}

/// The account named by `chatgpt-account-id`, if `Authorization: Bearer` carries its access token.
pub(crate) fn authorize(state: &FakeState, headers: &HeaderMap) -> Result<FakeAccount, Rejection> {
    let account_id = headers
        .get(ACCOUNT_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(Rejection::InvalidApiKey)?;
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .ok_or(Rejection::InvalidApiKey)?;
    match state.account(account_id) {
        Some(account) if account.access_token == token => Ok(account),
        _ => Err(Rejection::InvalidApiKey),
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme matched case-insensitively).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn parses_bearer_tokens() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
