//! OpenAI-shaped errors: what a client sees when the pooler refuses or fails a request.
//!
//! Every runtime error renders as
//! `{"error":{"message":..,"type":..,"code":..,"param":..}}`, the envelope the OpenAI SDKs and
//! the Codex CLI parse. Codes are stable, low-cardinality strings (also used as metric labels).
//! Details about individual upstream accounts never appear here; they go to the request record.

use std::borrow::Cow;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::body::{PoolBody, full};
use crate::model::UnknownVariant;

/// An error to be answered to a client, in the OpenAI error envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct PoolerError {
    status: StatusCode,
    kind: ErrorType,
    code: ErrorCode,
    message: String,
    param: Option<Cow<'static, str>>,
    retry_after: Option<Duration>,
    extra: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The stable `code` of an error envelope, also kept in request records and used as a metric
/// label.
///
/// Typed inside the pooler; [`as_str`](Self::as_str) gives the string at the edges (the JSON
/// body, the store, log fields), and [`FromStr`](std::str::FromStr) reads it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_api_key`: no `Authorization: Bearer` credential, or one that is malformed or unknown.
    InvalidApiKey,
    /// `api_key_paused`: the key exists but is paused.
    ApiKeyPaused,
    /// `api_key_revoked`: the key was revoked.
    ApiKeyRevoked,
    /// `api_key_expired`: the key expired.
    ApiKeyExpired,
    /// `pool_disabled`: the key's pool is disabled.
    PoolDisabled,
    /// `invalid_request`: the body is not what the route expects.
    InvalidRequest,
    /// `model_not_found`: no account of the pool serves the model.
    ModelNotFound,
    /// `no_eligible_account`: accounts serve the model, but none can take the request right now.
    NoEligibleAccount,
    /// `usage_limit_reached`: every account that could serve the request has used up its quota.
    UsageLimitReached,
    /// `pinned_account_unavailable`: a hard continuity pin points at an account that cannot serve now.
    PinnedAccountUnavailable,
    /// `upstream_unavailable`: every attempt failed upstream in a way that was not passed through.
    UpstreamUnavailable,
    /// `request_too_large`: the request body is larger than the gateway accepts.
    RequestTooLarge,
    /// `unsupported_content_encoding`: a `Content-Encoding` the gateway does not decode.
    UnsupportedContentEncoding,
    /// `websocket_unsupported`: websocket transport is not offered on the route.
    WebsocketUnsupported,
    /// `unsupported_endpoint`: an OpenAI `/v1` path the pooler does not offer.
    UnsupportedEndpoint,
    /// `invalid_file_id`: a file id without the shape upstream file ids have.
    InvalidFileId,
    /// `file_not_found`: a file id this pool has not seen created through the gateway.
    FileNotFound,
    /// `internal_error`: an unexpected failure inside the gateway.
    InternalError,
    /// `model_not_allowed`: the key's policy does not allow the model.
    ModelNotAllowed,
    /// `rate_limit_exceeded`: the key is over one of its limits.
    RateLimitExceeded,
    /// `unsupported_parameter`: a `/v1` request parameter the Codex backend has no meaning for.
    UnsupportedParameter,
    /// `upstream_error`: the upstream turn failed after it started (`response.failed`).
    UpstreamError,
    /// `v1_compatibility_disabled`: the key's pool has the `/v1` surface switched off.
    V1CompatibilityDisabled,
    /// `image_generation_failed`: upstream produced no image for a `/v1/images` request.
    ImageGenerationFailed,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [Self; 24] = [
        Self::InvalidApiKey,
        Self::ApiKeyPaused,
        Self::ApiKeyRevoked,
        Self::ApiKeyExpired,
        Self::PoolDisabled,
        Self::InvalidRequest,
        Self::ModelNotFound,
        Self::NoEligibleAccount,
        Self::UsageLimitReached,
        Self::PinnedAccountUnavailable,
        Self::UpstreamUnavailable,
        Self::RequestTooLarge,
        Self::UnsupportedContentEncoding,
        Self::WebsocketUnsupported,
        Self::UnsupportedEndpoint,
        Self::InvalidFileId,
        Self::FileNotFound,
        Self::InternalError,
        Self::ModelNotAllowed,
        Self::RateLimitExceeded,
        Self::UnsupportedParameter,
        Self::UpstreamError,
        Self::V1CompatibilityDisabled,
        Self::ImageGenerationFailed,
    ];

    /// The stable string, as answered, stored and logged.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidApiKey => "invalid_api_key",
            Self::ApiKeyPaused => "api_key_paused",
            Self::ApiKeyRevoked => "api_key_revoked",
            Self::ApiKeyExpired => "api_key_expired",
            Self::PoolDisabled => "pool_disabled",
            Self::InvalidRequest => "invalid_request",
            Self::ModelNotFound => "model_not_found",
            Self::NoEligibleAccount => "no_eligible_account",
            Self::UsageLimitReached => "usage_limit_reached",
            Self::PinnedAccountUnavailable => "pinned_account_unavailable",
            Self::UpstreamUnavailable => "upstream_unavailable",
            Self::RequestTooLarge => "request_too_large",
            Self::UnsupportedContentEncoding => "unsupported_content_encoding",
            Self::WebsocketUnsupported => "websocket_unsupported",
            Self::UnsupportedEndpoint => "unsupported_endpoint",
            Self::InvalidFileId => "invalid_file_id",
            Self::FileNotFound => "file_not_found",
            Self::InternalError => "internal_error",
            Self::ModelNotAllowed => "model_not_allowed",
            Self::RateLimitExceeded => "rate_limit_exceeded",
            Self::UnsupportedParameter => "unsupported_parameter",
            Self::UpstreamError => "upstream_error",
            Self::V1CompatibilityDisabled => "v1_compatibility_disabled",
            Self::ImageGenerationFailed => "image_generation_failed",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::str::FromStr for ErrorCode {
    type Err = UnknownVariant;

    /// Reads back a stored [`as_str`](Self::as_str) code.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownVariant::new("error code", s))
    }
}

