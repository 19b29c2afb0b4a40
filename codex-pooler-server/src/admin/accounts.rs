//! `/accounts` and `/pools/{pool}/accounts`: upstream accounts, their quota and lifecycle.
//!
//! An admin sees an account assigned to any of their pools, and changes it only when every pool
//! it serves is theirs (pausing a shared account would change another pool's capacity).

use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use codex_pooler_core::model::{AccountId, Lifecycle, PoolId, UpstreamAccount};
use codex_pooler_core::plan::WindowReport;
use codex_pooler_core::store::{PoolStore, StoreState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{Body, PathParams, QueryParams};
use super::pools::scoped_pool;
use super::state::AdminState;
use crate::audit::NewAuditEvent;
use crate::commands::upstreams::import_bytes;
use crate::store::rfc3339;

/// An upstream account as the API shows it: metadata, never a token.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    /// Store identifier.
    pub id: i64,
    /// The opaque handle routing receipts and metrics name it by.
    pub handle: String,
    /// Operator label.
    pub label: String,
    /// The ChatGPT login's email, when its token said.
    pub email: Option<String>,
    /// The ChatGPT plan (`plus`, `pro`, `team`...).
    pub plan_type: Option<String>,
    /// The upstream origin, when not the gateway's default.
    pub base_url: Option<String>,
    /// Credential lifecycle: `active`, `paused`, `refresh_due`, `refreshing`, `refresh_failed`,
    /// `reauth_required`, `disabled`.
    pub lifecycle: Lifecycle,
    /// Models the account serves (empty: the catalog's).
    pub models: Vec<String>,
    /// Slugs of the pools it serves (only those the caller may see).
    pub pools: Vec<String>,
    /// The quota windows the running gateway knows, each with used percent and reset time.
    pub quota: Vec<WindowReport>,
    /// RFC 3339: the account is exhausted until then, by the last evidence.
    pub exhausted_until: Option<String>,
    /// Whether the gateway has any quota evidence for it.
    pub quota_known: bool,
}

/// An `auth.json` to import into a pool.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportAccount {
    /// The Codex CLI `auth.json` (ChatGPT login) as a JSON object.
    #[schema(value_type = Object)]
    pub auth_json: serde_json::Value,
    /// An operator label (default: the login's email or account id).
    #[serde(default)]
    pub label: Option<String>,
    /// The upstream origin for this account (default: the gateway's).
    #[serde(default)]
    pub base_url: Option<String>,
}

/// `?pool=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountFilter {
    /// Only this pool's accounts (slug).
    pub pool: Option<String>,
}

/// The routes.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts))
        .routes(routes!(get_account))
        .routes(routes!(import_account))
        .routes(routes!(pause_account))
        .routes(routes!(resume_account))
}

