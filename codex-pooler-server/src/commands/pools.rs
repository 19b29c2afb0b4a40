//! `codex-pooler pools ...`.

use codex_pooler_core::model::Pool;
use codex_pooler_core::store::PoolStore;
use codex_pooler_core::strategy::StrategyKind;

use crate::error::ServerError;

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

/// Prints every pool.
pub async fn list(store: &dyn PoolStore) -> Result<(), ServerError> {
    let state = store.load_state().await?;
    println!(
        "{:<6} {:<24} {:<10} {:<22} {:<4} {:>8} {:>5}",
        "ID", "SLUG", "STATUS", "STRATEGY", "V1", "ACCOUNTS", "KEYS"
    );
    for pool in &state.pools {
        let accounts = state
            .assignments
            .iter()
            .filter(|a| a.pool == pool.id)
            .count();
        let keys = state.keys.iter().filter(|k| k.pool == pool.id).count();
        println!(
            "{:<6} {:<24} {:<10} {:<22} {:<4} {:>8} {:>5}",
            pool.id,
            pool.slug,
            pool.status.as_str(),
            pool.strategy.as_deref().unwrap_or("default"),
            on_off(pool.v1_enabled),
            accounts,
            keys
        );
    }
    Ok(())
}
