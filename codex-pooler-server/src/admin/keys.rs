//! `/pools/{pool}/keys` and `/keys/{key}`: Pool API keys, their status and policy. A key's
//! secret appears once, in the answer that creates it; lists show prefixes only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use codex_pooler_core::model::{KeyId, KeyPolicy, KeyStatus, PoolApiKey};
use codex_pooler_core::store::{PoolStore, StoreState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{Body, PathParams};
use super::pools::scoped_pool;
use super::state::AdminState;
use crate::audit::NewAuditEvent;
use crate::commands::keys::{KeySpec, check_policy, create_key};
use crate::store::rfc3339;

/// A Pool API key as the API shows it (never its secret or hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// Store identifier.
    pub id: i64,
    /// The pool's slug.
    pub pool: String,
    /// Operator name.
    pub name: String,
    /// The public prefix (`sk-cxp-<prefix>-...`).
    pub prefix: String,
    /// `active`, `paused` or `revoked`.
    #[schema(example = "active")]
    pub status: String,
    /// RFC 3339, or `null` for no expiry.
    pub expires_at: Option<String>,
    /// Model, effort and limit rules (see `docs/keys.md`).
    #[schema(value_type = Object)]
    pub policy: KeyPolicy,
}

/// A new key; `secret` is in this answer only.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKeyView {
    /// Its metadata.
    pub key: KeyView,
    /// The whole key. Give it to the client now: it is never shown again.
    pub secret: String,
}

/// A new key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// A name for operators (1-64 characters).
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// Expire the key after this many days (1-3650).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u64>,
    /// Model, effort and limit rules; none when absent.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub policy: Option<KeyPolicy>,
}

/// Changes to a key; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateKey {
    /// `active` or `paused` (revoke with `POST /keys/{key}/revoke`).
    #[serde(default)]
    pub status: Option<String>,
    /// Replaces the key's rules.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub policy: Option<KeyPolicy>,
}

/// The routes.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_pool_key))
        .routes(routes!(get_key, update_key))
        .routes(routes!(revoke_key))
}

