//! `list_audit_events` and `get_audit_event`: the REST API's audit views, scoped the same way.

use codex_pooler_core::model::PoolId;

use super::McpState;
use super::args::{AuditArg, ListAuditArgs};
use crate::admin::audit_events::{AuditEventView, AuditPage, time_param};
use crate::admin::page::{PageParams, next_cursor};
use crate::admin::pools::scoped_pool;
use crate::admin::{ApiError, Caller};
use crate::audit::AuditQuery;
use crate::operators::OperatorId;

/// A page of audit events in scope, newest first.
pub(crate) async fn list(
    state: &McpState,
    caller: &Caller,
    args: ListAuditArgs,
) -> Result<AuditPage, ApiError> {
    let page = PageParams {
        limit: args.limit,
        cursor: args.cursor,
    };
    let limit = page.limit()?;
    let mut pools = caller.scope().pool_filter();
    if let Some(slug) = &args.pool {
        pools = Some(vec![scoped_pool(&state.admin, caller, slug).await?.id]);
    }
    let query = AuditQuery {
        pools,
        action: args.action,
        operator: args.operator.map(OperatorId),
        since: time_param("since", args.since.as_deref())?,
        until: time_param("until", args.until.as_deref())?,
        before_id: page.before_id()?,
        limit,
    };
    let events = state.admin.store.audit_events(&query).await?;
    let next = next_cursor(events.len(), limit, events.last().map(|e| e.id));
    Ok(AuditPage {
        data: events.iter().map(AuditEventView::of).collect(),
        next_cursor: next,
    })
}

/// One audit event in scope.
pub(crate) async fn get(
    state: &McpState,
    caller: &Caller,
    args: AuditArg,
) -> Result<AuditEventView, ApiError> {
    let pools: Option<Vec<PoolId>> = caller.scope().pool_filter();
    state
        .admin
        .store
        .audit_event(args.event, pools.as_deref())
        .await?
        .map(|e| AuditEventView::of(&e))
        .ok_or_else(|| ApiError::NotFound(format!("audit event {}", args.event)))
}
