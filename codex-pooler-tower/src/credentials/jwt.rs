//! Reading the claims of a ChatGPT JWT without checking its signature.
//!
//! The gateway never trusts these claims for authorization: OpenAI checks the tokens it issued.
//! They only label an upstream account (account id, user, email, plan) and tell when its access
//! token expires, the same way the Codex CLI reads them (`parse_chatgpt_jwt_claims`).

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

/// The claim that holds the ChatGPT account, user and plan.
const AUTH_CLAIM: &str = "https://api.openai.com/auth";
/// The claim that holds the profile (email).
const PROFILE_CLAIM: &str = "https://api.openai.com/profile";

/// base64url as JWTs use it, accepting segments with or without padding.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a JWT's claims could not be read. Messages never include the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The token is not three dot-separated segments.
    #[error("token is not a jwt: expected three dot-separated segments")]
    NotThreeSegments,
    /// The payload segment is not base64url.
    #[error("jwt payload is not valid base64url")]
    PayloadNotBase64,
    /// The payload does not decode to a JSON object.
    #[error("jwt payload is not a json object")]
    PayloadNotJsonObject,
}

/// The claims of a ChatGPT id token (or access token) that the gateway uses.
///
/// Missing claims, and claims of an unexpected type, are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdClaims {
    /// `https://api.openai.com/auth`.`chatgpt_account_id`: the workspace the tokens act for.
    pub chatgpt_account_id: Option<String>,
    /// `https://api.openai.com/auth`.`chatgpt_user_id`, falling back to its `user_id`.
    pub chatgpt_user_id: Option<String>,
    /// Top-level `email`, falling back to `https://api.openai.com/profile`.`email`.
    pub email: Option<String>,
    /// `https://api.openai.com/auth`.`chatgpt_plan_type` (`free`, `plus`, `pro`, `team`, ...),
    /// kept as sent.
    pub plan_type: Option<String>,
    /// `exp`: expiry in seconds since the Unix epoch.
    pub exp: Option<i64>,
}

impl IdClaims {
    /// Reads the claims of `token` without verifying its signature.
    ///
    /// ```
    /// use codex_pooler_tower::credentials::IdClaims;
    ///
    /// // {"email":"a@example.com","exp":2000000000}
    /// let token = "e30.eyJlbWFpbCI6ImFAZXhhbXBsZS5jb20iLCJleHAiOjIwMDAwMDAwMDB9.sig";
    /// let claims = IdClaims::from_jwt(token)?;
    /// assert_eq!(claims.email.as_deref(), Some("a@example.com"));
    /// assert_eq!(claims.exp, Some(2_000_000_000));
    /// # Ok::<(), codex_pooler_tower::credentials::JwtError>(())
    /// ```
    pub fn from_jwt(token: &str) -> Result<Self, JwtError> {
        Ok(Self::from_payload(&decode_payload(token)?))
    }

    /// Picks the claims out of a decoded payload.
    fn from_payload(payload: &Map<String, Value>) -> Self {
        let auth = payload.get(AUTH_CLAIM).and_then(Value::as_object);
        let auth_str = |name: &str| auth.and_then(|a| string(a.get(name)));
        let profile_email = payload
            .get(PROFILE_CLAIM)
            .and_then(Value::as_object)
            .and_then(|p| string(p.get("email")));
        Self {
            chatgpt_account_id: auth_str("chatgpt_account_id"),
            chatgpt_user_id: auth_str("chatgpt_user_id").or_else(|| auth_str("user_id")),
            email: string(payload.get("email")).or(profile_email),
            plan_type: auth_str("chatgpt_plan_type"),
            exp: payload.get("exp").and_then(numeric_date),
        }
    }
}

/// Decodes the payload (middle segment) of a JWT into a JSON object, without any signature check.
pub fn decode_payload(token: &str) -> Result<Map<String, Value>, JwtError> {
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(_signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(JwtError::NotThreeSegments);
    };
    if header.is_empty() || payload.is_empty() {
        return Err(JwtError::NotThreeSegments);
    }
    let bytes = BASE64URL
        .decode(payload)
        .map_err(|_| JwtError::PayloadNotBase64)?;
    // The serde_json error is dropped on purpose: its message can quote payload content.
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwtError::PayloadNotJsonObject),
    }
}