/// The accounts the caller may see.
#[utoipa::path(
    get, path = "/accounts", tag = "accounts",
    params(AccountFilter),
    responses(
        (status = 200, description = "Success", body = Vec<AccountView>),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn list_accounts(
    State(state): State<AdminState>,
    caller: Caller,
    QueryParams(filter): QueryParams<AccountFilter>,
) -> Result<Json<Vec<AccountView>>, ApiError> {
    let only = match &filter.pool {
        Some(slug) => Some(scoped_pool(&state, &caller, slug).await?.id),
        None => None,
    };
    let config = state.store.load_state().await?;
    let scope = caller.scope();
    let views = config
        .accounts
        .iter()
        .filter(|a| {
            let pools = pools_of(&config, a.id);
            let visible =
                scope.allows_any(&pools) || (pools.is_empty() && scope.pool_filter().is_none());
            visible && only.is_none_or(|p| pools.contains(&p))
        })
        .map(|a| view(&state, &caller, &config, a))
        .collect();
    Ok(Json(views))
}

/// One account.
#[utoipa::path(
    get, path = "/accounts/{account}", tag = "accounts",
    params(("account" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Success", body = AccountView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn get_account(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
) -> Result<Json<AccountView>, ApiError> {
    let config = state.store.load_state().await?;
    let account = visible(&config, &caller, AccountId(id))?;
    Ok(Json(view(&state, &caller, &config, account)))
}

/// Imports a Codex CLI `auth.json` as a new account of the pool. Nothing is stored unless the
/// whole file is valid and names an account not imported yet.
#[utoipa::path(
    post, path = "/pools/{pool}/accounts", tag = "accounts",
    params(("pool" = String, Path, description = "The pool's slug")),
    request_body = ImportAccount,
    responses(
        (status = 201, description = "Created", body = AccountView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn import_account(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(slug): PathParams<String>,
    Body(body): Body<ImportAccount>,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    let pool = scoped_pool(&state, &caller, &slug).await?;
    let event = NewAuditEvent::new(caller.actor(), "account.import", "pool", Some(slug.clone()))
        .in_pool(pool.id);
    let bytes = body.auth_json.to_string().into_bytes();
    let imported = import_bytes(
        &*state.store,
        &state.sealer,
        &pool,
        &bytes,
        body.base_url.as_deref(),
        body.label.as_deref(),
    )
    .await
    .map_err(ApiError::from);
    match imported {
        Ok(account) => {
            let event = NewAuditEvent {
                target_kind: "account".to_owned(),
                target_id: Some(account.id.to_string()),
                ..event
            };
            state.audit(event).await;
            let config = state.store.load_state().await?;
            Ok((
                StatusCode::CREATED,
                Json(view(&state, &caller, &config, &account)),
            ))
        }
        Err(err) => {
            state.audit(event.failed(err.code())).await;
            Err(err)
        }
    }
}

/// Pauses an account: it gets no new traffic until resumed.
#[utoipa::path(
    post, path = "/accounts/{account}/pause", tag = "accounts",
    params(("account" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Success", body = AccountView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 403, description = "Only an owner may do this: `owner_required`", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn pause_account(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
) -> Result<Json<AccountView>, ApiError> {
    set_lifecycle(
        &state,
        &caller,
        AccountId(id),
        Lifecycle::Paused,
        "account.pause",
    )
    .await
}

/// Resumes a paused account.
#[utoipa::path(
    post, path = "/accounts/{account}/resume", tag = "accounts",
    params(("account" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Success", body = AccountView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 403, description = "Only an owner may do this: `owner_required`", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn resume_account(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
) -> Result<Json<AccountView>, ApiError> {
    set_lifecycle(
        &state,
        &caller,
        AccountId(id),
        Lifecycle::Active,
        "account.resume",
    )
    .await
}

async fn set_lifecycle(
    state: &AdminState,
    caller: &Caller,
    id: AccountId,
    lifecycle: Lifecycle,
    action: &str,
) -> Result<Json<AccountView>, ApiError> {
    let config = state.store.load_state().await?;
    let account = changeable(&config, caller, id)?;
    let mut event = NewAuditEvent::new(caller.actor(), action, "account", Some(id.to_string()));
    event.pool = pools_of(&config, id).first().copied();
    let result = async {
        if lifecycle == Lifecycle::Active && account.lifecycle != Lifecycle::Paused {
            return Err(ApiError::Invalid(format!(
                "account {id} is {}, not paused; only a paused account can be resumed",
                account.lifecycle.as_str()
            )));
        }
        Ok(state.store.set_account_lifecycle(id, lifecycle).await?)
    }
    .await;
    match result {
        Ok(()) => {
            state.audit(event).await;
            let config = state.store.load_state().await?;
            let account = visible(&config, caller, id)?;
            Ok(Json(view(state, caller, &config, account)))
        }
        Err(err) => {
            state.audit(event.failed(err.code())).await;
            Err(err)
        }
    }
}

/// The pools `account` serves.
pub(crate) fn pools_of(config: &StoreState, account: AccountId) -> Vec<PoolId> {
    config
        .assignments
        .iter()
        .filter(|a| a.account == account)
        .map(|a| a.pool)
        .collect()
}

/// The account if the caller may see it: it serves one of their pools (an owner sees every
/// account, assigned or not). 404 otherwise.
pub(crate) fn visible<'a>(
    config: &'a StoreState,
    caller: &Caller,
    id: AccountId,
) -> Result<&'a UpstreamAccount, ApiError> {
    let scope = caller.scope();
    config
        .accounts
        .iter()
        .find(|a| a.id == id)
        .filter(|a| scope.pool_filter().is_none() || scope.allows_any(&pools_of(config, a.id)))
        .ok_or_else(|| ApiError::NotFound(format!("account {id}")))
}

/// The account if the caller may change it: visible, and every pool it serves is theirs.
pub(crate) fn changeable<'a>(
    config: &'a StoreState,
    caller: &Caller,
    id: AccountId,
) -> Result<&'a UpstreamAccount, ApiError> {
    let account = visible(config, caller, id)?;
    if caller.scope().allows_all(&pools_of(config, id)) {
        Ok(account)
    } else {
        Err(ApiError::SharedAccount(id.0))
    }
}

pub(crate) fn view(
    state: &AdminState,
    caller: &Caller,
    config: &StoreState,
    a: &UpstreamAccount,
) -> AccountView {
    let scope = caller.scope();
    let quota = state.pooler.live().quota_view(a.id, SystemTime::now());
    AccountView {
        id: a.id.0,
        handle: state.hasher.account_handles().handle(a.id),
        label: a.label.clone(),
        email: a.email.clone(),
        plan_type: a.plan_type.clone(),
        base_url: a.base_url.clone(),
        lifecycle: a.lifecycle,
        models: a.models.clone(),
        pools: pools_of(config, a.id)
            .into_iter()
            .filter(|p| scope.allows(*p))
            .filter_map(|p| config.pools.iter().find(|x| x.id == p))
            .map(|p| p.slug.clone())
            .collect(),
        quota: quota.windows.iter().map(WindowReport::from).collect(),
        exhausted_until: quota.exhausted_until.map(rfc3339),
        quota_known: quota.known,
    }
}
