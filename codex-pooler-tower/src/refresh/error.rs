//! [`RefreshError`]: how a refresh failed, and whether the lineage is dead.

use std::time::Duration;

use serde_json::Value;

/// Error codes that mean the refresh token will never work again: the account needs a new
/// login. They are looked for in `error` (a string), `error.code` and a top-level `code`.
pub const PERMANENT_REFRESH_ERRORS: [&str; 6] = [
    "invalid_grant",
    "refresh_token_reused",
    "refresh_token_expired",
    "refresh_token_invalidated",
    "revoked",
    "invalid_refresh_token",
];

/// Why a refresh failed. Messages never include token values or response bodies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The token endpoint refused the refresh token for good (HTTP 400 or 401 with one of
    /// [`PERMANENT_REFRESH_ERRORS`]).
    #[error("refresh token rejected upstream ({code}); the account needs a new login")]
    Rejected {
        /// The error code, one of [`PERMANENT_REFRESH_ERRORS`].
        code: &'static str,
    },
    /// Any other non-success status (5xx, 429, an unexplained 4xx): worth retrying later.
    #[error("token endpoint answered http {0}")]
    Status(u16),
    /// A success without an access token, or a body that is not JSON.
    #[error("token endpoint answered without an access token")]
    Malformed,
    /// Connecting or talking to the endpoint failed.
    #[error("token endpoint unreachable: {0}")]
    Transport(String),
    /// No answer in time.
    #[error("token endpoint did not answer within {0:?}")]
    Timeout(Duration),
}

impl RefreshError {
    /// Whether the refresh token is dead (the account needs a new login).
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Rejected { .. })
    }

    /// Whether upstream said the refresh token was already used (rotated by someone else).
    pub fn is_reuse(&self) -> bool {
        matches!(
            self,
            Self::Rejected {
                code: "refresh_token_reused"
            }
        )
    }

    /// A low-cardinality label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Rejected { code } => code,
            Self::Status(_) => "status",
            Self::Malformed => "malformed",
            Self::Transport(_) => "transport",
            Self::Timeout(_) => "timeout",
        }
    }
}

/// Classifies a non-success answer of the token endpoint.
///
/// HTTP 400 and 401 carrying one of [`PERMANENT_REFRESH_ERRORS`] are permanent; everything else
/// (5xx, 429, other 4xx, unknown codes) is transient.
///
/// ```
/// use codex_pooler_tower::refresh::{RefreshError, classify_failure};
///
/// let reused = br#"{"error":{"code":"refresh_token_reused","message":"..."}}"#;
/// assert_eq!(classify_failure(401, reused), RefreshError::Rejected { code: "refresh_token_reused" });
/// assert_eq!(classify_failure(400, br#"{"error":"invalid_grant"}"#).is_permanent(), true);
/// assert_eq!(classify_failure(503, reused), RefreshError::Status(503));
/// ```
pub fn classify_failure(status: u16, body: &[u8]) -> RefreshError {
    if matches!(status, 400 | 401)
        && let Some(code) = permanent_code(body)
    {
        return RefreshError::Rejected { code };
    }
    RefreshError::Status(status)
}

/// The permanent error code named by an error body, if any.
fn permanent_code(body: &[u8]) -> Option<&'static str> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let error = value.get("error");
    let candidates = [
        error.and_then(Value::as_str),
        error.and_then(|e| e.get("code")).and_then(Value::as_str),
        value.get("code").and_then(Value::as_str),
    ];
    candidates.into_iter().flatten().find_map(|code| {
        let code = code.trim().to_ascii_lowercase();
        PERMANENT_REFRESH_ERRORS
            .into_iter()
            .find(|known| *known == code)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanent_codes_in_every_shape() {
        let shapes = [
            r#"{"error":"invalid_grant","error_description":"bad"}"#,
            r#"{"error":{"code":"refresh_token_expired"}}"#,
            r#"{"error":{"message":"x","type":"invalid_request_error","code":"refresh_token_invalidated"}}"#,
            r#"{"code":"revoked"}"#,
            r#"{"error":"INVALID_REFRESH_TOKEN"}"#,
        ];
        for body in shapes {
            for status in [400, 401] {
                assert!(
                    classify_failure(status, body.as_bytes()).is_permanent(),
                    "{status} {body}"
                );
            }
        }
        assert!(classify_failure(401, br#"{"error":{"code":"refresh_token_reused"}}"#).is_reuse());
    }

    #[test]
    fn everything_else_is_transient() {
        let reused = br#"{"error":{"code":"refresh_token_reused"}}"#;
        assert_eq!(classify_failure(500, reused), RefreshError::Status(500));
        assert_eq!(classify_failure(403, reused), RefreshError::Status(403));
        assert_eq!(classify_failure(429, b""), RefreshError::Status(429));
        assert_eq!(
            classify_failure(401, br#"{"error":{"code":"token_expired"}}"#),
            RefreshError::Status(401)
        );
        assert_eq!(classify_failure(400, b"<html>"), RefreshError::Status(400));
        assert!(!RefreshError::Timeout(Duration::from_secs(1)).is_permanent());
    }
}
