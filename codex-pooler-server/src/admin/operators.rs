//! `/operators`, `/me` and operator tokens.
//!
//! Owners manage every operator and token. An admin sees themself (`/me`) and manages only their
//! own tokens (`/me/tokens`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use codex_pooler_core::model::PoolId;
use codex_pooler_core::store::PoolStore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{Body, PathParams};
use super::state::AdminState;
use crate::audit::NewAuditEvent;
use crate::operators::{
    NewOperator, Operator, OperatorId, OperatorStatus, OperatorToken, Role, TokenId, TokenKind,
    issue_token, validate_label, validate_name,
};
use crate::store::rfc3339;

/// An operator as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorView {
    /// Store identifier.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// `owner` or `admin`.
    pub role: Role,
    /// `active` or `disabled`.
    pub status: OperatorStatus,
    /// An admin's pools, by slug (empty for an owner, who sees every pool).
    pub pools: Vec<String>,
    /// Whether a dashboard password is set.
    pub has_password: bool,
    /// RFC 3339.
    pub created_at: String,
}

impl OperatorView {
    pub(crate) fn of(operator: &Operator, slugs: &BTreeMap<PoolId, String>) -> Self {
        Self {
            id: operator.id.0,
            name: operator.name.clone(),
            role: operator.role,
            status: operator.status,
            pools: operator
                .pools
                .iter()
                .filter_map(|p| slugs.get(p).cloned())
                .collect(),
            has_password: operator.has_password,
            created_at: rfc3339(operator.created_at),
        }
    }
}

/// A token's metadata (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Store identifier.
    pub id: i64,
    /// `api` (the REST API) or `mcp` (`/mcp`).
    pub kind: TokenKind,
    /// Its label.
    pub label: String,
    /// The public prefix, to recognise it.
    pub prefix: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, or `null` for no expiry.
    pub expires_at: Option<String>,
    /// RFC 3339, or `null` while not revoked.
    pub revoked_at: Option<String>,
    /// Whether it works now.
    pub usable: bool,
}

impl TokenView {
    fn of(token: &OperatorToken) -> Self {
        Self {
            id: token.id.0,
            kind: token.kind,
            label: token.label.clone(),
            prefix: token.prefix.clone(),
            created_at: rfc3339(token.created_at),
            expires_at: token.expires_at.map(rfc3339),
            revoked_at: token.revoked_at.map(rfc3339),
            usable: token.is_usable(std::time::SystemTime::now()),
        }
    }
}

/// A new token; `secret` is shown only in this answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTokenView {
    /// Its metadata.
    pub token: TokenView,
    /// The whole token. Store it now: it is never shown again.
    pub secret: String,
}

/// The calling operator and the token in use.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    /// The operator.
    pub operator: OperatorView,
    /// The token this call used.
    pub token: TokenView,
}

/// A new operator.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOperator {
    /// Unique name (1-64 characters, no control characters).
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]{1,64}$"
    )]
    pub name: String,
    /// `owner` or `admin`.
    pub role: Role,
    /// An admin's pools, by slug.
    #[serde(default)]
    pub pools: Vec<String>,
}

/// Changes to an operator; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOperator {
    /// `active` or `disabled`.
    #[serde(default)]
    pub status: Option<OperatorStatus>,
    /// An admin's pools, by slug (replaces the list).
    #[serde(default)]
    pub pools: Option<Vec<String>>,
}

/// A new token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// `api` or `mcp`.
    pub kind: TokenKind,
    /// A label to recognise it by (1-64 characters, no control characters).
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]{1,64}$"
    )]
    pub label: String,
    /// Expire it after this many days (1-3650); no expiry when absent.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u64>,
}

/// The routes.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(list_my_tokens, create_my_token))
        .routes(routes!(revoke_my_token))
        .routes(routes!(list_operators, create_operator))
        .routes(routes!(get_operator, update_operator))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// The calling operator.
#[utoipa::path(
    get, path = "/me", tag = "operators",
    responses((status = 200, description = "Success", body = MeView), (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody)),
    security(("operator_token" = []))
)]
async fn me(State(state): State<AdminState>, caller: Caller) -> Result<Json<MeView>, ApiError> {
    let slugs = pool_slugs(&state).await?;
    Ok(Json(MeView {
        operator: OperatorView::of(&caller.operator, &slugs),
        token: TokenView::of(&caller.token),
    }))
}

/// The calling operator's tokens.
#[utoipa::path(
    get, path = "/me/tokens", tag = "operators",
    responses((status = 200, description = "Success", body = Vec<TokenView>), (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody)),
    security(("operator_token" = []))
)]
async fn list_my_tokens(
    State(state): State<AdminState>,
    caller: Caller,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    tokens_of(&state, caller.operator.id).await
}

