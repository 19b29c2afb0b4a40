//! `list_request_records` and `get_request_record`: request records in scope, from the store's
//! record query (the same one `GET /admin/api/v1/records` uses).

use std::collections::BTreeMap;

use codex_pooler_core::model::PoolId;
use codex_pooler_core::store::PoolStore;
use serde::Serialize;

use super::McpState;
use super::args::{ListRecordsArgs, RecordArg};
use crate::admin::pools::scoped_pool;
use crate::admin::{ApiError, Caller};
use crate::store::{PageRequest, PoolScope, RecordFilter, RecordRow};

/// A request record, as metadata (never a body, prompt, header value, key or token).
#[derive(Debug, Serialize)]
pub(crate) struct RecordView {
    /// The handle `get_request_record` takes (the record's id).
    handle: String,
    /// The pool's slug.
    pool: String,
    /// The record.
    #[serde(flatten)]
    row: RecordRow,
}

/// Records in scope, newest first.
pub(crate) async fn list(
    state: &McpState,
    caller: &Caller,
    args: ListRecordsArgs,
) -> Result<Vec<RecordView>, ApiError> {
    let pool = match &args.pool {
        Some(slug) => Some(scoped_pool(&state.admin, caller, slug).await?.id),
        None => None,
    };
    let filter = RecordFilter {
        scope: PoolScope::from(&caller.scope()),
        pool,
        ..RecordFilter::default()
    };
    let page = PageRequest {
        limit: args.limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        cursor: None,
    };
    let found = state.admin.store.records(&filter, &page).await?;
    let slugs = slugs(state).await?;
    Ok(found
        .records
        .into_iter()
        .map(|row| view(row, &slugs))
        .collect())
}

/// One record in scope, by handle.
pub(crate) async fn get(
    state: &McpState,
    caller: &Caller,
    args: RecordArg,
) -> Result<RecordView, ApiError> {
    let not_found = || ApiError::NotFound(format!("request record {}", args.record));
    let id: i64 = args.record.parse().map_err(|_| not_found())?;
    let row = state
        .admin
        .store
        .record(id, &PoolScope::from(&caller.scope()))
        .await?
        .ok_or_else(not_found)?;
    Ok(view(row, &slugs(state).await?))
}

fn view(row: RecordRow, slugs: &BTreeMap<PoolId, String>) -> RecordView {
    RecordView {
        handle: row.id.to_string(),
        pool: slugs.get(&row.pool_id).cloned().unwrap_or_default(),
        row,
    }
}

async fn slugs(state: &McpState) -> Result<BTreeMap<PoolId, String>, ApiError> {
    Ok(state
        .admin
        .store
        .load_state()
        .await?
        .pools
        .into_iter()
        .map(|p| (p.id, p.slug))
        .collect())
}
