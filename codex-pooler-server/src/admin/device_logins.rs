//! Device-code logins through the API: `POST /pools/{pool}/device-logins` asks the issuer for a
//! user code and answers it at once; the gateway then waits for the operator to enter it (15
//! minutes at most) and stores the account, and `GET /device-logins/{login}` says how it went.
//!
//! Logins in progress are kept in the gateway process that started them (the issuer's pending
//! code is not stored anywhere); poll the replica that answered the start.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use codex_pooler_core::model::PoolId;
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
use crate::commands::login::{finish, start};
use crate::commands::upstreams::validate_base_url;
use crate::store::rfc3339;

/// How long a finished login's outcome stays readable.
const KEEP_FINISHED: Duration = Duration::from_secs(3600);

/// The logins this process started.
#[derive(Debug, Default, Clone)]
pub struct DeviceLogins {
    next: Arc<AtomicI64>,
    logins: Arc<Mutex<HashMap<i64, Entry>>>,
}

#[derive(Debug, Clone)]
struct Entry {
    pool: PoolId,
    view: DeviceLoginView,
    finished_at: Option<SystemTime>,
}

impl DeviceLogins {
    fn insert(&self, pool: PoolId, view: DeviceLoginView) -> i64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut logins = self.lock();
        let now = SystemTime::now();
        logins.retain(|_, e| {
            e.finished_at
                .is_none_or(|at| now.duration_since(at).unwrap_or_default() < KEEP_FINISHED)
        });
        logins.insert(
            id,
            Entry {
                pool,
                view: DeviceLoginView { id, ..view },
                finished_at: None,
            },
        );
        id
    }

    fn finish(&self, id: i64, status: &str, account: Option<i64>, error: Option<String>) {
        if let Some(entry) = self.lock().get_mut(&id) {
            entry.view.status = status.to_owned();
            entry.view.account_id = account;
            entry.view.error = error;
            entry.finished_at = Some(SystemTime::now());
        }
    }

    fn get(&self, id: i64) -> Option<(PoolId, DeviceLoginView)> {
        self.lock().get(&id).map(|e| (e.pool, e.view.clone()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Entry>> {
        self.logins
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A device-code login.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceLoginView {
    /// Poll `GET /device-logins/{id}`.
    pub id: i64,
    /// The pool the account joins.
    pub pool: String,
    /// The page the account's owner opens.
    pub verification_url: String,
    /// The one-time code they enter there (never share it).
    pub user_code: String,
    /// RFC 3339: when the code stops working.
    pub expires_at: String,
    /// `pending`, `completed` or `failed`.
    pub status: String,
    /// The account, once completed.
    pub account_id: Option<i64>,
    /// What went wrong, once failed.
    pub error: Option<String>,
}

/// Options of a new login.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartDeviceLogin {
    /// A label for a new account (default: its email or account id).
    #[serde(default)]
    pub label: Option<String>,
    /// The upstream origin for a new account (default: the gateway's).
    #[serde(default)]
    pub base_url: Option<String>,
}

/// The routes.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(start_login))
        .routes(routes!(get_login))
}

/// Starts a device-code login that adds a ChatGPT account to the pool (or gives an account
/// already stored new tokens).
#[utoipa::path(
    post, path = "/pools/{pool}/device-logins", tag = "accounts",
    params(("pool" = String, Path, description = "The pool's slug")),
    request_body = StartDeviceLogin,
    responses(
        (status = 202, description = "Accepted", body = DeviceLoginView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or outside the caller's scope", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn start_login(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(slug): PathParams<String>,
    Body(body): Body<StartDeviceLogin>,
) -> Result<(StatusCode, Json<DeviceLoginView>), ApiError> {
    let pool = scoped_pool(&state, &caller, &slug).await?;
    let event = NewAuditEvent::new(caller.actor(), "account.login", "pool", Some(slug.clone()))
        .in_pool(pool.id);
    if let Some(url) = body.base_url.as_deref() {
        validate_base_url(url)?;
    }
    let (device, code) = match start(&state.login_issuer).await {
        Ok(started) => started,
        Err(err) => {
            let err = ApiError::from(err);
            state.audit(event.failed(err.code())).await;
            return Err(err);
        }
    };
    let view = DeviceLoginView {
        id: 0,
        pool: slug,
        verification_url: code.verification_url.clone(),
        user_code: code.user_code.clone(),
        expires_at: rfc3339(SystemTime::now() + Duration::from_secs(15 * 60)),
        status: "pending".to_owned(),
        account_id: None,
        error: None,
    };
    let id = state.logins.insert(pool.id, view);
    state.audit(event.with_detail("started")).await;
    let task_state = state.clone();
    let actor = caller.actor();
    tokio::spawn(async move {
        let s = &task_state;
        let done = finish(
            &*s.store,
            &s.sealer,
            &pool,
            &device,
            &code,
            body.base_url.as_deref(),
            body.label.as_deref(),
        )
        .await;
        let event = NewAuditEvent::new(actor, "account.login", "pool", Some(pool.slug.clone()))
            .in_pool(pool.id);
        match done {
            Ok(done) => {
                let account = done.account().id;
                s.logins.finish(id, "completed", Some(account.0), None);
                let event = NewAuditEvent {
                    target_kind: "account".to_owned(),
                    target_id: Some(account.to_string()),
                    ..event
                };
                s.audit(event.with_detail("completed")).await;
            }
            Err(err) => {
                let message = err.to_string();
                s.logins.finish(id, "failed", None, Some(message.clone()));
                s.audit(event.failed(message)).await;
            }
        }
    });
    let (_, view) = state
        .logins
        .get(id)
        .ok_or_else(|| ApiError::NotFound(format!("device login {id}")))?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

/// How a device-code login this gateway started is going.
#[utoipa::path(
    get, path = "/device-logins/{login}", tag = "accounts",
    params(("login" = i64, Path, description = "The login's id")),
    responses(
        (status = 200, description = "Success", body = DeviceLoginView),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or outside the caller's scope", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn get_login(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
) -> Result<Json<DeviceLoginView>, ApiError> {
    state
        .logins
        .get(id)
        .filter(|(pool, _)| caller.scope().allows(*pool))
        .map(|(_, view)| Json(view))
        .ok_or_else(|| ApiError::NotFound(format!("device login {id}")))
}
