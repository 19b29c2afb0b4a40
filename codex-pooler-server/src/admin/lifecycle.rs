//! The changes that end or move things: archive a pool and set its waits, remove an account,
//! assign it to a pool or take it out, rotate a key's secret.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use codex_pooler_core::model::{AccountId, KeyId, PoolStatus, PoolWaits};
use codex_pooler_core::store::PoolStore;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::accounts::{AccountView, changeable, pools_of, view as account_view};
use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{Body, PathParams};
use super::keys::{CreatedKeyView, key_view, scoped_key};
use super::pools::{PoolView, pool_view, scoped_pool};
use super::state::AdminState;
use crate::audit::NewAuditEvent;
use crate::commands::keys::rotate_key;

/// A pool's own waits; `null` (or absent) uses the gateway's `--busy-wait-secs` /
/// `--pin-wait-secs`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetWaits {
    /// Seconds a request waits, in all, for accounts busy upstream (0-3600).
    #[serde(default)]
    pub busy_wait_secs: Option<u64>,
    /// Seconds a pinned thread waits for its own account (0-3600, at most the busy wait).
    #[serde(default)]
    pub pin_wait_secs: Option<u64>,
}

/// How to rotate a key.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// Seconds the old secret keeps working (0-604800; default 0: refused at once).
    #[serde(default)]
    pub grace_secs: Option<u64>,
}

/// The routes.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(archive_pool))
        .routes(routes!(set_waits))
        .routes(routes!(remove_account))
        .routes(routes!(assign_account, unassign_account))
        .routes(routes!(rotate))
}

