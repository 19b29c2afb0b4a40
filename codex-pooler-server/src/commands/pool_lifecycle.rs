//! `pools disable`, `pools enable`, `pools archive` and `pools set-waits`: a pool's status and
//! its own waits for busy accounts.
//!
//! The `*_pool` functions change the store and return the pool as stored, for the CLI and for
//! API handlers alike; the others print it.

use codex_pooler_core::model::{Pool, PoolStatus, PoolWaits};
use codex_pooler_core::store::PoolStore;

use super::pools::PoolView;
use super::{pool_named, print_json};
use crate::cli::WaitSetting;
use crate::error::ServerError;

/// Sets the status of the pool named `slug` and returns it. An archived pool keeps its status:
/// the error says it cannot be enabled (or disabled) again.
pub async fn set_pool_status(
    store: &dyn PoolStore,
    slug: &str,
    status: PoolStatus,
) -> Result<Pool, ServerError> {
    let mut pool = pool_named(store, slug).await?;
    if pool.status == PoolStatus::Archived && status != PoolStatus::Archived {
        let action = match status {
            PoolStatus::Active => "enabled",
            _ => "disabled",
        };
        return Err(ServerError::Usage(format!(
            "pool {slug} is archived for good and cannot be {action} again; create a new pool"
        )));
    }
    store.set_pool_status(pool.id, status).await?;
    pool.status = status;
    Ok(pool)
}

/// Sets the status of the pool named `slug` and says so (with `json`, prints the pool).
pub async fn set_status(
    store: &dyn PoolStore,
    slug: &str,
    status: PoolStatus,
    json: bool,
) -> Result<(), ServerError> {
    let pool = set_pool_status(store, slug, status).await?;
    if json {
        return print_pool(store, &pool).await;
    }
    let effect = match status {
        PoolStatus::Active => "its keys are served again",
        PoolStatus::Disabled => "its keys get pool_disabled until it is enabled",
        PoolStatus::Archived => "it serves nothing and is never enabled again",
    };
    println!("pool {slug} is now {}: {effect}", status.as_str());
    Ok(())
}

/// Sets the waits of the pool named `slug` that are given (`None` keeps one as it is) and
/// returns the pool.
pub async fn set_pool_waits(
    store: &dyn PoolStore,
    slug: &str,
    busy_wait: Option<WaitSetting>,
    pin_wait: Option<WaitSetting>,
) -> Result<Pool, ServerError> {
    if busy_wait.is_none() && pin_wait.is_none() {
        return Err(ServerError::Usage(
            "give --busy-wait-secs or --pin-wait-secs (a number of seconds or default)".to_owned(),
        ));
    }
    let mut pool = pool_named(store, slug).await?;
    let apply = |setting: Option<WaitSetting>, current: Option<u64>| match setting {
        None => current,
        Some(WaitSetting::Default) => None,
        Some(WaitSetting::Secs(secs)) => Some(secs),
    };
    let waits = PoolWaits {
        busy_wait_secs: apply(busy_wait, pool.waits.busy_wait_secs),
        pin_wait_secs: apply(pin_wait, pool.waits.pin_wait_secs),
    };
    store.set_pool_waits(pool.id, waits).await?;
    pool.waits = waits;
    Ok(pool)
}

/// Sets the waits of the pool named `slug` and says so (with `json`, prints the pool).
pub async fn set_waits(
    store: &dyn PoolStore,
    slug: &str,
    busy_wait: Option<WaitSetting>,
    pin_wait: Option<WaitSetting>,
    json: bool,
) -> Result<(), ServerError> {
    let pool = set_pool_waits(store, slug, busy_wait, pin_wait).await?;
    if json {
        return print_pool(store, &pool).await;
    }
    println!(
        "pool {slug} now waits busy {} and pin {}",
        wait_text(pool.waits.busy_wait_secs),
        wait_text(pool.waits.pin_wait_secs)
    );
    Ok(())
}

/// A wait as listings show it: `default` or seconds.
pub(crate) fn wait_text(secs: Option<u64>) -> String {
    secs.map_or_else(|| "default".to_owned(), |s| format!("{s}s"))
}

/// Prints `pool` as JSON, with its account and key counts.
async fn print_pool(store: &dyn PoolStore, pool: &Pool) -> Result<(), ServerError> {
    let state = store.load_state().await?;
    print_json(&PoolView::of(pool, &state))
}
