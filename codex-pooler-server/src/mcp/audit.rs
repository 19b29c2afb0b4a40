//! `list_audit_events` and `get_audit_event`: the REST API's audit views, scoped the same way.

use super::McpState;
use super::args::{AuditArg, ListAuditArgs};
use crate::admin::audit_events::{self, AuditEventView, AuditFilter, AuditPage};
use crate::admin::page::PageParams;
use crate::admin::{ApiError, Caller};

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
    let filter = AuditFilter {
        pool: args.pool,
        action: args.action,
        operator: args.operator,
        since: args.since,
        until: args.until,
    };
    audit_events::list(&state.admin, caller, filter, &page).await
}

/// One audit event in scope.
pub(crate) async fn get(
    state: &McpState,
    caller: &Caller,
    args: AuditArg,
) -> Result<AuditEventView, ApiError> {
    audit_events::one(&state.admin, caller, args.event).await
}
