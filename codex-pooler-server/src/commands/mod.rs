//! The operator commands. Each writes to the store; running servers pick the change up from the
//! store's configuration version within their reload interval.

pub mod audit;
pub mod keys;
pub mod login;
pub mod operators;
pub mod pool_lifecycle;
pub mod pools;
pub mod secrets;
pub mod upstream_changes;
pub mod upstreams;

use codex_pooler_core::model::Pool;
use codex_pooler_core::store::PoolStore;
use serde::Serialize;

use crate::error::ServerError;

/// Prints `value` as one line of JSON (a command's `--json` output).
pub(crate) fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), ServerError> {
    let out = serde_json::to_string(value)
        .map_err(|e| ServerError::Usage(format!("cannot encode the output: {e}")))?;
    println!("{out}");
    Ok(())
}

/// Finds a pool by slug or fails with a clear message.
pub(crate) async fn pool_named(store: &dyn PoolStore, slug: &str) -> Result<Pool, ServerError> {
    store.pool_by_slug(slug).await?.ok_or_else(|| {
        ServerError::Usage(format!(
            "no pool named {slug:?}; create it with `codex-pooler pools create {slug}`"
        ))
    })
}
