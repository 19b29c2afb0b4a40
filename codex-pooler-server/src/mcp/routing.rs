//! `explain_routing` (a dry run of the next request) and `get_quota_runway`, from the running
//! gateway's pooler.

use codex_pooler_core::plan::{DryRun, InspectError, RouteQuery};
use codex_pooler_core::quota::PoolRunway;
use codex_pooler_core::request::RouteClass;
use codex_pooler_core::store::PoolStore;

use super::McpState;
use super::args::{ExplainRoutingArgs, PoolFilter};
use crate::admin::pools::scoped_pool;
use crate::admin::{ApiError, Caller};

/// What the planner would do now for the next request to `args.pool`.
pub(crate) async fn explain(
    state: &McpState,
    caller: &Caller,
    args: ExplainRoutingArgs,
) -> Result<DryRun, ApiError> {
    let pool = scoped_pool(&state.admin, caller, &args.pool).await?;
    let route_class = match args.route_class.as_deref() {
        None => RouteClass::Responses,
        Some(name) => name
            .parse()
            .map_err(|_| ApiError::Invalid(format!("unknown route class {name:?}")))?,
    };
    let query = RouteQuery::new(pool.id, route_class, args.model.as_deref());
    state
        .admin
        .pooler
        .dry_run(&query, args.seed.unwrap_or(0))
        .map_err(|err| not_loaded(&err, &args.pool))
}

/// The quota runway of one pool in scope, or of every pool in scope.
pub(crate) async fn runway(
    state: &McpState,
    caller: &Caller,
    args: PoolFilter,
) -> Result<Vec<PoolRunway>, ApiError> {
    let pooler = &state.admin.pooler;
    if let Some(slug) = &args.pool {
        let pool = scoped_pool(&state.admin, caller, slug).await?;
        let runway = pooler
            .runway(pool.id)
            .map_err(|err| not_loaded(&err, slug))?;
        return Ok(vec![runway]);
    }
    let scope = caller.scope();
    // The store's pools, so a pool the gateway has not loaded yet is simply not listed.
    let config = state.admin.store.load_state().await?;
    let visible: Vec<_> = config
        .pools
        .iter()
        .filter(|p| scope.allows(p.id))
        .map(|p| p.id)
        .collect();
    Ok(pooler
        .runways()
        .into_iter()
        .filter(|r| visible.contains(&r.pool))
        .collect())
}

/// A pool the store has but the gateway's snapshot does not yet: not found, like the REST API.
fn not_loaded(err: &InspectError, slug: &str) -> ApiError {
    tracing::debug!(error = %err, "mcp: routing question on a pool not loaded yet");
    ApiError::NotFound(format!("pool {slug}"))
}
