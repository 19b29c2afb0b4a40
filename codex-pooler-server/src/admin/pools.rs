//! `/pools`: list, read, create and change pools.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use codex_pooler_core::model::{Pool, PoolStatus};
use codex_pooler_core::store::{PoolStore, StoreState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{Body, PathParams};
use super::state::AdminState;
use crate::audit::NewAuditEvent;
use crate::commands::pools::strategy_name;

/// A pool as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PoolView {
    /// Store identifier.
    pub id: i64,
    /// Unique name, used in paths.
    pub slug: String,
    /// `active`, `disabled` or `archived`.
    #[schema(example = "active")]
    pub status: String,
    /// The routing strategy, or `null` for the gateway's default.
    pub strategy: Option<String>,
    /// Whether the pool's keys may use `/v1`.
    pub v1_enabled: bool,
    /// The pool's own busy wait in seconds, or `null` for the gateway's.
    pub busy_wait_secs: Option<u64>,
    /// The pool's own pin wait in seconds, or `null` for the gateway's.
    pub pin_wait_secs: Option<u64>,
    /// How many upstream accounts are assigned.
    pub accounts: u64,
    /// How many Pool API keys it has.
    pub keys: u64,
}

impl PoolView {
    pub(crate) fn of(pool: &Pool, state: &StoreState) -> Self {
        let accounts = state
            .assignments
            .iter()
            .filter(|a| a.pool == pool.id)
            .count();
        let keys = state.keys.iter().filter(|k| k.pool == pool.id).count();
        Self {
            id: pool.id.0,
            slug: pool.slug.clone(),
            status: pool.status.as_str().to_owned(),
            strategy: pool.strategy.clone(),
            v1_enabled: pool.v1_enabled,
            busy_wait_secs: pool.waits.busy_wait_secs,
            pin_wait_secs: pool.waits.pin_wait_secs,
            accounts: accounts as u64,
            keys: keys as u64,
        }
    }
}

/// A new pool.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePool {
    /// 1-63 lowercase letters, digits or `-`.
    #[schema(example = "team-a")]
    pub slug: String,
    /// A built-in strategy name, or `default`.
    #[serde(default)]
    pub strategy: Option<String>,
    /// Whether `/v1` is on (default true).
    #[serde(default)]
    pub v1_enabled: Option<bool>,
}

/// Changes to a pool; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePool {
    /// A built-in strategy name, or `default` for the gateway's default.
    #[serde(default)]
    pub strategy: Option<String>,
    /// Turns `/v1` on or off.
    #[serde(default)]
    pub v1_enabled: Option<bool>,
    /// `active` or `disabled`.
    #[serde(default)]
    pub status: Option<String>,
}

/// The routes.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(list_pools, create_pool))
        .routes(routes!(get_pool, update_pool))
}