/// The `type` field of the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// The request cannot be served as sent.
    InvalidRequestError,
    /// The credentials were refused.
    AuthenticationError,
    /// The pool's quota is used up.
    UsageLimitReached,
    /// The gateway or upstream failed.
    ServerError,
    /// A key's request-rate limit (OpenAI's `requests`).
    Requests,
    /// A key's token limit (OpenAI's `tokens`).
    Tokens,
}

impl PoolerError {
    /// A new error.
    pub fn new(
        status: StatusCode,
        kind: ErrorType,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            code,
            message: message.into(),
            param: None,
            retry_after: None,
            extra: None,
        }
    }

    /// Sets the `param` field: a field name, or a path built at run time such as
    /// `messages[2].content`.
    #[must_use]
    pub fn with_param(mut self, param: impl Into<Cow<'static, str>>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Adds a `Retry-After` header.
    #[must_use]
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Adds a field inside the `error` object (for example `resets_at`).
    #[must_use]
    pub(crate) fn with_field(mut self, name: &str, value: serde_json::Value) -> Self {
        self.extra
            .get_or_insert_with(serde_json::Map::new)
            .insert(name.to_owned(), value);
        self
    }

    // ===== constructors for the errors the pooler itself raises =====

    /// No `Authorization: Bearer` credential, or one that is malformed or unknown.
    pub fn invalid_api_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorType::AuthenticationError,
            ErrorCode::InvalidApiKey,
            "missing or invalid Pool API key",
        )
    }

    /// The key exists but is paused.
    pub fn api_key_paused() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorType::AuthenticationError,
            ErrorCode::ApiKeyPaused,
            "this Pool API key is paused",
        )
    }

    /// The key was revoked.
    pub fn api_key_revoked() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorType::AuthenticationError,
            ErrorCode::ApiKeyRevoked,
            "this Pool API key was revoked",
        )
    }

    /// The key expired.
    pub fn api_key_expired() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorType::AuthenticationError,
            ErrorCode::ApiKeyExpired,
            "this Pool API key has expired",
        )
    }

    /// The key's pool is disabled.
    pub fn pool_disabled() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorType::InvalidRequestError,
            ErrorCode::PoolDisabled,
            "the pool behind this API key is disabled",
        )
    }

    /// The body is not what the route expects.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequestError,
            ErrorCode::InvalidRequest,
            message,
        )
    }

    /// The body has no `model`.
    pub(crate) fn model_required() -> Self {
        Self::invalid_request("the request body must name a model").with_param("model")
    }

    /// No account of the pool serves this model.
    pub fn model_not_found(model: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequestError,
            ErrorCode::ModelNotFound,
            format!("the model `{model}` is not available in this pool"),
        )
        .with_param("model")
    }

    /// The key's policy does not allow this model.
    pub fn model_not_allowed(model: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorType::InvalidRequestError,
            ErrorCode::ModelNotAllowed,
            format!("this API key may not use the model `{model}`"),
        )
        .with_param("model")
    }

    /// The key is over one of its limits: 429 with `kind` `requests` or `tokens`, and a
    /// `Retry-After` when waiting helps.
    pub fn rate_limited(
        kind: ErrorType,
        message: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            kind,
            ErrorCode::RateLimitExceeded,
            message,
        );
        match retry_after {
            Some(after) => err.with_retry_after(after),
            None => err,
        }
    }

    /// Accounts serve the model, but none can take the request right now.
    pub fn no_eligible_account(retry_after: Option<Duration>) -> Self {
        let err = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::ServerError,
            ErrorCode::NoEligibleAccount,
            "no upstream account of this pool can serve the request right now",
        )
        .with_param("model");
        match retry_after {
            Some(after) => err.with_retry_after(after),
            None => err,
        }
    }

    /// Every account that could serve the request has used up its quota.
    ///
    /// Shaped like the upstream's own `usage_limit_reached` 429 so the Codex CLI shows its usual
    /// usage-limit message: `resets_at` (epoch seconds) and `resets_in_seconds`.
    pub fn usage_limit_reached(resets_at_unix: i64, resets_in: Duration) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorType::UsageLimitReached,
            ErrorCode::UsageLimitReached,
            "every upstream account of this pool has reached its usage limit",
        )
        .with_retry_after(resets_in)
        .with_field("resets_at", resets_at_unix.into())
        .with_field("resets_in_seconds", resets_in.as_secs().into())
    }

    /// A hard continuity pin points at an account that cannot serve now.
    ///
    /// The conversation's state (a `previous_response_id`, a turn state, an uploaded file) exists
    /// only on that account, so the request is not moved. The body says how to recover:
    /// `recovery_kind: "restart_with_full_context"` (resend the whole conversation without the
    /// pinned id, or start a new one), with `pin` naming the signal and `reason` the cause.
    pub fn pinned_account_unavailable(
        pin: &'static str,
        reason: crate::plan::PinSkip,
        retry_after: Option<Duration>,
    ) -> Self {
        let err = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::InvalidRequestError,
            ErrorCode::PinnedAccountUnavailable,
            format!(
                "this conversation's state ({pin}) lives on an upstream account that cannot serve \
                 right now ({reason}); resend the full conversation without it, or start a new one"
            ),
        )
        .with_param(pin)
        .with_field("reason", reason.as_str().into())
        .with_field("recovery_kind", "restart_with_full_context".into());
        match retry_after {
            Some(after) => err.with_retry_after(after),
            None => err,
        }
    }

    /// Every attempt failed upstream in a way that was not passed through.
    pub fn upstream_unavailable() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            ErrorType::ServerError,
            ErrorCode::UpstreamUnavailable,
            "no upstream account could be reached",
        )
    }

    /// The request body is larger than the gateway accepts.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorType::InvalidRequestError,
            ErrorCode::RequestTooLarge,
            format!("the request body exceeds the {limit}-byte limit"),
        )
    }

    /// A `Content-Encoding` the gateway does not decode.
    pub fn unsupported_encoding(encoding: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorType::InvalidRequestError,
            ErrorCode::UnsupportedContentEncoding,
            format!("content-encoding `{encoding}` is not supported; use zstd, gzip or none"),
        )
    }

    /// Websocket transport is not offered on this route yet.
    pub fn websocket_unsupported() -> Self {
        Self::new(
            StatusCode::UPGRADE_REQUIRED,
            ErrorType::InvalidRequestError,
            ErrorCode::WebsocketUnsupported,
            "responses over websocket are not available here; use HTTP",
        )
    }

    /// An OpenAI `/v1` path the pooler does not offer.
    pub fn unsupported_endpoint() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequestError,
            ErrorCode::UnsupportedEndpoint,
            "Unsupported OpenAI /v1 endpoint",
        )
    }

    /// The key's pool has the OpenAI-compatible `/v1` surface switched off.
    pub fn v1_compatibility_disabled() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorType::InvalidRequestError,
            ErrorCode::V1CompatibilityDisabled,
            "OpenAI /v1 compatibility is disabled for this pool",
        )
    }

    /// Upstream produced no image for a `/v1/images` request (the turn failed, or ended
    /// without an `image_generation_call` result). Upstream's message is never passed on.
    pub fn image_generation_failed() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            ErrorType::ServerError,
            ErrorCode::ImageGenerationFailed,
            "image generation failed upstream",
        )
    }

    /// A file id that does not have the shape upstream file ids have (`file-…` / `file_…`,
    /// ASCII letters, digits, `-` and `_`): refused before anything goes upstream.
    pub fn invalid_file_id(reason: &crate::file_id::FileIdError) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequestError,
            ErrorCode::InvalidFileId,
            format!("invalid file id: {reason}"),
        )
        .with_param("file_id")
    }

    /// A file id this pool has not seen created through the gateway (or whose record expired):
    /// no account is known to hold it, so nothing is sent upstream.
    pub fn file_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequestError,
            ErrorCode::FileNotFound,
            "no file with this id was uploaded through this pool",
        )
        .with_param("file_id")
    }

    /// A `/v1` parameter the Codex backend has no meaning for: refused before anything goes
    /// upstream, naming the parameter in `param`.
    pub fn unsupported_parameter(name: &'static str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidRequestError,
            ErrorCode::UnsupportedParameter,
            format!("Unsupported parameter: {name}"),
        )
        .with_param(name)
    }

    /// The upstream turn failed after it started (`response.failed` or an `error` event).
    ///
    /// The upstream message is never passed on; `upstream_code` carries the upstream code once
    /// it is sanitized (see `translate::sanitize`), or is absent.
    pub fn upstream_error(upstream_code: Option<&str>) -> Self {
        let err = Self::new(
            StatusCode::BAD_GATEWAY,
            ErrorType::ServerError,
            ErrorCode::UpstreamError,
            "upstream request failed",
        );
        match upstream_code {
            Some(code) => err.with_field("upstream_code", code.into()),
            None => err,
        }
    }

    /// An unexpected failure inside the gateway.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::ServerError,
            ErrorCode::InternalError,
            message,
        )
    }

    // ===== accessors =====

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Stable error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// Human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Suggested wait before retrying.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The JSON envelope.
    pub fn body(&self) -> serde_json::Value {
        let mut error = serde_json::Map::new();
        error.insert("message".into(), self.message.clone().into());
        error.insert(
            "type".into(),
            serde_json::to_value(self.kind).unwrap_or_default(),
        );
        error.insert("code".into(), self.code.as_str().into());
        error.insert(
            "param".into(),
            self.param
                .as_deref()
                .map_or(serde_json::Value::Null, Into::into),
        );
        if let Some(extra) = &self.extra {
            error.extend(extra.clone());
        }
        serde_json::json!({ "error": error })
    }

    /// The whole HTTP response with a streaming body type.
    pub fn to_response(&self) -> http::Response<PoolBody> {
        self.to_http().map(full)
    }

    /// The whole HTTP response: status, `content-type`, `Retry-After` and the JSON envelope.
    pub(crate) fn to_http(&self) -> http::Response<Bytes> {
        let body = Bytes::from(self.body().to_string());
        let mut res = http::Response::new(body);
        *res.status_mut() = self.status;
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(after) = self.retry_after {
            // Round up: a client told "0" would retry at once into the same wall.
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_shape() {
        let body = PoolerError::unsupported_endpoint().body();
        assert_eq!(
            body,
            serde_json::json!({"error":{"message":"Unsupported OpenAI /v1 endpoint","type":"invalid_request_error","code":"unsupported_endpoint","param":null}})
        );
    }

    #[test]
    fn file_errors_are_typed_4xx() {
        let missing = PoolerError::file_not_found();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            missing.body(),
            serde_json::json!({"error":{
                "message":"no file with this id was uploaded through this pool",
                "type":"invalid_request_error","code":"file_not_found","param":"file_id"}})
        );
        let invalid = PoolerError::invalid_file_id(&crate::file_id::FileIdError::BadCharacter);
        assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
        assert_eq!(invalid.code(), "invalid_file_id");
        assert_eq!(invalid.body()["error"]["param"], "file_id");
        assert!(invalid.message().contains("ASCII letters"));
    }

    #[test]
    fn unsupported_parameter_names_the_parameter() {
        let err = PoolerError::unsupported_parameter("logit_bias");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            err.body(),
            serde_json::json!({"error":{"message":"Unsupported parameter: logit_bias",
                "type":"invalid_request_error","code":"unsupported_parameter","param":"logit_bias"}})
        );
        let path =
            PoolerError::invalid_request("bad part").with_param(format!("messages[{}].content", 2));
        assert_eq!(path.body()["error"]["param"], "messages[2].content");
    }

    #[test]
    fn upstream_error_is_a_sanitized_502() {
        let err = PoolerError::upstream_error(Some("context_length_exceeded"));
        assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(err.body()["error"]["code"], "upstream_error");
        assert_eq!(
            err.body()["error"]["upstream_code"],
            "context_length_exceeded"
        );
        assert_eq!(err.body()["error"]["message"], "upstream request failed");
    }

    #[test]
    fn usage_limit_has_reset_fields_and_retry_after() {
        let err = PoolerError::usage_limit_reached(1_900_000_000, Duration::from_millis(90_500));
        let res = err.to_http();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "91");
        let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(body["error"]["type"], "usage_limit_reached");
        assert_eq!(body["error"]["resets_at"], 1_900_000_000);
        assert_eq!(body["error"]["resets_in_seconds"], 90);
    }
}
