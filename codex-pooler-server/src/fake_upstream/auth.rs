//! Who is calling: the `chatgpt-account-id` header plus a bearer token that must match it.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

use super::config::FakeAccount;
use super::rejection::Rejection;
use super::state::FakeState;

/// The header naming the ChatGPT account (workspace) a request is for.
pub(crate) const ACCOUNT_ID_HEADER: &str = "chatgpt-account-id";

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