/// Archives a pool for good: it serves nothing and can never be enabled again (owner only).
#[utoipa::path(
    post, path = "/pools/{pool}/archive", tag = "pools",
    params(("pool" = String, Path, description = "The pool's slug")),
    responses(
        (status = 200, description = "Success", body = PoolView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 403, description = "Forbidden: `owner_required` or `account_shared`", body = ErrorBody),
        (status = 404, description = "Not found, or outside the caller's scope", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn archive_pool(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(slug): PathParams<String>,
) -> Result<Json<PoolView>, ApiError> {
    let pool = scoped_pool(&state, &caller, &slug).await?;
    let event = NewAuditEvent::new(caller.actor(), "pool.archive", "pool", Some(slug.clone()))
        .in_pool(pool.id);
    let result = async {
        caller.require_owner()?;
        Ok(state
            .store
            .set_pool_status(pool.id, PoolStatus::Archived)
            .await?)
    }
    .await;
    audited(&state, event, result).await?;
    Ok(Json(pool_view(&state, &slug).await?))
}

/// Sets the pool's own busy and pin waits.
#[utoipa::path(
    put, path = "/pools/{pool}/waits", tag = "pools",
    params(("pool" = String, Path, description = "The pool's slug")),
    request_body = SetWaits,
    responses(
        (status = 200, description = "Success", body = PoolView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or outside the caller's scope", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn set_waits(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(slug): PathParams<String>,
    Body(body): Body<SetWaits>,
) -> Result<Json<PoolView>, ApiError> {
    let pool = scoped_pool(&state, &caller, &slug).await?;
    let event = NewAuditEvent::new(caller.actor(), "pool.set_waits", "pool", Some(slug.clone()))
        .in_pool(pool.id);
    let result = async {
        let too_long = |v: Option<u64>| v.is_some_and(|s| s > 3600);
        if too_long(body.busy_wait_secs) || too_long(body.pin_wait_secs) {
            return Err(ApiError::Invalid("a wait is 0-3600 seconds".to_owned()));
        }
        if let (Some(busy), Some(pin)) = (body.busy_wait_secs, body.pin_wait_secs)
            && pin > busy
        {
            return Err(ApiError::Invalid(
                "pin_wait_secs must not exceed busy_wait_secs".to_owned(),
            ));
        }
        let waits = PoolWaits {
            busy_wait_secs: body.busy_wait_secs,
            pin_wait_secs: body.pin_wait_secs,
        };
        Ok(state.store.set_pool_waits(pool.id, waits).await?)
    }
    .await;
    audited(&state, event, result).await?;
    Ok(Json(pool_view(&state, &slug).await?))
}

/// Removes an account: its tokens are deleted, it leaves every pool, and the record rows that
/// name it stay. Requests it is serving finish.
#[utoipa::path(
    delete, path = "/accounts/{account}", tag = "accounts",
    params(("account" = i64, Path, description = "The account's id")),
    responses(
        (status = 204, description = "Done"),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 403, description = "Forbidden: `owner_required` or `account_shared`", body = ErrorBody),
        (status = 404, description = "Not found, or outside the caller's scope", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn remove_account(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
) -> Result<StatusCode, ApiError> {
    let id = AccountId(id);
    let config = state.store.load_state().await?;
    changeable(&config, &caller, id)?;
    let mut event = NewAuditEvent::new(
        caller.actor(),
        "account.remove",
        "account",
        Some(id.to_string()),
    );
    event.pool = pools_of(&config, id).first().copied();
    let result = state.store.remove_account(id).await.map_err(ApiError::from);
    audited(&state, event, result).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Assigns an account to (another) pool. The caller must see the account and the pool.
#[utoipa::path(
    put, path = "/pools/{pool}/accounts/{account}", tag = "accounts",
    params(
        ("pool" = String, Path, description = "The pool's slug"),
        ("account" = i64, Path, description = "The account's id"),
    ),
    responses(
        (status = 200, description = "Success", body = AccountView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 403, description = "Forbidden: `owner_required` or `account_shared`", body = ErrorBody),
        (status = 404, description = "Not found, or outside the caller's scope", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn assign_account(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams((slug, id)): PathParams<(String, i64)>,
) -> Result<Json<AccountView>, ApiError> {
    membership(&state, &caller, &slug, AccountId(id), true).await
}

/// Takes an account out of a pool (it keeps serving its other pools).
#[utoipa::path(
    delete, path = "/pools/{pool}/accounts/{account}", tag = "accounts",
    params(
        ("pool" = String, Path, description = "The pool's slug"),
        ("account" = i64, Path, description = "The account's id"),
    ),
    responses(
        (status = 200, description = "Success", body = AccountView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 403, description = "Forbidden: `owner_required` or `account_shared`", body = ErrorBody),
        (status = 404, description = "Not found, or outside the caller's scope", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn unassign_account(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams((slug, id)): PathParams<(String, i64)>,
) -> Result<Json<AccountView>, ApiError> {
    membership(&state, &caller, &slug, AccountId(id), false).await
}

async fn membership(
    state: &AdminState,
    caller: &Caller,
    slug: &str,
    id: AccountId,
    assign: bool,
) -> Result<Json<AccountView>, ApiError> {
    let pool = scoped_pool(state, caller, slug).await?;
    let config = state.store.load_state().await?;
    changeable(&config, caller, id)?;
    let action = if assign {
        "account.assign"
    } else {
        "account.unassign"
    };
    let event = NewAuditEvent::new(caller.actor(), action, "account", Some(id.to_string()))
        .in_pool(pool.id)
        .with_detail(slug);
    let result = if assign {
        state.store.assign(pool.id, id).await
    } else {
        state.store.unassign(pool.id, id).await
    }
    .map_err(ApiError::from);
    audited(state, event, result).await?;
    let config = state.store.load_state().await?;
    let account = config
        .accounts
        .iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("account {id}")))?;
    Ok(Json(account_view(state, caller, &config, account)))
}

/// Gives a key a new secret (same id, prefix and policy); the old secret keeps working for
/// `grace_secs`. The new secret is in this answer only.
#[utoipa::path(
    post, path = "/keys/{key}/rotate", tag = "keys",
    params(("key" = i64, Path, description = "The key's id")),
    request_body = RotateKey,
    responses(
        (status = 200, description = "Success", body = CreatedKeyView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or outside the caller's scope", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn rotate(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
    Body(body): Body<RotateKey>,
) -> Result<Json<CreatedKeyView>, ApiError> {
    let config = state.store.load_state().await?;
    let key = scoped_key(&config, &caller, KeyId(id))?.clone();
    let event = NewAuditEvent::new(caller.actor(), "key.rotate", "key", Some(id.to_string()))
        .in_pool(key.pool);
    let grace = body.grace_secs.unwrap_or(0);
    let result = async {
        if grace > 604_800 {
            return Err(ApiError::Invalid(
                "grace_secs must be between 0 and 604800".to_owned(),
            ));
        }
        Ok(rotate_key(
            &*state.store,
            &state.hasher,
            &key.id.to_string(),
            Duration::from_secs(grace),
        )
        .await?)
    }
    .await;
    let rotated = audited(&state, event, result).await?;
    let config = state.store.load_state().await?;
    Ok(Json(CreatedKeyView {
        key: key_view(&config, &rotated.key),
        secret: rotated.plaintext,
    }))
}

/// Writes `event` with the outcome of `result` and hands the result on.
async fn audited<T>(
    state: &AdminState,
    event: NewAuditEvent,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    match &result {
        Ok(_) => state.audit(event).await,
        Err(err) => state.audit(event.failed(err.code())).await,
    }
    result
}
