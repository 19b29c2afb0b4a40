//! `list_pools` and `get_pool`: the REST API's pool views, scoped the same way.

use codex_pooler_core::store::PoolStore;

use super::McpState;
use crate::admin::pools::{PoolView, scoped_pool};
use crate::admin::{ApiError, Caller};

/// The pools the caller may see.
pub(crate) async fn list(state: &McpState, caller: &Caller) -> Result<Vec<PoolView>, ApiError> {
    let scope = caller.scope();
    let config = state.admin.store.load_state().await?;
    Ok(config
        .pools
        .iter()
        .filter(|p| scope.allows(p.id))
        .map(|p| PoolView::of(p, &config))
        .collect())
}

/// One pool in scope.
pub(crate) async fn get(
    state: &McpState,
    caller: &Caller,
    slug: &str,
) -> Result<PoolView, ApiError> {
    let pool = scoped_pool(&state.admin, caller, slug).await?;
    let config = state.admin.store.load_state().await?;
    config
        .pools
        .iter()
        .find(|p| p.id == pool.id)
        .map(|p| PoolView::of(p, &config))
        .ok_or_else(|| ApiError::NotFound(format!("pool {slug}")))
}
