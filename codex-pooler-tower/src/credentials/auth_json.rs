//! Importing a Codex CLI `auth.json` as upstream credentials.
//!
//! The file is what `codex login` writes to `$CODEX_HOME/auth.json`: an `auth_mode`, an optional
//! `OPENAI_API_KEY`, and a `tokens` object with `id_token`, `access_token`, `refresh_token` and
//! `account_id`. Only ChatGPT logins can be pooled, so API-key files are refused. After an import
//! the gateway owns the refresh lineage: the same file used elsewhere will soon fail with
//! `refresh_token_reused`.

use std::time::{SystemTime, UNIX_EPOCH};

use codex_pooler_core::store::SecretKind;
use serde_json::{Map, Value};

use super::jwt::{IdClaims, JwtError};
use super::secret::SecretString;

/// The largest `auth.json` accepted, in bytes (64 KiB).
pub const AUTH_JSON_MAX_BYTES: usize = 64 * 1024;

/// Why an `auth.json` could not be imported. Messages are meant for the operator and never include
/// token values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthJsonError {
    /// Larger than [`AUTH_JSON_MAX_BYTES`].
    #[error(
        "auth.json is larger than 64 KiB; upload the file codex writes to $CODEX_HOME/auth.json"
    )]
    TooLarge,
    /// Not a JSON object.
    #[error(
        "auth.json is not a json object; upload the file codex writes to $CODEX_HOME/auth.json"
    )]
    NotJson,
    /// An API-key login, with no ChatGPT tokens.
    #[error(
        "auth.json holds an API key, not ChatGPT tokens; run `codex login` with a ChatGPT account"
    )]
    ApiKeyOnly,
    /// A required token is absent or empty; holds its path, e.g. `tokens.refresh_token`.
    #[error(
        "auth.json has no {0}; run `codex login` with a ChatGPT account and upload the new file"
    )]
    MissingToken(&'static str),
    /// A token that must be a JWT is not one.
    #[error("auth.json {field} is not a valid token: {source}")]
    MalformedToken {
        /// Which token, e.g. `tokens.id_token`.
        field: &'static str,
        /// What is wrong with it.
        source: JwtError,
    },
    /// The access token has already expired.
    #[error(
        "auth.json access token has expired; run any codex command to refresh it (or `codex login`) and upload the file again"
    )]
    AccessTokenExpired,
    /// Neither `tokens.account_id` nor the id token names a ChatGPT account.
    #[error(
        "auth.json names no ChatGPT account (no tokens.account_id and no chatgpt_account_id claim); run `codex login` again"
    )]
    MissingAccountId,
}

/// The credentials and identity taken from an imported `auth.json`.
#[derive(Debug, Clone)]
pub struct ImportedAuth {
    /// The ChatGPT account (workspace) id: the `chatgpt-account-id` header value.
    pub chatgpt_account_id: String,
    /// The ChatGPT user id, from the id token (or the access token).
    pub user_id: Option<String>,
    /// The login email, from the id token (or the access token).
    pub email: Option<String>,
    /// The ChatGPT plan type, kept as sent (`plus`, `pro`, `team`, ...).
    pub plan_type: Option<String>,
    /// The access token's `exp`, in seconds since the Unix epoch, when it has one.
    pub access_token_exp: Option<i64>,
    /// The OpenID id token.
    pub id_token: SecretString,
    /// The OAuth access token (a Bearer for the Codex backend).
    pub access_token: SecretString,
    /// The OAuth refresh token.
    pub refresh_token: SecretString,
}

impl ImportedAuth {
    /// The three tokens with their kind, ready to seal.
    pub fn secrets(&self) -> [(SecretKind, &SecretString); 3] {
        [
            (SecretKind::IdToken, &self.id_token),
            (SecretKind::AccessToken, &self.access_token),
            (SecretKind::RefreshToken, &self.refresh_token),
        ]
    }
}

