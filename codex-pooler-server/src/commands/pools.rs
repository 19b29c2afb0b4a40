//! `codex-pooler pools ...`.

use codex_pooler_core::model::{Pool, PoolStatus};
use codex_pooler_core::store::{PoolStore, StoreState};
use codex_pooler_core::strategy::StrategyKind;
use serde::Serialize;

use super::pool_lifecycle::wait_text;
use super::print_json;
use crate::error::ServerError;

/// A pool as `pools list --json` and the pool commands' `--json` print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolView {
    /// Store id.
    pub id: i64,
    /// Slug.
    pub slug: String,
    /// `active`, `disabled` or `archived`.
    pub status: PoolStatus,
    /// Routing strategy; `None` for the gateway's default.
    pub strategy: Option<String>,
    /// Whether its keys may use `/v1`.
    pub v1_enabled: bool,
    /// Its own busy wait in seconds; `None` for the gateway's.
    pub busy_wait_secs: Option<u64>,
    /// Its own pin wait in seconds; `None` for the gateway's.
    pub pin_wait_secs: Option<u64>,
    /// Accounts assigned to it.
    pub accounts: usize,
    /// Its keys.
    pub keys: usize,
}

impl PoolView {
    /// `pool` with its counts in `state`.
    pub fn of(pool: &Pool, state: &StoreState) -> Self {
        Self {
            id: pool.id.0,
            slug: pool.slug.clone(),
            status: pool.status,
            strategy: pool.strategy.clone(),
            v1_enabled: pool.v1_enabled,
            busy_wait_secs: pool.waits.busy_wait_secs,
            pin_wait_secs: pool.waits.pin_wait_secs,
            accounts: state
                .assignments
                .iter()
                .filter(|a| a.pool == pool.id)
                .count(),
            keys: state.keys.iter().filter(|k| k.pool == pool.id).count(),
        }
    }
}

/// The pools `pools list` shows: archived ones only with `all`.
pub fn listed_pools(state: &StoreState, all: bool) -> Vec<PoolView> {
    state
        .pools
        .iter()
        .filter(|p| all || p.status != PoolStatus::Archived)
        .map(|p| PoolView::of(p, state))
        .collect()
}

/// Creates a pool (with a routing strategy and `/v1` switch, if given) and prints it.
pub async fn create(
    store: &dyn PoolStore,
    slug: &str,
    strategy: Option<&str>,
    v1: Option<bool>,
) -> Result<Pool, ServerError> {
    Pool::validate_slug(slug).map_err(|e| ServerError::Usage(e.to_string()))?;
    let strategy = strategy.map(strategy_name).transpose()?.flatten();
    let mut pool = store.create_pool(slug).await?;
    if let Some(name) = strategy {
        store.set_pool_strategy(pool.id, Some(name)).await?;
        pool.strategy = Some(name.to_owned());
    }
    if let Some(enabled) = v1.filter(|on| *on != pool.v1_enabled) {
        store.set_pool_v1_enabled(pool.id, enabled).await?;
        pool.v1_enabled = enabled;
    }
    println!(
        "created pool {} (id {}, strategy {}, /v1 {})",
        pool.slug,
        pool.id,
        pool.strategy.as_deref().unwrap_or("default"),
        on_off(pool.v1_enabled)
    );
    Ok(pool)
}

/// Sets a pool's routing strategy (`default` clears it).
pub async fn set_strategy(
    store: &dyn PoolStore,
    slug: &str,
    strategy: &str,
) -> Result<(), ServerError> {
    let pool = super::pool_named(store, slug).await?;
    let name = strategy_name(strategy)?;
    store.set_pool_strategy(pool.id, name).await?;
    println!(
        "pool {slug} now routes with {}",
        name.unwrap_or("the default strategy")
    );
    Ok(())
}

/// Turns a pool's `/v1` surface on or off.
pub async fn set_v1(store: &dyn PoolStore, slug: &str, enabled: bool) -> Result<(), ServerError> {
    let pool = super::pool_named(store, slug).await?;
    store.set_pool_v1_enabled(pool.id, enabled).await?;
    println!("pool {slug} now has /v1 {}", on_off(enabled));
    Ok(())
}

/// The CLI spelling of a switch.
const fn on_off(enabled: bool) -> &'static str {
    if enabled { "on" } else { "off" }
}

/// Checks a strategy name; `default` means none.
pub(crate) fn strategy_name(name: &str) -> Result<Option<&'static str>, ServerError> {
    if name == "default" {
        return Ok(None);
    }
    name.parse::<StrategyKind>()
        .map(|kind| Some(kind.as_str()))
        .map_err(|_| {
            let known: Vec<&str> = StrategyKind::ALL.iter().map(|k| k.as_str()).collect();
            ServerError::Usage(format!(
                "unknown strategy {name:?}; choose one of {} or default",
                known.join(", ")
            ))
        })
}

/// Prints the pools (archived ones only with `all`): a table, or with `json` a JSON array.
pub async fn list(store: &dyn PoolStore, all: bool, json: bool) -> Result<(), ServerError> {
    let state = store.load_state().await?;
    let pools = listed_pools(&state, all);
    if json {
        return print_json(&pools);
    }
    println!(
        "{:<6} {:<24} {:<10} {:<22} {:<4} {:>8} {:>5} {:<9} {:<9}",
        "ID", "SLUG", "STATUS", "STRATEGY", "V1", "ACCOUNTS", "KEYS", "BUSY", "PIN"
    );
    for pool in &pools {
        println!(
            "{:<6} {:<24} {:<10} {:<22} {:<4} {:>8} {:>5} {:<9} {:<9}",
            pool.id,
            pool.slug,
            pool.status.as_str(),
            pool.strategy.as_deref().unwrap_or("default"),
            on_off(pool.v1_enabled),
            pool.accounts,
            pool.keys,
            wait_text(pool.busy_wait_secs),
            wait_text(pool.pin_wait_secs)
        );
    }
    Ok(())
}