/// The pool's keys.
#[utoipa::path(
    get, path = "/pools/{pool}/keys", tag = "keys",
    params(("pool" = String, Path, description = "The pool's slug")),
    responses(
        (status = 200, description = "Success", body = Vec<KeyView>),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn list_keys(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(slug): PathParams<String>,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let pool = scoped_pool(&state, &caller, &slug).await?;
    let config = state.store.load_state().await?;
    Ok(Json(
        config
            .keys
            .iter()
            .filter(|k| k.pool == pool.id)
            .map(|k| key_view(&config, k))
            .collect(),
    ))
}

/// Creates a key for the pool.
#[utoipa::path(
    post, path = "/pools/{pool}/keys", tag = "keys",
    params(("pool" = String, Path, description = "The pool's slug")),
    request_body = CreateKey,
    responses(
        (status = 201, description = "Created", body = CreatedKeyView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn create_pool_key(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(slug): PathParams<String>,
    Body(body): Body<CreateKey>,
) -> Result<(StatusCode, Json<CreatedKeyView>), ApiError> {
    let pool = scoped_pool(&state, &caller, &slug).await?;
    let event = NewAuditEvent::new(caller.actor(), "key.create", "pool", Some(slug.clone()))
        .in_pool(pool.id);
    let result = async {
        if body.name.is_empty() || body.name.chars().count() > 64 {
            return Err(ApiError::Invalid(
                "a key name is 1-64 characters".to_owned(),
            ));
        }
        if body
            .expires_in_days
            .is_some_and(|d| !(1..=3650).contains(&d))
        {
            return Err(ApiError::Invalid(
                "expires_in_days must be between 1 and 3650".to_owned(),
            ));
        }
        Ok(create_key(
            &*state.store,
            &state.hasher,
            KeySpec {
                pool: &slug,
                name: &body.name,
                expires_in_days: body.expires_in_days,
                policy: body.policy.clone().unwrap_or_default(),
            },
        )
        .await?)
    }
    .await;
    match result {
        Ok(created) => {
            let event = NewAuditEvent {
                target_kind: "key".to_owned(),
                target_id: Some(created.key.id.to_string()),
                ..event
            };
            state.audit(event).await;
            let config = state.store.load_state().await?;
            Ok((
                StatusCode::CREATED,
                Json(CreatedKeyView {
                    key: key_view(&config, &created.key),
                    secret: created.plaintext,
                }),
            ))
        }
        Err(err) => {
            state.audit(event.failed(err.code())).await;
            Err(err)
        }
    }
}

/// One key.
#[utoipa::path(
    get, path = "/keys/{key}", tag = "keys",
    params(("key" = i64, Path, description = "The key's id")),
    responses(
        (status = 200, description = "Success", body = KeyView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn get_key(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
) -> Result<Json<KeyView>, ApiError> {
    let config = state.store.load_state().await?;
    let key = scoped_key(&config, &caller, KeyId(id))?;
    Ok(Json(key_view(&config, key)))
}

/// Pauses or resumes a key, or replaces its policy.
#[utoipa::path(
    patch, path = "/keys/{key}", tag = "keys",
    params(("key" = i64, Path, description = "The key's id")),
    request_body = UpdateKey,
    responses(
        (status = 200, description = "Success", body = KeyView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn update_key(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
    Body(body): Body<UpdateKey>,
) -> Result<Json<KeyView>, ApiError> {
    let config = state.store.load_state().await?;
    let key = scoped_key(&config, &caller, KeyId(id))?.clone();
    let mut changed = Vec::new();
    if body.status.is_some() {
        changed.push("status");
    }
    if body.policy.is_some() {
        changed.push("policy");
    }
    let event = NewAuditEvent::new(caller.actor(), "key.update", "key", Some(id.to_string()))
        .in_pool(key.pool)
        .with_detail(changed.join(","));
    let result = async {
        let status = match body.status.as_deref() {
            None => None,
            Some("active") => Some(KeyStatus::Active),
            Some("paused") => Some(KeyStatus::Paused),
            Some(other) => {
                return Err(ApiError::Invalid(format!(
                    "unknown key status {other:?}; use active or paused (revoke with POST \
                     /keys/{{key}}/revoke)"
                )));
            }
        };
        if status.is_some() && key.status == KeyStatus::Revoked {
            return Err(ApiError::Invalid(format!(
                "key {} is revoked; create a new one",
                key.prefix
            )));
        }
        if let Some(policy) = &body.policy {
            check_policy(policy)?;
            state.store.set_key_policy(key.id, policy.clone()).await?;
        }
        if let Some(status) = status {
            state.store.set_key_status(key.id, status).await?;
        }
        Ok(())
    }
    .await;
    finish(&state, &caller, event, result, key.id).await
}

/// Revokes a key for good.
#[utoipa::path(
    post, path = "/keys/{key}/revoke", tag = "keys",
    params(("key" = i64, Path, description = "The key's id")),
    responses(
        (status = 200, description = "Success", body = KeyView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn revoke_key(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
) -> Result<Json<KeyView>, ApiError> {
    let config = state.store.load_state().await?;
    let key = scoped_key(&config, &caller, KeyId(id))?.clone();
    let event = NewAuditEvent::new(caller.actor(), "key.revoke", "key", Some(id.to_string()))
        .in_pool(key.pool);
    let result = state
        .store
        .set_key_status(key.id, KeyStatus::Revoked)
        .await
        .map_err(ApiError::from);
    finish(&state, &caller, event, result, key.id).await
}

async fn finish(
    state: &AdminState,
    caller: &Caller,
    event: NewAuditEvent,
    result: Result<(), ApiError>,
    id: KeyId,
) -> Result<Json<KeyView>, ApiError> {
    match result {
        Ok(()) => {
            state.audit(event).await;
            let config = state.store.load_state().await?;
            let key = scoped_key(&config, caller, id)?;
            Ok(Json(key_view(&config, key)))
        }
        Err(err) => {
            state.audit(event.failed(err.code())).await;
            Err(err)
        }
    }
}

/// The key if it belongs to a pool the caller may see; 404 otherwise.
pub(crate) fn scoped_key<'a>(
    config: &'a StoreState,
    caller: &Caller,
    id: KeyId,
) -> Result<&'a PoolApiKey, ApiError> {
    config
        .keys
        .iter()
        .find(|k| k.id == id && caller.scope().allows(k.pool))
        .ok_or_else(|| ApiError::NotFound(format!("key {id}")))
}

pub(crate) fn key_view(config: &StoreState, k: &PoolApiKey) -> KeyView {
    KeyView {
        id: k.id.0,
        pool: config
            .pools
            .iter()
            .find(|p| p.id == k.pool)
            .map(|p| p.slug.clone())
            .unwrap_or_default(),
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        status: k.status.as_str().to_owned(),
        expires_at: k.expires_at.map(rfc3339),
        policy: k.policy.clone(),
    }
}