/// A non-empty string claim.
fn string(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A JWT NumericDate: integer seconds, or fractional seconds rounded down.
fn numeric_date(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.is_finite() && *f >= i64::MIN as f64 && *f <= i64::MAX as f64)
            .map(|f| f.floor() as i64)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::testing::fake_jwt;

    #[test]
    fn reads_nested_openai_claims() {
        let token = fake_jwt(&serde_json::json!({
            "email": "top@example.com",
            "exp": 2_110_856_380_i64,
            AUTH_CLAIM: {
                "chatgpt_plan_type": "plus",
                "chatgpt_user_id": "user-A",
                "user_id": "user-B",
                "chatgpt_account_id": "acct-1",
            },
            PROFILE_CLAIM: { "email": "profile@example.com" },
        }));
        let claims = IdClaims::from_jwt(&token).expect("claims");
        assert_eq!(
            claims,
            IdClaims {
                chatgpt_account_id: Some("acct-1".into()),
                chatgpt_user_id: Some("user-A".into()),
                email: Some("top@example.com".into()),
                plan_type: Some("plus".into()),
                exp: Some(2_110_856_380),
            }
        );
    }

    #[test]
    fn falls_back_to_user_id_and_profile_email() {
        let token = fake_jwt(&serde_json::json!({
            AUTH_CLAIM: { "user_id": "user-B" },
            PROFILE_CLAIM: { "email": "profile@example.com" },
            "exp": 1_700_000_000.9,
        }));
        let claims = IdClaims::from_jwt(&token).expect("claims");
        assert_eq!(claims.chatgpt_user_id.as_deref(), Some("user-B"));
        assert_eq!(claims.email.as_deref(), Some("profile@example.com"));
        assert_eq!(claims.exp, Some(1_700_000_000));
        assert_eq!(claims.chatgpt_account_id, None);
        assert_eq!(claims.plan_type, None);
    }

    #[test]
    fn missing_and_mistyped_claims_are_none() {
        let token = fake_jwt(&serde_json::json!({ "email": 5, "exp": "soon", AUTH_CLAIM: [] }));
        assert_eq!(IdClaims::from_jwt(&token), Ok(IdClaims::default()));
    }

    #[test]
    fn accepts_padded_payload() {
        let payload = base64::engine::general_purpose::URL_SAFE.encode(br#"{"exp":10}"#);
        assert!(payload.ends_with('='));
        let claims = IdClaims::from_jwt(&format!("e30.{payload}.sig")).expect("claims");
        assert_eq!(claims.exp, Some(10));
    }

    #[test]
    fn reads_fixture_tokens() {
        let id = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2F1dGgub3BlbmFpLmNvbSIsImF1ZCI6WyJhcHBfRU1vYW1FRVo3M2YwQ2tYYVhwN2hyYW5uIl0sInN1YiI6ImF1dGgwfGZha2V1c2VyIiwiZW1haWwiOiJmYWtlLnVzZXJAZXhhbXBsZS5jb20iLCJleHAiOjIxMTA4NTYzODAsImlhdCI6MTc5NTQ5NjM4MCwiaHR0cHM6Ly9hcGkub3BlbmFpLmNvbS9hdXRoIjp7ImNoYXRncHRfcGxhbl90eXBlIjoicGx1cyIsImNoYXRncHRfdXNlcl9pZCI6InVzZXItRkFLRVVTRVIxMjMiLCJ1c2VyX2lkIjoidXNlci1GQUtFVVNFUjEyMyIsImNoYXRncHRfYWNjb3VudF9pZCI6IjExMTExMTExLTIyMjItMzMzMy00NDQ0LTU1NTU1NTU1NTU1NSJ9fQ.fakesig";
        let claims = IdClaims::from_jwt(id).expect("claims");
        assert_eq!(
            claims.chatgpt_account_id.as_deref(),
            Some("11111111-2222-3333-4444-555555555555")
        );
        assert_eq!(claims.chatgpt_user_id.as_deref(), Some("user-FAKEUSER123"));
        assert_eq!(claims.email.as_deref(), Some("fake.user@example.com"));
        assert_eq!(claims.plan_type.as_deref(), Some("plus"));
        assert_eq!(claims.exp, Some(2_110_856_380));
    }

    #[test]
    fn rejects_malformed_tokens() {
        for token in ["", "abc", "a.b", "a.b.c.d", ".e30.sig", "e30..sig"] {
            assert_eq!(
                IdClaims::from_jwt(token),
                Err(JwtError::NotThreeSegments),
                "{token}"
            );
        }
        assert_eq!(
            IdClaims::from_jwt("e30.not base64!.sig"),
            Err(JwtError::PayloadNotBase64)
        );
        let not_json = URL_SAFE_NO_PAD.encode("secret-ish text");
        assert_eq!(
            IdClaims::from_jwt(&format!("e30.{not_json}.sig")),
            Err(JwtError::PayloadNotJsonObject)
        );
        let array = URL_SAFE_NO_PAD.encode("[1,2]");
        assert_eq!(
            IdClaims::from_jwt(&format!("e30.{array}.sig")),
            Err(JwtError::PayloadNotJsonObject)
        );
    }
}