/// The pools the caller may see.
#[utoipa::path(
    get, path = "/pools", tag = "pools",
    responses(
        (status = 200, description = "Success", body = Vec<PoolView>),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn list_pools(
    State(state): State<AdminState>,
    caller: Caller,
) -> Result<Json<Vec<PoolView>>, ApiError> {
    let scope = caller.scope();
    let config = state.store.load_state().await?;
    Ok(Json(
        config
            .pools
            .iter()
            .filter(|p| scope.allows(p.id))
            .map(|p| PoolView::of(p, &config))
            .collect(),
    ))
}

/// Creates a pool (owner only).
#[utoipa::path(
    post, path = "/pools", tag = "pools",
    request_body = CreatePool,
    responses(
        (status = 201, description = "Created", body = PoolView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 403, description = "Only an owner may do this: `owner_required`", body = ErrorBody),
        (status = 409, description = "Conflicts with what exists: `conflict`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn create_pool(
    State(state): State<AdminState>,
    caller: Caller,
    Body(body): Body<CreatePool>,
) -> Result<(StatusCode, Json<PoolView>), ApiError> {
    let event = NewAuditEvent::new(
        caller.actor(),
        "pool.create",
        "pool",
        Some(body.slug.clone()),
    );
    let result = async {
        caller.require_owner()?;
        Pool::validate_slug(&body.slug).map_err(|e| ApiError::Invalid(e.to_string()))?;
        let strategy = body
            .strategy
            .as_deref()
            .map(strategy_name)
            .transpose()?
            .flatten();
        let pool = state.store.create_pool(&body.slug).await?;
        if strategy.is_some() {
            state.store.set_pool_strategy(pool.id, strategy).await?;
        }
        if let Some(enabled) = body.v1_enabled.filter(|on| !on) {
            state.store.set_pool_v1_enabled(pool.id, enabled).await?;
        }
        Ok::<_, ApiError>(pool.id)
    }
    .await;
    match result {
        Ok(id) => {
            state.audit(event.in_pool(id)).await;
            let view = pool_view(&state, &body.slug).await?;
            Ok((StatusCode::CREATED, Json(view)))
        }
        Err(err) => {
            state.audit(event.failed(err.code())).await;
            Err(err)
        }
    }
}

/// One pool.
#[utoipa::path(
    get, path = "/pools/{pool}", tag = "pools",
    params(("pool" = String, Path, description = "The pool's slug")),
    responses(
        (status = 200, description = "Success", body = PoolView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn get_pool(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(slug): PathParams<String>,
) -> Result<Json<PoolView>, ApiError> {
    scoped_pool(&state, &caller, &slug).await?;
    Ok(Json(pool_view(&state, &slug).await?))
}

/// Changes a pool's strategy, `/v1` switch or status.
#[utoipa::path(
    patch, path = "/pools/{pool}", tag = "pools",
    params(("pool" = String, Path, description = "The pool's slug")),
    request_body = UpdatePool,
    responses(
        (status = 200, description = "Success", body = PoolView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn update_pool(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(slug): PathParams<String>,
    Body(body): Body<UpdatePool>,
) -> Result<Json<PoolView>, ApiError> {
    let pool = scoped_pool(&state, &caller, &slug).await?;
    let mut changed = Vec::new();
    if body.strategy.is_some() {
        changed.push("strategy");
    }
    if body.v1_enabled.is_some() {
        changed.push("v1_enabled");
    }
    if body.status.is_some() {
        changed.push("status");
    }
    let event = NewAuditEvent::new(caller.actor(), "pool.update", "pool", Some(slug.clone()))
        .in_pool(pool.id)
        .with_detail(changed.join(","));
    let result = async {
        let status = body
            .status
            .as_deref()
            .map(|s| match s {
                "active" => Ok(PoolStatus::Active),
                "disabled" => Ok(PoolStatus::Disabled),
                other => Err(ApiError::Invalid(format!(
                    "unknown pool status {other:?}; use active or disabled"
                ))),
            })
            .transpose()?;
        let strategy = body.strategy.as_deref().map(strategy_name).transpose()?;
        if let Some(strategy) = strategy {
            state.store.set_pool_strategy(pool.id, strategy).await?;
        }
        if let Some(enabled) = body.v1_enabled {
            state.store.set_pool_v1_enabled(pool.id, enabled).await?;
        }
        if let Some(status) = status {
            state.store.set_pool_status(pool.id, status).await?;
        }
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => {
            state.audit(event).await;
            Ok(Json(pool_view(&state, &slug).await?))
        }
        Err(err) => {
            state.audit(event.failed(err.code())).await;
            Err(err)
        }
    }
}

/// The pool named `slug` if the caller may see it; 404 otherwise, whether or not it exists.
pub(crate) async fn scoped_pool(
    state: &AdminState,
    caller: &Caller,
    slug: &str,
) -> Result<Pool, ApiError> {
    let not_found = || ApiError::NotFound(format!("pool {slug}"));
    let pool = state
        .store
        .pool_by_slug(slug)
        .await?
        .ok_or_else(not_found)?;
    if caller.scope().allows(pool.id) {
        Ok(pool)
    } else {
        Err(not_found())
    }
}

pub(crate) async fn pool_view(state: &AdminState, slug: &str) -> Result<PoolView, ApiError> {
    let config = state.store.load_state().await?;
    config
        .pools
        .iter()
        .find(|p| p.slug == slug)
        .map(|p| PoolView::of(p, &config))
        .ok_or_else(|| ApiError::NotFound(format!("pool {slug}")))
}
