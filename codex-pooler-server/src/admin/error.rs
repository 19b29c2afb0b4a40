//! The operator API's errors: a status and a JSON body `{"error": {"code", "message"}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codex_pooler_core::store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ServerError;

/// A refused or failed operator API call.
///
/// Anything outside the caller's scope is [`ApiError::NotFound`], exactly like something that
/// does not exist, so an answer never tells a pool-scoped admin what other pools hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 401: no usable operator token (code `missing_token`, `invalid_token`, `token_expired`,
    /// `token_revoked` or `operator_disabled`).
    #[error("{message}")]
    Unauthorized {
        /// The stable code.
        code: &'static str,
        /// What to do about it.
        message: String,
    },
    /// 403 `owner_required`: the route is the owner's.
    #[error("only an owner may do this")]
    OwnerRequired,
    /// 403 `account_shared`: the account also serves pools outside the caller's scope.
    #[error("account {0} also serves pools outside your scope; ask an owner to change it")]
    SharedAccount(i64),
    /// 404 `not_found`.
    #[error("{0} not found")]
    NotFound(String),
    /// 409 `conflict`.
    #[error("{0} already exists")]
    Conflict(String),
    /// 400 `invalid_request`: the request is malformed or asks for something impossible.
    #[error("{0}")]
    Invalid(String),
    /// 500 `internal_error`: the store failed; details are logged, not sent.
    #[error("internal error")]
    Internal,
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code.
    #[schema(example = "not_found")]
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

impl ApiError {
    /// A 401 with `code`.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::OwnerRequired | Self::SharedAccount(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized { code, .. } => code,
            Self::OwnerRequired => "owner_required",
            Self::SharedAccount(_) => "account_shared",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Invalid(_) => "invalid_request",
            Self::Internal => "internal_error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
            },
        };
        (self.status(), Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Conflict(what) => Self::Conflict(what),
            // A removed account or an archived pool refuses the change for good.
            err @ (StoreError::Removed(_) | StoreError::Archived(_)) => {
                Self::Invalid(err.to_string())
            }
            other => {
                tracing::error!(error = %other, "operator api: store failure");
                Self::Internal
            }
        }
    }
}

impl From<crate::store::RecordQueryError> for ApiError {
    fn from(err: crate::store::RecordQueryError) -> Self {
        match err {
            crate::store::RecordQueryError::Store(err) => err.into(),
            other => Self::Invalid(other.to_string()),
        }
    }
}

impl From<ServerError> for ApiError {
    fn from(err: ServerError) -> Self {
        match err {
            ServerError::Store(err) => err.into(),
            ServerError::Usage(message) => Self::Invalid(message),
            ServerError::AuthJson(err) => Self::Invalid(format!("cannot import auth.json: {err}")),
            other => {
                tracing::error!(error = %other, "operator api: failure");
                Self::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_and_archived_refusals_are_invalid_requests_with_the_stores_message() {
        let removed = ApiError::from(StoreError::Removed("account 3".to_owned()));
        assert_eq!(removed.status(), StatusCode::BAD_REQUEST);
        assert_eq!(removed.code(), "invalid_request");
        assert_eq!(removed.to_string(), "account 3 was removed");
        let archived = ApiError::from(StoreError::Archived("pool 2".to_owned()));
        assert_eq!(archived.code(), "invalid_request");
        assert_eq!(
            archived.to_string(),
            "pool 2 is archived for good: it cannot be enabled or disabled again"
        );
    }
}