/// Validates a Codex CLI `auth.json` and takes out its tokens and identity.
///
/// Checks, in order: size (at most [`AUTH_JSON_MAX_BYTES`]), JSON object, not an API-key-only
/// login (`OPENAI_API_KEY` set or `auth_mode` `"apikey"`, with no `tokens`), the three tokens
/// present, both JWTs readable, the access token's `exp` after `now`, and an account id
/// (`tokens.account_id`, else the id token's `chatgpt_account_id`). A leading UTF-8 byte-order
/// mark is ignored.
pub fn import_auth_json(bytes: &[u8], now: SystemTime) -> Result<ImportedAuth, AuthJsonError> {
    if bytes.len() > AUTH_JSON_MAX_BYTES {
        return Err(AuthJsonError::TooLarge);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // The serde_json error is dropped on purpose: its message can quote file content.
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(bytes) else {
        return Err(AuthJsonError::NotJson);
    };

    let tokens = root.get("tokens").and_then(Value::as_object);
    let Some(tokens) = tokens else {
        return Err(if is_api_key_login(&root) {
            AuthJsonError::ApiKeyOnly
        } else {
            AuthJsonError::MissingToken("tokens.id_token")
        });
    };

    let id_token = required(tokens, "id_token", "tokens.id_token")?;
    let access_token = required(tokens, "access_token", "tokens.access_token")?;
    let refresh_token = required(tokens, "refresh_token", "tokens.refresh_token")?;

    let id_claims =
        IdClaims::from_jwt(id_token).map_err(|source| AuthJsonError::MalformedToken {
            field: "tokens.id_token",
            source,
        })?;
    let access_claims =
        IdClaims::from_jwt(access_token).map_err(|source| AuthJsonError::MalformedToken {
            field: "tokens.access_token",
            source,
        })?;

    if let Some(exp) = access_claims.exp
        && exp <= unix_seconds(now)
    {
        return Err(AuthJsonError::AccessTokenExpired);
    }

    let chatgpt_account_id = tokens
        .get("account_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| id_claims.chatgpt_account_id.clone())
        .ok_or(AuthJsonError::MissingAccountId)?;

    Ok(ImportedAuth {
        chatgpt_account_id,
        user_id: id_claims.chatgpt_user_id.or(access_claims.chatgpt_user_id),
        email: id_claims.email.or(access_claims.email),
        plan_type: id_claims.plan_type.or(access_claims.plan_type),
        access_token_exp: access_claims.exp,
        id_token: SecretString::new(id_token.to_owned()),
        access_token: SecretString::new(access_token.to_owned()),
        refresh_token: SecretString::new(refresh_token.to_owned()),
    })
}

/// Whether the file describes an API-key login.
fn is_api_key_login(root: &Map<String, Value>) -> bool {
    let has_key = root
        .get("OPENAI_API_KEY")
        .and_then(Value::as_str)
        .is_some_and(|k| !k.trim().is_empty());
    let api_key_mode = root
        .get("auth_mode")
        .and_then(Value::as_str)
        .is_some_and(|m| m.eq_ignore_ascii_case("apikey"));
    has_key || api_key_mode
}

/// A non-empty string token, or [`AuthJsonError::MissingToken`] naming `path`.
fn required<'a>(
    tokens: &'a Map<String, Value>,
    name: &str,
    path: &'static str,
) -> Result<&'a str, AuthJsonError> {
    tokens
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(AuthJsonError::MissingToken(path))
}