/// Issues a token to the calling operator.
#[utoipa::path(
    post, path = "/me/tokens", tag = "operators",
    request_body = CreateToken,
    responses(
        (status = 201, description = "Created", body = CreatedTokenView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn create_my_token(
    State(state): State<AdminState>,
    caller: Caller,
    Body(body): Body<CreateToken>,
) -> Result<(StatusCode, Json<CreatedTokenView>), ApiError> {
    let id = caller.operator.id;
    issue(&state, &caller, id, body).await
}

/// Revokes one of the calling operator's tokens.
#[utoipa::path(
    delete, path = "/me/tokens/{token}", tag = "operators",
    params(("token" = i64, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Done; no body"),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn revoke_my_token(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(token): PathParams<i64>,
) -> Result<StatusCode, ApiError> {
    let id = caller.operator.id;
    revoke(&state, &caller, id, TokenId(token)).await
}

/// Every operator (owner only).
#[utoipa::path(
    get, path = "/operators", tag = "operators",
    responses(
        (status = 200, description = "Success", body = Vec<OperatorView>),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 403, description = "Only an owner may do this: `owner_required`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn list_operators(
    State(state): State<AdminState>,
    caller: Caller,
) -> Result<Json<Vec<OperatorView>>, ApiError> {
    caller.require_owner()?;
    let slugs = pool_slugs(&state).await?;
    let operators = state.store.operators().await?;
    Ok(Json(
        operators
            .iter()
            .map(|o| OperatorView::of(o, &slugs))
            .collect(),
    ))
}

/// Creates an operator (owner only). Give them a token with `POST /operators/{id}/tokens`.
#[utoipa::path(
    post, path = "/operators", tag = "operators",
    request_body = CreateOperator,
    responses(
        (status = 201, description = "Created", body = OperatorView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 403, description = "Only an owner may do this: `owner_required`", body = ErrorBody),
        (status = 409, description = "Conflicts with what exists: `conflict`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn create_operator(
    State(state): State<AdminState>,
    caller: Caller,
    Body(body): Body<CreateOperator>,
) -> Result<(StatusCode, Json<OperatorView>), ApiError> {
    let event = NewAuditEvent::new(
        caller.actor(),
        "operator.create",
        "operator",
        Some(body.name.clone()),
    );
    let result = async {
        caller.require_owner()?;
        validate_name(&body.name).map_err(|e| ApiError::Invalid(e.to_string()))?;
        let pools = pool_ids(&state, &body.pools).await?;
        if body.role == Role::Owner && !pools.is_empty() {
            return Err(ApiError::Invalid(
                "an owner sees every pool; give pools only to an admin".to_owned(),
            ));
        }
        Ok(state
            .store
            .create_operator(NewOperator {
                name: body.name.clone(),
                role: body.role,
                pools,
            })
            .await?)
    }
    .await;
    match result {
        Ok(operator) => {
            let event = NewAuditEvent {
                target_id: Some(operator.id.to_string()),
                ..event
            };
            state.audit(event.with_detail(operator.role.as_str())).await;
            let slugs = pool_slugs(&state).await?;
            Ok((
                StatusCode::CREATED,
                Json(OperatorView::of(&operator, &slugs)),
            ))
        }
        Err(err) => {
            state.audit(event.failed(err.code())).await;
            Err(err)
        }
    }
}

/// One operator (owner only).
#[utoipa::path(
    get, path = "/operators/{operator}", tag = "operators",
    params(("operator" = i64, Path, description = "The operator's id")),
    responses(
        (status = 200, description = "Success", body = OperatorView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 403, description = "Only an owner may do this: `owner_required`", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn get_operator(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
) -> Result<Json<OperatorView>, ApiError> {
    caller.require_owner()?;
    let operator = operator_or_404(&state, OperatorId(id)).await?;
    let slugs = pool_slugs(&state).await?;
    Ok(Json(OperatorView::of(&operator, &slugs)))
}

/// Disables or enables an operator, or changes an admin's pools (owner only).
#[utoipa::path(
    patch, path = "/operators/{operator}", tag = "operators",
    params(("operator" = i64, Path, description = "The operator's id")),
    request_body = UpdateOperator,
    responses(
        (status = 200, description = "Success", body = OperatorView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 403, description = "Only an owner may do this: `owner_required`", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn update_operator(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
    Body(body): Body<UpdateOperator>,
) -> Result<Json<OperatorView>, ApiError> {
    let id = OperatorId(id);
    let event = NewAuditEvent::new(
        caller.actor(),
        "operator.update",
        "operator",
        Some(id.to_string()),
    );
    let result = async {
        caller.require_owner()?;
        let operator = operator_or_404(&state, id).await?;
        if body.status == Some(OperatorStatus::Disabled) && operator.id == caller.operator.id {
            return Err(ApiError::Invalid(
                "an operator cannot disable themself".to_owned(),
            ));
        }
        if let Some(slugs) = &body.pools {
            if operator.role == Role::Owner {
                return Err(ApiError::Invalid(
                    "an owner sees every pool; give pools only to an admin".to_owned(),
                ));
            }
            let pools = pool_ids(&state, slugs).await?;
            state.store.set_operator_pools(id, &pools).await?;
        }
        if let Some(status) = body.status {
            state.store.set_operator_status(id, status).await?;
        }
        operator_or_404(&state, id).await
    }
    .await;
    match result {
        Ok(operator) => {
            state.audit(event).await;
            let slugs = pool_slugs(&state).await?;
            Ok(Json(OperatorView::of(&operator, &slugs)))
        }
        Err(err) => {
            state.audit(event.failed(err.code())).await;
            Err(err)
        }
    }
}

/// An operator's tokens (owner only).
#[utoipa::path(
    get, path = "/operators/{operator}/tokens", tag = "operators",
    params(("operator" = i64, Path, description = "The operator's id")),
    responses(
        (status = 200, description = "Success", body = Vec<TokenView>),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 403, description = "Only an owner may do this: `owner_required`", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn list_tokens(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    caller.require_owner()?;
    let operator = operator_or_404(&state, OperatorId(id)).await?;
    tokens_of(&state, operator.id).await
}

/// Issues a token to an operator (owner only); the secret is in this answer only.
#[utoipa::path(
    post, path = "/operators/{operator}/tokens", tag = "operators",
    params(("operator" = i64, Path, description = "The operator's id")),
    request_body = CreateToken,
    responses(
        (status = 201, description = "Created", body = CreatedTokenView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 403, description = "Only an owner may do this: `owner_required`", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn create_token(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
    Body(body): Body<CreateToken>,
) -> Result<(StatusCode, Json<CreatedTokenView>), ApiError> {
    caller.require_owner()?;
    let operator = operator_or_404(&state, OperatorId(id)).await?;
    issue(&state, &caller, operator.id, body).await
}

/// Revokes an operator's token (owner only).
#[utoipa::path(
    delete, path = "/operators/{operator}/tokens/{token}", tag = "operators",
    params(
        ("operator" = i64, Path, description = "The operator's id"),
        ("token" = i64, Path, description = "The token's id"),
    ),
    responses(
        (status = 204, description = "Done; no body"),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 403, description = "Only an owner may do this: `owner_required`", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn revoke_token(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams((id, token)): PathParams<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    caller.require_owner()?;
    revoke(&state, &caller, OperatorId(id), TokenId(token)).await
}

async fn issue(
    state: &AdminState,
    caller: &Caller,
    operator: OperatorId,
    body: CreateToken,
) -> Result<(StatusCode, Json<CreatedTokenView>), ApiError> {
    let event = NewAuditEvent::new(
        caller.actor(),
        "token.create",
        "operator",
        Some(operator.to_string()),
    )
    .with_detail(body.kind.as_str());
    let result = async {
        validate_label(&body.label).map_err(|e| ApiError::Invalid(e.to_string()))?;
        if body
            .expires_in_days
            .is_some_and(|d| !(1..=3650).contains(&d))
        {
            return Err(ApiError::Invalid(
                "expires_in_days must be between 1 and 3650".to_owned(),
            ));
        }
        Ok(issue_token(
            &state.store,
            &state.hasher,
            operator,
            body.kind,
            &body.label,
            body.expires_in_days,
        )
        .await?)
    }
    .await;
    match result {
        Ok(issued) => {
            state.audit(event).await;
            Ok((
                StatusCode::CREATED,
                Json(CreatedTokenView {
                    token: TokenView::of(&issued.token),
                    secret: issued.plaintext.expose().to_owned(),
                }),
            ))
        }
        Err(err) => {
            state.audit(event.failed(err.code())).await;
            Err(err)
        }
    }
}

async fn revoke(
    state: &AdminState,
    caller: &Caller,
    operator: OperatorId,
    token: TokenId,
) -> Result<StatusCode, ApiError> {
    let event = NewAuditEvent::new(
        caller.actor(),
        "token.revoke",
        "token",
        Some(token.to_string()),
    );
    match state.store.revoke_operator_token(operator, token).await {
        Ok(()) => {
            state.audit(event).await;
            Ok(StatusCode::NO_CONTENT)
        }
        Err(err) => {
            let err = ApiError::from(err);
            state.audit(event.failed(err.code())).await;
            Err(err)
        }
    }
}

async fn tokens_of(
    state: &AdminState,
    operator: OperatorId,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let tokens = state.store.operator_tokens(operator).await?;
    Ok(Json(tokens.iter().map(TokenView::of).collect()))
}

async fn operator_or_404(state: &AdminState, id: OperatorId) -> Result<Operator, ApiError> {
    state
        .store
        .operator(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("operator {id}")))
}

/// Every pool's slug by id.
pub(crate) async fn pool_slugs(state: &AdminState) -> Result<BTreeMap<PoolId, String>, ApiError> {
    let config = state.store.load_state().await?;
    Ok(config.pools.into_iter().map(|p| (p.id, p.slug)).collect())
}

/// The ids of pools named by slug; an unknown slug is a 400.
async fn pool_ids(state: &AdminState, slugs: &[String]) -> Result<Vec<PoolId>, ApiError> {
    let mut ids = Vec::with_capacity(slugs.len());
    for slug in slugs {
        let pool = state
            .store
            .pool_by_slug(slug)
            .await?
            .ok_or_else(|| ApiError::Invalid(format!("no pool named {slug:?}")))?;
        ids.push(pool.id);
    }
    Ok(ids)
}
