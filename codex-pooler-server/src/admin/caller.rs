//! The operator behind a request: `Authorization: Bearer <operator API token>`.

use std::time::SystemTime;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::ApiError;
use super::state::AdminState;
use crate::audit::Actor;
use crate::operators::{
    Operator, OperatorStatus, OperatorToken, OperatorTokenMaterial, Role, Scope, TokenKind,
};
use crate::store::SqlStore;
use codex_pooler_tower::keys::KeyHasher;

/// An authenticated operator and the token they used.
///
/// Extracting it reads the token's row and the operator's from the store on every call (the
/// operator API is not the request hot path), so a revoked token or a disabled operator is
/// refused at once, on every replica.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who is calling.
    pub operator: Operator,
    /// The token they called with.
    pub token: OperatorToken,
}

impl Caller {
    /// What the caller may see and change.
    pub fn scope(&self) -> Scope {
        self.operator.scope()
    }

    /// The caller as an audit actor.
    pub fn actor(&self) -> Actor {
        Actor::operator(&self.operator)
    }

    /// Fails with 403 `owner_required` unless the caller is an owner.
    ///
    /// # Errors
    ///
    /// [`ApiError::OwnerRequired`].
    pub fn require_owner(&self) -> Result<(), ApiError> {
        if self.operator.role == Role::Owner {
            Ok(())
        } else {
            Err(ApiError::OwnerRequired)
        }
    }
}

impl FromRequestParts<AdminState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let presented = bearer(parts)?;
        authenticate(&state.store, &state.hasher, presented, TokenKind::Api).await
    }
}

/// The bearer credential of a request.
///
/// # Errors
///
/// 401 `missing_token` without one.
pub fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized(
                "missing_token",
                "send an operator token as `Authorization: Bearer <token>`",
            )
        })
}

/// Checks a presented token of `kind` against the store.
///
/// # Errors
///
/// 401 with `invalid_token` (malformed, unknown, wrong secret or another kind of credential),
/// `token_expired`, `token_revoked` or `operator_disabled`; 500 when the store fails.
pub async fn authenticate(
    store: &SqlStore,
    hasher: &KeyHasher,
    presented: &str,
    kind: TokenKind,
) -> Result<Caller, ApiError> {
    let invalid = || {
        ApiError::unauthorized(
            "invalid_token",
            format!("the bearer credential is not a valid operator {kind} token"),
        )
    };
    let parsed = OperatorTokenMaterial::parse(presented, kind).map_err(|_| invalid())?;
    let stored = store
        .operator_token_by_prefix(parsed.prefix)
        .await?
        .ok_or_else(invalid)?;
    if stored.token.kind != kind || !hasher.verify(presented, stored.key_version, &stored.hash) {
        return Err(invalid());
    }
    if stored.token.revoked_at.is_some() {
        return Err(ApiError::unauthorized(
            "token_revoked",
            "this operator token was revoked",
        ));
    }
    if !stored.token.is_usable(SystemTime::now()) {
        return Err(ApiError::unauthorized(
            "token_expired",
            "this operator token has expired",
        ));
    }
    let operator = store
        .operator(stored.token.operator)
        .await?
        .ok_or_else(invalid)?;
    if operator.status != OperatorStatus::Active {
        return Err(ApiError::unauthorized(
            "operator_disabled",
            "this operator is disabled",
        ));
    }
    Ok(Caller {
        operator,
        token: stored.token,
    })
}
