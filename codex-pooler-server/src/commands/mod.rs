//! The operator commands. Each writes to the store; running servers pick the change up from the
//! store's configuration version within their reload interval.

pub mod audit;
pub mod keys;
pub mod login;
pub mod operators;
pub mod pool_lifecycle;
pub mod pools;
pub mod quota;
pub mod records;
pub mod secrets;
pub mod upstream_changes;
pub mod upstreams;
pub mod usage;

use codex_pooler_core::model::{Pool, PoolApiKey};
use codex_pooler_core::store::{PoolStore, StoreState};
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

/// The pool named `slug` in `state`, or the same message as [`pool_named`].
pub(crate) fn pool_in<'a>(state: &'a StoreState, slug: &str) -> Result<&'a Pool, ServerError> {
    state.pools.iter().find(|p| p.slug == slug).ok_or_else(|| {
        ServerError::Usage(format!(
            "no pool named {slug:?}; create it with `codex-pooler pools create {slug}`"
        ))
    })
}

/// The key with prefix or id `key` in `state`.
pub(crate) fn key_in<'a>(state: &'a StoreState, key: &str) -> Result<&'a PoolApiKey, ServerError> {
    state
        .keys
        .iter()
        .find(|k| k.prefix == key || k.id.0.to_string() == key)
        .ok_or_else(|| ServerError::Usage(format!("no key with prefix or id {key:?}")))
}