/// Seconds since the Unix epoch; times before it count as zero.
fn unix_seconds(now: SystemTime) -> i64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::testing::fake_jwt;

    /// The shared fixture `fixtures/codex-cli/fake_auth.json` (fake tokens, exp 2036-11-20).
    const FIXTURE: &str = r#"{
  "auth_mode": "chatgpt",
  "OPENAI_API_KEY": null,
  "tokens": {
    "id_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2F1dGgub3BlbmFpLmNvbSIsImF1ZCI6WyJhcHBfRU1vYW1FRVo3M2YwQ2tYYVhwN2hyYW5uIl0sInN1YiI6ImF1dGgwfGZha2V1c2VyIiwiZW1haWwiOiJmYWtlLnVzZXJAZXhhbXBsZS5jb20iLCJleHAiOjIxMTA4NTYzODAsImlhdCI6MTc5NTQ5NjM4MCwiaHR0cHM6Ly9hcGkub3BlbmFpLmNvbS9hdXRoIjp7ImNoYXRncHRfcGxhbl90eXBlIjoicGx1cyIsImNoYXRncHRfdXNlcl9pZCI6InVzZXItRkFLRVVTRVIxMjMiLCJ1c2VyX2lkIjoidXNlci1GQUtFVVNFUjEyMyIsImNoYXRncHRfYWNjb3VudF9pZCI6IjExMTExMTExLTIyMjItMzMzMy00NDQ0LTU1NTU1NTU1NTU1NSJ9fQ.fakesig",
    "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2F1dGgub3BlbmFpLmNvbSIsImF1ZCI6WyJodHRwczovL2FwaS5vcGVuYWkuY29tL3YxIl0sImNsaWVudF9pZCI6ImFwcF9FTW9hbUVFWjczZjBDa1hhWHA3aHJhbm4iLCJleHAiOjIxMTA4NTYzODAsImlhdCI6MTc5NTQ5NjM4MCwiaHR0cHM6Ly9hcGkub3BlbmFpLmNvbS9hdXRoIjp7ImNoYXRncHRfcGxhbl90eXBlIjoicGx1cyIsImNoYXRncHRfdXNlcl9pZCI6InVzZXItRkFLRVVTRVIxMjMiLCJjaGF0Z3B0X2FjY291bnRfaWQiOiIxMTExMTExMS0yMjIyLTMzMzMtNDQ0NC01NTU1NTU1NTU1NTUifSwiaHR0cHM6Ly9hcGkub3BlbmFpLmNvbS9wcm9maWxlIjp7ImVtYWlsIjoiZmFrZS51c2VyQGV4YW1wbGUuY29tIn19.fakesig",
    "refresh_token": "rt_FAKE_REFRESH_TOKEN",
    "account_id": "11111111-2222-3333-4444-555555555555"
  },
  "last_refresh": "2026-11-24T04:59:40.000000Z"
}"#;

    /// The fixture's access token `exp`.
    const FIXTURE_EXP: i64 = 2_110_856_380;

    fn at(secs: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    }

    fn now() -> SystemTime {
        at(1_795_496_380)
    }

    fn fixture() -> Value {
        serde_json::from_str(FIXTURE).expect("fixture")
    }

    fn import(value: &Value) -> Result<ImportedAuth, AuthJsonError> {
        import_auth_json(value.to_string().as_bytes(), now())
    }

    #[test]
    fn imports_fixture() {
        let auth = import_auth_json(FIXTURE.as_bytes(), now()).expect("import");
        assert_eq!(
            auth.chatgpt_account_id,
            "11111111-2222-3333-4444-555555555555"
        );
        assert_eq!(auth.user_id.as_deref(), Some("user-FAKEUSER123"));
        assert_eq!(auth.email.as_deref(), Some("fake.user@example.com"));
        assert_eq!(auth.plan_type.as_deref(), Some("plus"));
        assert_eq!(auth.access_token_exp, Some(FIXTURE_EXP));
        assert_eq!(auth.refresh_token.expose(), "rt_FAKE_REFRESH_TOKEN");
        assert!(auth.id_token.expose().starts_with("eyJ"));
        assert!(auth.access_token.expose().starts_with("eyJ"));
        let kinds = auth.secrets().map(|(kind, _)| kind);
        assert_eq!(
            kinds,
            [
                SecretKind::IdToken,
                SecretKind::AccessToken,
                SecretKind::RefreshToken
            ]
        );
    }

    #[test]
    fn debug_never_prints_tokens() {
        let auth = import_auth_json(FIXTURE.as_bytes(), now()).expect("import");
        let debug = format!("{auth:?}");
        assert!(!debug.contains("rt_FAKE"));
        assert!(!debug.contains("eyJ"));
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn accepts_byte_order_mark() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(FIXTURE.as_bytes());
        assert!(import_auth_json(&bytes, now()).is_ok());
    }

    #[test]
    fn rejects_too_large() {
        let mut big = FIXTURE.as_bytes().to_vec();
        big.resize(AUTH_JSON_MAX_BYTES + 1, b' ');
        assert_eq!(
            import_auth_json(&big, now()).err(),
            Some(AuthJsonError::TooLarge)
        );
        let mut edge = FIXTURE.as_bytes().to_vec();
        edge.resize(AUTH_JSON_MAX_BYTES, b' ');
        assert!(import_auth_json(&edge, now()).is_ok());
    }

    #[test]
    fn rejects_non_json() {
        for bytes in [&b"not json"[..], b"[]", b"\"x\"", b"", b"\xff\xfe"] {
            assert_eq!(
                import_auth_json(bytes, now()).err(),
                Some(AuthJsonError::NotJson)
            );
        }
    }

    #[test]
    fn rejects_api_key_files() {
        let key_only = json!({ "OPENAI_API_KEY": "sk-proj-abc" });
        assert_eq!(import(&key_only).err(), Some(AuthJsonError::ApiKeyOnly));
        let mode_only = json!({ "auth_mode": "apikey", "OPENAI_API_KEY": null, "tokens": null });
        assert_eq!(import(&mode_only).err(), Some(AuthJsonError::ApiKeyOnly));
        let message = AuthJsonError::ApiKeyOnly.to_string();
        assert!(message.contains("codex login"), "{message}");
        assert!(!message.contains("sk-proj"));
    }

    #[test]
    fn rejects_missing_tokens() {
        assert_eq!(
            import(&json!({ "auth_mode": "chatgpt" })).err(),
            Some(AuthJsonError::MissingToken("tokens.id_token"))
        );
        for (field, path) in [
            ("id_token", "tokens.id_token"),
            ("access_token", "tokens.access_token"),
            ("refresh_token", "tokens.refresh_token"),
        ] {
            let mut removed = fixture();
            removed["tokens"]
                .as_object_mut()
                .expect("tokens")
                .remove(field);
            assert_eq!(
                import(&removed).err(),
                Some(AuthJsonError::MissingToken(path))
            );
            let mut empty = fixture();
            empty["tokens"][field] = json!("  ");
            assert_eq!(
                import(&empty).err(),
                Some(AuthJsonError::MissingToken(path))
            );
        }
    }

    #[test]
    fn rejects_malformed_jwts() {
        let mut bad = fixture();
        bad["tokens"]["id_token"] = json!("not-a-jwt");
        assert_eq!(
            import(&bad).err(),
            Some(AuthJsonError::MalformedToken {
                field: "tokens.id_token",
                source: JwtError::NotThreeSegments,
            })
        );
        let mut bad = fixture();
        bad["tokens"]["access_token"] = json!("secretish.!!!.sig");
        let err = import(&bad).expect_err("error");
        assert!(matches!(
            err,
            AuthJsonError::MalformedToken {
                field: "tokens.access_token",
                ..
            }
        ));
        assert!(!err.to_string().contains("secretish"), "{err}");
    }

    #[test]
    fn rejects_expired_access_token() {
        let bytes = FIXTURE.as_bytes();
        assert_eq!(
            import_auth_json(bytes, at(FIXTURE_EXP)).err(),
            Some(AuthJsonError::AccessTokenExpired)
        );
        assert!(import_auth_json(bytes, at(FIXTURE_EXP - 1)).is_ok());
    }

    #[test]
    fn access_token_without_exp_is_accepted() {
        let mut auth = fixture();
        auth["tokens"]["access_token"] = json!(fake_jwt(&json!({ "sub": "x" })));
        let imported = import(&auth).expect("import");
        assert_eq!(imported.access_token_exp, None);
    }

    #[test]
    fn account_id_falls_back_to_id_token() {
        let mut auth = fixture();
        auth["tokens"]
            .as_object_mut()
            .expect("tokens")
            .remove("account_id");
        let imported = import(&auth).expect("import");
        assert_eq!(
            imported.chatgpt_account_id,
            "11111111-2222-3333-4444-555555555555"
        );

        auth["tokens"]["id_token"] = json!(fake_jwt(&json!({ "email": "a@example.com" })));
        assert_eq!(import(&auth).err(), Some(AuthJsonError::MissingAccountId));
    }

    #[test]
    fn identity_falls_back_to_access_token() {
        let mut auth = fixture();
        auth["tokens"]["id_token"] = json!(fake_jwt(&json!({})));
        let imported = import(&auth).expect("import");
        assert_eq!(imported.email.as_deref(), Some("fake.user@example.com"));
        assert_eq!(imported.user_id.as_deref(), Some("user-FAKEUSER123"));
        assert_eq!(imported.plan_type.as_deref(), Some("plus"));
    }

    #[test]
    fn tokens_alongside_api_key_still_import() {
        // Older CLIs stored an exchanged API key next to the ChatGPT tokens.
        let mut auth = fixture();
        auth["OPENAI_API_KEY"] = json!("sk-exchanged");
        assert!(import(&auth).is_ok());
    }
}
