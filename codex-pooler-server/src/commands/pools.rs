//! `codex-pooler pools ...`.

use codex_pooler_core::model::Pool;
use codex_pooler_core::store::PoolStore;

use crate::error::ServerError;

/// Creates a pool and prints it.
pub async fn create(store: &dyn PoolStore, slug: &str) -> Result<Pool, ServerError> {
    Pool::validate_slug(slug).map_err(|e| ServerError::Usage(e.to_string()))?;
    let pool = store.create_pool(slug).await?;
    println!("created pool {} (id {})", pool.slug, pool.id);
    Ok(pool)
}

/// Prints every pool.
pub async fn list(store: &dyn PoolStore) -> Result<(), ServerError> {
    let state = store.load_state().await?;
    println!(
        "{:<6} {:<24} {:<10} {:>8} {:>5}",
        "ID", "SLUG", "STATUS", "ACCOUNTS", "KEYS"
    );
    for pool in &state.pools {
        let accounts = state
            .assignments
            .iter()
            .filter(|a| a.pool == pool.id)
            .count();
        let keys = state.keys.iter().filter(|k| k.pool == pool.id).count();
        println!(
            "{:<6} {:<24} {:<10} {:>8} {:>5}",
            pool.id,
            pool.slug,
            pool.status.as_str(),
            accounts,
            keys
        );
    }
    Ok(())
}
