//! A Codex CLI `auth.json` that carries a Pool API key, for clients in the ChatGPT-auth shape.
//!
//! The built-in `openai` provider pointed at the gateway (`chatgpt_base_url` and
//! `openai_base_url`) reads its credentials from `$CODEX_HOME/auth.json` and sends
//! `Authorization: Bearer <tokens.access_token>` plus `chatgpt-account-id: <tokens.account_id>`.
//! Codex CLI 0.169 accepts an access token that is not a JWT, so the Pool API key goes there
//! verbatim and the gateway authenticates it like any other key. The rest of the file only has
//! to satisfy the CLI:
//!
//! - `id_token` must be a JWT the CLI can decode (three dot-separated parts, a non-empty
//!   signature part; the signature is never checked). An id token the CLI cannot decode makes
//!   it drop the credentials silently and send requests without `Authorization`. Ours is
//!   unsigned (`"alg":"none"`) and carries only the claims the CLI reads: email, plan, user and
//!   account id. They are cosmetic; the gateway ignores them.
//! - `refresh_token` is a placeholder. The key is not an OAuth token and cannot be refreshed.
//! - `last_refresh` is far in the future. Without an `exp` claim in the access token, the CLI
//!   refreshes once `last_refresh` is eight days old, which would send the placeholder to
//!   `auth.openai.com` before every request. A future date means it never tries.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// `last_refresh` of a key's `auth.json`: far enough ahead that the CLI never refreshes.
pub const NEVER_STALE: &str = "2099-01-01T00:00:00Z";
/// `refresh_token` of a key's `auth.json`. Not a secret: it refreshes nothing.
pub const REFRESH_PLACEHOLDER: &str = "rt_codex-pooler-no-refresh";

/// The `auth.json` for the Pool API key `key` (prefix `prefix`) of pool `pool`.
///
/// The account id the client will send is `codex-pooler-<prefix>`; the gateway answers
/// workspace discovery with it and replaces it upstream with the serving account's own id.
pub fn client_auth_json(key: &str, prefix: &str, pool: &str) -> Value {
    let account_id = format!("codex-pooler-{prefix}");
    let claims = json!({
        "iss": "codex-pooler",
        "sub": account_id,
        "email": format!("key-{prefix}@{pool}.codex-pooler.invalid"),
        "https://api.openai.com/auth": {
            "chatgpt_plan_type": "plus",
            "chatgpt_user_id": account_id,
            "user_id": account_id,
            "chatgpt_account_id": account_id,
        },
    });
    json!({
        "auth_mode": "chatgpt",
        "OPENAI_API_KEY": null,
        "tokens": {
            "id_token": unsigned_jwt(&claims),
            "access_token": key,
            "refresh_token": REFRESH_PLACEHOLDER,
            "account_id": account_id,
        },
        "last_refresh": NEVER_STALE,
    })
}

/// A JWT with `claims`, `"alg":"none"` and a placeholder signature part (the CLI wants three
/// non-empty parts).
fn unsigned_jwt(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.unsigned")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-cxp-0123456789ab-secret";

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn the_key_is_the_access_token() {
        let auth = client_auth_json(KEY, "0123456789ab", "team");
        assert_eq!(auth["auth_mode"], "chatgpt");
        assert_eq!(auth["tokens"]["access_token"], KEY);
        assert_eq!(auth["tokens"]["refresh_token"], REFRESH_PLACEHOLDER);
        assert_eq!(auth["last_refresh"], NEVER_STALE);
    }

    #[test]
    fn the_id_token_decodes_and_names_the_account_id() {
        let auth = client_auth_json(KEY, "0123456789ab", "team");
        let id_token = auth["tokens"]["id_token"].as_str().unwrap();
        let parts: Vec<&str> = id_token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| !p.is_empty()));
        assert_eq!(decode(parts[0])["alg"], "none");
        let claims = decode(parts[1]);
        let account = &auth["tokens"]["account_id"];
        assert_eq!(account, "codex-pooler-0123456789ab");
        assert_eq!(
            &claims["https://api.openai.com/auth"]["chatgpt_account_id"],
            account
        );
        assert_eq!(
            claims["email"],
            "key-0123456789ab@team.codex-pooler.invalid"
        );
    }

    #[test]
    fn the_key_appears_only_as_the_access_token() {
        let auth = client_auth_json(KEY, "0123456789ab", "team");
        let text = auth.to_string();
        assert_eq!(text.matches(KEY).count(), 1);
        let id_token = auth["tokens"]["id_token"].as_str().unwrap();
        let claims = decode(id_token.split('.').nth(1).unwrap()).to_string();
        assert!(!claims.contains("secret"), "{claims}");
    }
}
