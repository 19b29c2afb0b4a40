//! `upstreams remove`, `upstreams assign` and `upstreams unassign`: an account's pools, and its
//! removal.
//!
//! The `*_account` functions change the store and return the account as it is then, for the CLI
//! and for API handlers alike; the others print it. Running gateways stop routing to a removed
//! or unassigned account at their next configuration reload; requests it is serving finish.

use codex_pooler_core::model::{AccountId, Lifecycle};
use codex_pooler_core::store::{PoolStore, StoreState};
use serde::Serialize;

use super::{pool_named, print_json};
use crate::error::ServerError;

/// An upstream account as the account commands' `--json` print it (metadata only, never a
/// token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountView {
    /// Store id.
    pub id: i64,
    /// Operator label.
    pub label: String,
    /// ChatGPT plan, as sent.
    pub plan_type: Option<String>,
    /// Credential lifecycle (`removed` for a tombstone).
    pub lifecycle: Lifecycle,
    /// The slugs of the pools it serves, in pool id order.
    pub pools: Vec<String>,
}

impl AccountView {
    /// Account `id` in `state`, if there.
    pub fn of(state: &StoreState, id: AccountId) -> Option<Self> {
        let account = state.accounts.iter().find(|a| a.id == id)?;
        let mut pools: Vec<_> = state
            .pools
            .iter()
            .filter(|p| {
                state
                    .assignments
                    .iter()
                    .any(|x| x.account == id && x.pool == p.id)
            })
            .collect();
        pools.sort_by_key(|p| p.id);
        Some(Self {
            id: id.0,
            label: account.label.clone(),
            plan_type: account.plan_type.clone(),
            lifecycle: account.lifecycle,
            pools: pools.into_iter().map(|p| p.slug.clone()).collect(),
        })
    }
}

/// Removes account `id` (its tokens deleted, out of every pool, its row kept as `removed`) and
/// returns it.
pub async fn remove_account(store: &dyn PoolStore, id: i64) -> Result<AccountView, ServerError> {
    store.remove_account(AccountId(id)).await?;
    view(store, AccountId(id)).await
}

/// Adds account `id` to the pool named `pool` and returns it.
pub async fn assign_account(
    store: &dyn PoolStore,
    id: i64,
    pool: &str,
) -> Result<AccountView, ServerError> {
    let pool = pool_named(store, pool).await?;
    store.assign(pool.id, AccountId(id)).await?;
    view(store, AccountId(id)).await
}

/// Takes account `id` out of the pool named `pool` and returns it.
pub async fn unassign_account(
    store: &dyn PoolStore,
    id: i64,
    pool: &str,
) -> Result<AccountView, ServerError> {
    let found = pool_named(store, pool).await?;
    store
        .unassign(found.id, AccountId(id))
        .await
        .map_err(|err| match err {
            codex_pooler_core::store::StoreError::NotFound(what)
                if what.starts_with("assignment") =>
            {
                ServerError::Usage(format!("upstream {id} is not in pool {pool}"))
            }
            other => other.into(),
        })?;
    view(store, AccountId(id)).await
}

/// Removes account `id` and says so (with `json`, prints it).
pub async fn remove(store: &dyn PoolStore, id: i64, json: bool) -> Result<(), ServerError> {
    let account = remove_account(store, id).await?;
    if json {
        return print_json(&account);
    }
    println!(
        "removed upstream {id} ({}): its tokens are deleted and it serves no pool",
        account.label
    );
    Ok(())
}

/// Adds account `id` to pool `pool` and says so (with `json`, prints it).
pub async fn assign(
    store: &dyn PoolStore,
    id: i64,
    pool: &str,
    json: bool,
) -> Result<(), ServerError> {
    let account = assign_account(store, id, pool).await?;
    say(&account, json)
}

/// Takes account `id` out of pool `pool` and says so (with `json`, prints it).
pub async fn unassign(
    store: &dyn PoolStore,
    id: i64,
    pool: &str,
    json: bool,
) -> Result<(), ServerError> {
    let account = unassign_account(store, id, pool).await?;
    say(&account, json)
}

/// Prints which pools `account` serves now.
fn say(account: &AccountView, json: bool) -> Result<(), ServerError> {
    if json {
        return print_json(account);
    }
    let pools = if account.pools.is_empty() {
        "no pool".to_owned()
    } else {
        format!("pools {}", account.pools.join(", "))
    };
    println!(
        "upstream {} ({}) now serves {pools}",
        account.id, account.label
    );
    Ok(())
}

/// Account `id` as stored now.
async fn view(store: &dyn PoolStore, id: AccountId) -> Result<AccountView, ServerError> {
    let state = store.load_state().await?;
    AccountView::of(&state, id).ok_or_else(|| {
        codex_pooler_core::store::StoreError::NotFound(format!("account {id}")).into()
    })
}
