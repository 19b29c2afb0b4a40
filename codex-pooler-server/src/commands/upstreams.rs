//! `codex-pooler upstreams ...`.

use std::io::Read;
use std::path::Path;
use std::time::SystemTime;

use codex_pooler_core::dispatch::AccountHandles;
use codex_pooler_core::model::{AccountId, Lifecycle, Pool, UpstreamAccount};
use codex_pooler_core::store::{PoolStore, StoreState};
use codex_pooler_tower::credentials::{
    AUTH_JSON_MAX_BYTES, ImportedAuth, SecretSealer, import_auth_json,
};

use serde::Serialize;

use super::upstream_changes::AccountView;
use super::{pool_named, print_json};
use crate::error::ServerError;

/// Options of `upstreams import`.
#[derive(Debug, Clone)]
pub struct ImportOptions<'a> {
    /// Pool slug.
    pub pool: &'a str,
    /// Path to `auth.json`.
    pub auth_json: &'a Path,
    /// Per-account upstream origin.
    pub base_url: Option<&'a str>,
    /// Operator label.
    pub label: Option<&'a str>,
}

/// Imports an `auth.json` as an upstream account of a pool. Nothing is written unless the whole
/// file is valid.
pub async fn import(
    store: &dyn PoolStore,
    sealer: &SecretSealer,
    options: ImportOptions<'_>,
) -> Result<UpstreamAccount, ServerError> {
    let pool = pool_named(store, options.pool).await?;
    let bytes = read_limited(options.auth_json)?;
    let account = import_bytes(
        store,
        sealer,
        &pool,
        &bytes,
        options.base_url,
        options.label,
    )
    .await?;
    say_imported(&account, &pool);
    Ok(account)
}

/// Imports the bytes of an `auth.json` as a new account of `pool`, printing nothing. Nothing
/// is written unless the whole file is valid and names an account not imported yet.
pub async fn import_bytes(
    store: &dyn PoolStore,
    sealer: &SecretSealer,
    pool: &Pool,
    bytes: &[u8],
    base_url: Option<&str>,
    label: Option<&str>,
) -> Result<UpstreamAccount, ServerError> {
    let auth = import_auth_json(bytes, SystemTime::now())?;
    if let Some(url) = base_url {
        validate_base_url(url)?;
    }
    if let Some(existing) = existing_account(store, &auth).await? {
        return Err(ServerError::Usage(format!(
            "this ChatGPT account is already imported as upstream {} ({})",
            existing.id, existing.label
        )));
    }
    create_assigned(store, sealer, pool, &auth, base_url, label).await
}

/// The stored account with the same ChatGPT account and user, if any (a removed account is a
/// tombstone: importing it again makes a new account).
pub(crate) async fn existing_account(
    store: &dyn PoolStore,
    auth: &ImportedAuth,
) -> Result<Option<UpstreamAccount>, ServerError> {
    let state = store.load_state().await?;
    Ok(state
        .accounts
        .into_iter()
        .filter(|a| a.lifecycle != Lifecycle::Removed)
        .find(|a| a.chatgpt_account_id == auth.chatgpt_account_id && a.user_id == auth.user_id))
}

/// Stores `auth` as a new account of `pool` (sealed, active, default models).
pub(crate) async fn create_assigned(
    store: &dyn PoolStore,
    sealer: &SecretSealer,
    pool: &Pool,
    auth: &ImportedAuth,
    base_url: Option<&str>,
    label: Option<&str>,
) -> Result<UpstreamAccount, ServerError> {
    let account = store
        .create_account(auth.new_account(sealer, label, base_url))
        .await?;
    store.assign(pool.id, account.id).await?;
    Ok(account)
}

pub(crate) fn say_imported(account: &UpstreamAccount, pool: &Pool) {
    println!(
        "imported upstream {} ({}, plan {}) into pool {}",
        account.id,
        account.label,
        account.plan_type.as_deref().unwrap_or("unknown"),
        pool.slug
    );
}

/// One account as `upstreams list --json` prints it: metadata and the handle the routing
/// receipt names it by, never a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedAccount {
    /// The account.
    #[serde(flatten)]
    pub account: AccountView,
    /// Its opaque handle.
    pub handle: String,
}

/// The accounts `upstreams list` shows: removed ones only with `all`.
pub fn listed_accounts(
    state: &StoreState,
    handles: &AccountHandles,
    all: bool,
) -> Vec<ListedAccount> {
    state
        .accounts
        .iter()
        .filter(|a| all || a.lifecycle != Lifecycle::Removed)
        .filter_map(|a| {
            Some(ListedAccount {
                account: AccountView::of(state, a.id)?,
                handle: handles.handle(a.id),
            })
        })
        .collect()
}

/// Prints the upstream accounts (removed ones only with `all`), with the handle the routing
/// receipt names each by: a table, or with `json` a JSON array.
pub async fn list(
    store: &dyn PoolStore,
    handles: &AccountHandles,
    all: bool,
    json: bool,
) -> Result<(), ServerError> {
    let state = store.load_state().await?;
    let accounts = listed_accounts(&state, handles, all);
    if json {
        return print_json(&accounts);
    }
    println!(
        "{:<6} {:<18} {:<28} {:<10} {:<16} {:<8}",
        "ID", "HANDLE", "LABEL", "PLAN", "LIFECYCLE", "POOLS"
    );
    for listed in &accounts {
        let a = &listed.account;
        let pools: Vec<String> = state
            .assignments
            .iter()
            .filter(|x| x.account.0 == a.id)
            .map(|x| x.pool.to_string())
            .collect();
        println!(
            "{:<6} {:<18} {:<28} {:<10} {:<16} {:<8}",
            a.id,
            listed.handle,
            a.label,
            a.plan_type.as_deref().unwrap_or("-"),
            a.lifecycle.as_str(),
            pools.join(",")
        );
    }
    Ok(())
}

/// Sets an account's lifecycle (pause / resume).
pub async fn set_lifecycle(
    store: &dyn PoolStore,
    id: i64,
    lifecycle: Lifecycle,
) -> Result<(), ServerError> {
    store
        .set_account_lifecycle(AccountId(id), lifecycle)
        .await?;
    println!("upstream {id} is now {}", lifecycle.as_str());
    Ok(())
}

fn read_limited(path: &Path) -> Result<Vec<u8>, ServerError> {
    let file = std::fs::File::open(path)
        .map_err(|e| ServerError::io(format!("opening {}", path.display()), e))?;
    let mut bytes = Vec::new();
    let limit = u64::try_from(AUTH_JSON_MAX_BYTES).unwrap_or(u64::MAX) + 1;
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| ServerError::io(format!("reading {}", path.display()), e))?;
    // An oversized file is left for import_auth_json to refuse with its own message.
    Ok(bytes)
}

pub(crate) fn validate_base_url(url: &str) -> Result<(), ServerError> {
    let parsed: http::Uri = url
        .parse()
        .map_err(|_| ServerError::Usage(format!("--base-url {url:?} is not a URL")))?;
    let scheme_ok = matches!(parsed.scheme_str(), Some("http" | "https"));
    let path_ok = parsed.path().is_empty() || parsed.path() == "/";
    if !scheme_ok || parsed.host().is_none() || !path_ok {
        return Err(ServerError::Usage(format!(
            "--base-url {url:?} must be an origin like https://chatgpt.com (no path)"
        )));
    }
    Ok(())
}
