//! `/audit-events`: who changed what, newest first.

use axum::Json;
use axum::extract::State;
use codex_pooler_core::model::PoolId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{PathParams, QueryParams};
use super::page::{PageParams, next_cursor};
use super::state::AdminState;
use crate::audit::{AuditEvent, AuditQuery};
use crate::operators::OperatorId;
use crate::store::{parse_rfc3339, rfc3339};

/// An audit event as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    /// Store identifier.
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    /// `operator`, `cli` or `system`.
    pub actor_kind: String,
    /// The acting operator's id.
    pub actor_operator_id: Option<i64>,
    /// The acting operator's name, or the host user for the CLI.
    pub actor_name: Option<String>,
    /// What was done (`pool.create`, `key.rotate`, ...).
    pub action: String,
    /// What kind of thing it was done to.
    pub target_kind: String,
    /// Which one.
    pub target_id: Option<String>,
    /// The pool it concerns.
    pub pool_id: Option<i64>,
    /// `success` or `failure`.
    pub outcome: String,
    /// Metadata-only detail.
    pub detail: Option<String>,
}

impl AuditEventView {
    pub(crate) fn of(e: &AuditEvent) -> Self {
        Self {
            id: e.id,
            at: rfc3339(e.at),
            actor_kind: e.event.actor.kind.as_str().to_owned(),
            actor_operator_id: e.event.actor.operator.map(|o| o.0),
            actor_name: e.event.actor.name.clone(),
            action: e.event.action.clone(),
            target_kind: e.event.target_kind.clone(),
            target_id: e.event.target_id.clone(),
            pool_id: e.event.pool.map(|p| p.0),
            outcome: e.event.outcome.as_str().to_owned(),
            detail: e.event.detail.clone(),
        }
    }
}

/// A page of audit events.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub data: Vec<AuditEventView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Filters of `GET /audit-events`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Only this pool's events (slug).
    pub pool: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this operator's actions.
    pub operator: Option<i64>,
    /// RFC 3339: only events at or after.
    pub since: Option<String>,
    /// RFC 3339: only events before.
    pub until: Option<String>,
}

/// The routes.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit_events))
        .routes(routes!(get_audit_event))
}

/// Audit events, newest first. An admin sees only events of their pools.
#[utoipa::path(
    get, path = "/audit-events", tag = "audit",
    params(AuditFilter, PageParams),
    responses(
        (status = 200, description = "Success", body = AuditPage),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn list_audit_events(
    State(state): State<AdminState>,
    caller: Caller,
    QueryParams(filter): QueryParams<AuditFilter>,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<Json<AuditPage>, ApiError> {
    list(&state, &caller, filter, &page).await.map(Json)
}

/// Audit events matching `filter`, newest first, in the caller's scope (the REST route and the
/// MCP tool share it).
pub(crate) async fn list(
    state: &AdminState,
    caller: &Caller,
    filter: AuditFilter,
    page: &PageParams,
) -> Result<AuditPage, ApiError> {
    let limit = page.limit()?;
    let mut pools = caller.scope().pool_filter();
    if let Some(slug) = &filter.pool {
        let pool = super::pools::scoped_pool(state, caller, slug).await?;
        pools = Some(vec![pool.id]);
    }
    let query = AuditQuery {
        pools,
        action: filter.action,
        operator: filter.operator.map(OperatorId),
        since: time_param("since", filter.since.as_deref())?,
        until: time_param("until", filter.until.as_deref())?,
        before_id: page.before_id()?,
        limit,
    };
    let events = state.store.audit_events(&query).await?;
    let next = next_cursor(events.len(), limit, events.last().map(|e| e.id));
    Ok(AuditPage {
        data: events.iter().map(AuditEventView::of).collect(),
        next_cursor: next,
    })
}

/// One audit event.
#[utoipa::path(
    get, path = "/audit-events/{event}", tag = "audit",
    params(("event" = i64, Path, description = "The event's id")),
    responses(
        (status = 200, description = "Success", body = AuditEventView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn get_audit_event(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
) -> Result<Json<AuditEventView>, ApiError> {
    one(&state, &caller, id).await.map(Json)
}

/// One audit event in the caller's scope (the REST route and the MCP tool share it).
pub(crate) async fn one(
    state: &AdminState,
    caller: &Caller,
    id: i64,
) -> Result<AuditEventView, ApiError> {
    let pools: Option<Vec<PoolId>> = caller.scope().pool_filter();
    state
        .store
        .audit_event(id, pools.as_deref())
        .await?
        .map(|e| AuditEventView::of(&e))
        .ok_or_else(|| ApiError::NotFound(format!("audit event {id}")))
}

/// An optional RFC 3339 query parameter.
pub(crate) fn time_param(
    name: &str,
    value: Option<&str>,
) -> Result<Option<std::time::SystemTime>, ApiError> {
    value
        .map(|v| {
            parse_rfc3339(v)
                .ok_or_else(|| ApiError::Invalid(format!("{name} is not an RFC 3339 time")))
        })
        .transpose()
}
