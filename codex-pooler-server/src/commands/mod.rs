//! The operator commands. Each writes to the store; running servers pick the change up from the
//! store's configuration version within their reload interval.

pub mod audit;
pub mod keys;
pub mod login;
pub mod operators;
pub mod pools;
// Quota evidence.
pub mod quota;
pub mod secrets;
pub mod upstreams;

use codex_pooler_core::model::Pool;
use codex_pooler_core::store::PoolStore;

use crate::error::ServerError;

/// Finds a pool by slug or fails with a clear message.
pub(crate) async fn pool_named(store: &dyn PoolStore, slug: &str) -> Result<Pool, ServerError> {
    store.pool_by_slug(slug).await?.ok_or_else(|| {
        ServerError::Usage(format!(
            "no pool named {slug:?}; create it with `codex-pooler pools create {slug}`"
        ))
    })
}
