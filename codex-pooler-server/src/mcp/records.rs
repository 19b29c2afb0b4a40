//! `list_request_records` and `get_request_record`: recent request records in scope.
//!
//! The store offers only its newest records today ([`PoolStore::recent_records`]), without
//! ids, so [`scoped_records`] reads a window of them and a record's handle is
//! `<received_at ms>-<key id>-<n>`, `n` counting records of that key and millisecond from the
//! oldest. When the store gains a record query API, only [`scoped_records`] and the handle
//! change.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use codex_pooler_core::model::PoolId;
use codex_pooler_core::record::{RequestRecord, TokenUsage};
use codex_pooler_core::store::PoolStore;
use serde::Serialize;

use super::McpState;
use super::args::{ListRecordsArgs, RecordArg};
use crate::admin::pools::scoped_pool;
use crate::admin::{ApiError, Caller};
use crate::operators::Scope;
use crate::store::rfc3339;

/// How many of the newest records the tools look through.
const WINDOW: usize = 2_000;
/// The default page.
const DEFAULT_LIMIT: u64 = 50;
/// The largest page.
const MAX_LIMIT: u64 = 500;

/// A request record, as metadata (never a body, prompt, header value, key or token).
#[derive(Debug, Serialize)]
pub(crate) struct RecordView {
    /// The handle `get_request_record` takes.
    handle: String,
    /// RFC 3339.
    received_at: String,
    /// The pool's slug.
    pool: String,
    /// The Pool API key's id.
    key_id: i64,
    /// The account that served it, if any.
    account_id: Option<i64>,
    /// The route class.
    route: String,
    /// The requested model.
    model: Option<String>,
    /// Whether the client streamed.
    stream: bool,
    /// HTTP status sent to the client.
    status: u16,
    /// Upstream attempts.
    attempts: u32,
    /// Arrival to end of body, in milliseconds.
    latency_ms: u64,
    /// Token counts, when upstream reported them.
    usage: Option<TokenUsage>,
    /// The pooler's error code, when it produced the error.
    error_code: Option<String>,
    /// Excluded accounts with reason codes.
    exclusions: Option<String>,
    /// `/v1` parameters dropped, by name.
    dropped_parameters: Option<String>,
    /// How the response ended.
    end: String,
}

/// Recent records in scope, newest first.
pub(crate) async fn list(
    state: &McpState,
    caller: &Caller,
    args: ListRecordsArgs,
) -> Result<Vec<RecordView>, ApiError> {
    let limit = match args.limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::Invalid(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
    };
    let only = match &args.pool {
        Some(slug) => Some(scoped_pool(&state.admin, caller, slug).await?.id),
        None => None,
    };
    let mut views = scoped_records(state, &caller.scope()).await?;
    views.retain(|(pool, _)| only.is_none_or(|p| p == *pool));
    Ok(views
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|(_, v)| v)
        .collect())
}

/// One recent record in scope, by handle.
pub(crate) async fn get(
    state: &McpState,
    caller: &Caller,
    args: RecordArg,
) -> Result<RecordView, ApiError> {
    scoped_records(state, &caller.scope())
        .await?
        .into_iter()
        .map(|(_, v)| v)
        .find(|v| v.handle == args.record)
        .ok_or_else(|| ApiError::NotFound(format!("request record {}", args.record)))
}

/// The newest records the caller may see, newest first, with their pools.
async fn scoped_records(
    state: &McpState,
    scope: &Scope,
) -> Result<Vec<(PoolId, RecordView)>, ApiError> {
    let store = &state.admin.store;
    let records = store.recent_records(WINDOW).await?;
    let slugs: BTreeMap<PoolId, String> = store
        .load_state()
        .await?
        .pools
        .into_iter()
        .map(|p| (p.id, p.slug))
        .collect();
    // Handles count from the oldest, so new records never change an old one's.
    let mut seen: BTreeMap<(i64, i64), u32> = BTreeMap::new();
    let mut views: Vec<_> = records
        .iter()
        .rev()
        .map(|r| {
            let ms = unix_millis(r.received_at);
            let n = seen.entry((ms, r.key.0)).or_default();
            let handle = format!("{ms}-{}-{n}", r.key.0);
            *n += 1;
            (r.pool, view(r, handle, &slugs))
        })
        .filter(|(pool, _)| scope.allows(*pool))
        .collect();
    views.reverse();
    Ok(views)
}

fn view(r: &RequestRecord, handle: String, slugs: &BTreeMap<PoolId, String>) -> RecordView {
    RecordView {
        handle,
        received_at: rfc3339(r.received_at),
        pool: slugs.get(&r.pool).cloned().unwrap_or_default(),
        key_id: r.key.0,
        account_id: r.account.map(|a| a.0),
        route: r.route.as_str().to_owned(),
        model: r.model.clone(),
        stream: r.stream,
        status: r.status,
        attempts: r.attempts,
        latency_ms: r.latency_ms,
        usage: r.usage,
        error_code: r.error_code.map(|c| c.as_str().to_owned()),
        exclusions: r.exclusions.clone(),
        dropped_parameters: r.dropped_parameters.clone(),
        end: r.end.as_str().to_owned(),
    }
}

fn unix_millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
