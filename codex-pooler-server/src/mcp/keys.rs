//! `list_pool_api_keys` and `get_pool_api_key`: prefix, name, status and policy; never a hash.

use std::collections::BTreeMap;

use codex_pooler_core::model::{KeyId, KeyPolicy, PoolApiKey, PoolId};
use codex_pooler_core::store::PoolStore;
use serde::Serialize;

use super::McpState;
use super::args::{KeyArg, PoolFilter};
use crate::admin::pools::scoped_pool;
use crate::admin::{ApiError, Caller};
use crate::store::rfc3339;

/// A Pool API key, as metadata.
#[derive(Debug, Serialize)]
pub(crate) struct KeyView {
    /// Store id.
    id: i64,
    /// Its pool's slug.
    pool: String,
    /// Its name.
    name: String,
    /// The public prefix, to recognise it.
    prefix: String,
    /// `active`, `revoked`, ...
    status: &'static str,
    /// RFC 3339, or `null` for no expiry.
    expires_at: Option<String>,
    /// The rules its requests follow.
    policy: KeyPolicy,
}

impl KeyView {
    fn of(key: &PoolApiKey, slugs: &BTreeMap<PoolId, String>) -> Self {
        Self {
            id: key.id.0,
            pool: slugs.get(&key.pool).cloned().unwrap_or_default(),
            name: key.name.clone(),
            prefix: key.prefix.clone(),
            status: key.status.as_str(),
            expires_at: key.expires_at.map(rfc3339),
            policy: key.policy.clone(),
        }
    }
}

/// The keys in scope, of one pool when `args.pool` names one.
pub(crate) async fn list(
    state: &McpState,
    caller: &Caller,
    args: PoolFilter,
) -> Result<Vec<KeyView>, ApiError> {
    let only = match &args.pool {
        Some(slug) => Some(scoped_pool(&state.admin, caller, slug).await?.id),
        None => None,
    };
    let scope = caller.scope();
    let config = state.admin.store.load_state().await?;
    let slugs = config
        .pools
        .iter()
        .map(|p| (p.id, p.slug.clone()))
        .collect();
    Ok(config
        .keys
        .iter()
        .filter(|k| scope.allows(k.pool) && only.is_none_or(|p| p == k.pool))
        .map(|k| KeyView::of(k, &slugs))
        .collect())
}

/// One key in scope.
pub(crate) async fn get(
    state: &McpState,
    caller: &Caller,
    args: KeyArg,
) -> Result<KeyView, ApiError> {
    let scope = caller.scope();
    let config = state.admin.store.load_state().await?;
    let slugs = config
        .pools
        .iter()
        .map(|p| (p.id, p.slug.clone()))
        .collect();
    config
        .keys
        .iter()
        .find(|k| k.id == KeyId(args.key) && scope.allows(k.pool))
        .map(|k| KeyView::of(k, &slugs))
        .ok_or_else(|| ApiError::NotFound(format!("pool api key {}", args.key)))
}
