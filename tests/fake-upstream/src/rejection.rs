//! Every non-200 answer of the fake, rendered as the backend's OpenAI-shaped JSON error body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Why the fake refused a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum Rejection {
    /// Unknown `chatgpt-account-id`, or a bearer token that is not that account's.
    #[error("incorrect access token or unknown chatgpt account")]
    InvalidApiKey,
    /// The body is not JSON or lacks `model`.
    #[error("{0}")]
    BadRequest(String),
    /// A turn body the Codex backend refuses (see `turn_rules`), rendered as the backend's
    /// `{"detail": ...}` body rather than an OpenAI-shaped error.
    #[error("{0}")]
    Refused(String),
    /// A failure injected with `FakeAccount::fail_status`.
    #[error("fake upstream failure injected with status {0}")]
    Injected(StatusCode),
    /// The account's quota is exhausted (`FakeAccount::usage_limit_reached`).
    #[error("The usage limit has been reached")]
    UsageLimitReached {
        /// The account's plan, e.g. `plus`.
        plan_type: String,
        /// Epoch seconds at which the limit resets.
        resets_at: u64,
        /// Seconds from now until the limit resets.
        resets_in_seconds: u64,
    },
    /// No route for this path.
    #[error("unknown route {0}")]
    NotFound(String),
    /// The path exists, but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A WebSocket upgrade: the fake only speaks HTTP, which makes the CLI fall back at once.
    #[error("websocket transport is not supported here, use https")]
    UpgradeRequired,
    /// The request body is larger than the fake accepts.
    #[error("request body too large")]
    PayloadTooLarge,
    /// The account already streams as many answers as `FakeAccount::max_streams` allows.
    #[error("Too many concurrent requests for this account")]
    TooManyStreams,
}

impl Rejection {
    fn status(&self) -> StatusCode {
        match self {
            Self::InvalidApiKey => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) | Self::Refused(_) => StatusCode::BAD_REQUEST,
            Self::Injected(status) => *status,
            Self::UsageLimitReached { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyStreams => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn body(&self) -> Value {
        let message = self.to_string();
        match self {
            Self::Refused(detail) => json!({ "detail": detail }),
            Self::UsageLimitReached {
                plan_type,
                resets_at,
                resets_in_seconds,
            } => json!({"error": {
                "type": "usage_limit_reached",
                "message": message,
                "plan_type": plan_type,
                "resets_at": resets_at,
                "resets_in_seconds": resets_in_seconds,
            }}),
            Self::Injected(status) => {
                let (kind, code) = injected_kind(*status);
                json!({"error": {"message": message, "type": kind, "code": code}})
            }
            Self::InvalidApiKey => json!({"error": {
                "message": message, "type": "invalid_request_error", "code": "invalid_api_key",
            }}),
            Self::NotFound(_) => json!({"error": {
                "message": message, "type": "invalid_request_error", "code": "not_found",
            }}),
            // Upstream's concurrency refusal carries no code: only a usage limit has one.
            Self::TooManyStreams => json!({"error": {
                "message": message, "type": null, "code": null,
            }}),
            Self::BadRequest(_)
            | Self::MethodNotAllowed
            | Self::UpgradeRequired
            | Self::PayloadTooLarge => json!({"error": {
                "message": message, "type": "invalid_request_error", "code": null,
            }}),
        }
    }
}

/// The `type` and `code` the real backend uses for an injected status, as the CLI maps them.
fn injected_kind(status: StatusCode) -> (&'static str, Option<&'static str>) {
    match status.as_u16() {
        401 => ("invalid_request_error", Some("invalid_api_key")),
        403 => ("invalid_request_error", Some("forbidden")),
        429 => ("rate_limit_exceeded", Some("rate_limit_exceeded")),
        503 => ("server_error", Some("server_is_overloaded")),
        500..=599 => ("server_error", None),
        _ => ("invalid_request_error", None),
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}
