//! `codex-pooler operators ...`: operators and their tokens, from the host.

use std::time::SystemTime;

use codex_pooler_core::model::PoolId;
use codex_pooler_core::store::PoolStore;
use codex_pooler_tower::keys::KeyHasher;
use serde_json::json;

use super::pool_named;
use crate::error::ServerError;
use crate::operators::{
    NewOperator, Operator, OperatorStatus, OperatorToken, Role, TokenKind, issue_token,
    validate_label, validate_name,
};
use crate::store::SqlStore;

/// The longest token lifetime, in days.
const MAX_TOKEN_DAYS: u64 = 3650;

/// Creates an operator with an API token and prints the token as the last line of stdout.
pub async fn create(
    store: &SqlStore,
    hasher: &KeyHasher,
    name: &str,
    role: Role,
    pools: &[String],
    token_expires_in_days: Option<u64>,
) -> Result<(), ServerError> {
    validate_name(name).map_err(|e| ServerError::Usage(e.to_string()))?;
    check_days(token_expires_in_days)?;
    let pools = pool_ids(store, pools).await?;
    let operator = store
        .create_operator(NewOperator {
            name: name.to_owned(),
            role,
            pools,
        })
        .await?;
    let issued = issue_token(
        store,
        hasher,
        operator.id,
        TokenKind::Api,
        "created with the operator",
        token_expires_in_days,
    )
    .await?;
    println!(
        "created {} {} (id {}) with API token {}; the token is shown only once:",
        role.as_str(),
        operator.name,
        operator.id,
        issued.token.prefix
    );
    println!("{}", issued.plaintext.expose());
    Ok(())
}

/// Prints every operator.
pub async fn list(store: &SqlStore, json: bool) -> Result<(), ServerError> {
    let operators = store.operators().await?;
    let slugs = store.load_state().await?.pools;
    let slug = |id: &PoolId| {
        slugs
            .iter()
            .find(|p| p.id == *id)
            .map_or_else(|| id.to_string(), |p| p.slug.clone())
    };
    if json {
        let rows: Vec<_> = operators
            .iter()
            .map(|o| {
                json!({
                    "id": o.id.0,
                    "name": o.name,
                    "role": o.role.as_str(),
                    "status": o.status.as_str(),
                    "pools": o.pools.iter().map(slug).collect::<Vec<_>>(),
                    "has_password": o.has_password,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    println!(
        "{:<6} {:<24} {:<6} {:<9} POOLS",
        "ID", "NAME", "ROLE", "STATUS"
    );
    for o in &operators {
        let pools = match o.role {
            Role::Owner => "(all)".to_owned(),
            Role::Admin => o.pools.iter().map(slug).collect::<Vec<_>>().join(","),
        };
        println!(
            "{:<6} {:<24} {:<6} {:<9} {pools}",
            o.id,
            o.name,
            o.role.as_str(),
            o.status.as_str()
        );
    }
    Ok(())
}

/// Replaces an admin's pools.
pub async fn set_pools(store: &SqlStore, name: &str, pools: &[String]) -> Result<(), ServerError> {
    let operator = named(store, name).await?;
    if operator.role == Role::Owner {
        return Err(ServerError::Usage(format!(
            "{name} is an owner and sees every pool; pools are for admins"
        )));
    }
    let ids = pool_ids(store, pools).await?;
    store.set_operator_pools(operator.id, &ids).await?;
    println!("{name} now sees {}", pools.join(", "));
    Ok(())
}

/// Enables or disables an operator.
pub async fn set_status(
    store: &SqlStore,
    name: &str,
    status: OperatorStatus,
) -> Result<(), ServerError> {
    let operator = named(store, name).await?;
    store.set_operator_status(operator.id, status).await?;
    println!("{name} is now {status}");
    Ok(())
}

/// Issues a token and prints it as the last line of stdout.
pub async fn create_token(
    store: &SqlStore,
    hasher: &KeyHasher,
    name: &str,
    kind: TokenKind,
    label: &str,
    expires_in_days: Option<u64>,
) -> Result<(), ServerError> {
    check_days(expires_in_days)?;
    validate_label(label).map_err(|e| ServerError::Usage(e.to_string()))?;
    let operator = named(store, name).await?;
    let issued = issue_token(store, hasher, operator.id, kind, label, expires_in_days).await?;
    println!(
        "created {kind} token {} (id {}) for {name}; it is shown only once:",
        issued.token.prefix, issued.token.id
    );
    println!("{}", issued.plaintext.expose());
    Ok(())
}

/// Prints an operator's tokens.
pub async fn list_tokens(store: &SqlStore, name: &str, json: bool) -> Result<(), ServerError> {
    let operator = named(store, name).await?;
    let tokens = store.operator_tokens(operator.id).await?;
    let now = SystemTime::now();
    if json {
        let rows: Vec<_> = tokens
            .iter()
            .map(|t| {
                json!({
                    "id": t.id.0,
                    "kind": t.kind.as_str(),
                    "label": t.label,
                    "prefix": t.prefix,
                    "usable": t.is_usable(now),
                    "revoked": t.revoked_at.is_some(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    println!(
        "{:<6} {:<4} {:<14} {:<8} LABEL",
        "ID", "KIND", "PREFIX", "STATE"
    );
    for t in &tokens {
        println!(
            "{:<6} {:<4} {:<14} {:<8} {}",
            t.id,
            t.kind.as_str(),
            t.prefix,
            token_state(t, now),
            t.label
        );
    }
    Ok(())
}

/// Revokes a token found by id or prefix.
pub async fn revoke_token(store: &SqlStore, name: &str, token: &str) -> Result<(), ServerError> {
    let operator = named(store, name).await?;
    let found = store
        .operator_tokens(operator.id)
        .await?
        .into_iter()
        .find(|t| t.prefix == token || t.id.0.to_string() == token)
        .ok_or_else(|| {
            ServerError::Usage(format!("{name} has no token with id or prefix {token:?}"))
        })?;
    store.revoke_operator_token(operator.id, found.id).await?;
    println!("token {} of {name} is revoked", found.prefix);
    Ok(())
}

fn token_state(t: &OperatorToken, now: SystemTime) -> &'static str {
    if t.revoked_at.is_some() {
        "revoked"
    } else if t.is_usable(now) {
        "active"
    } else {
        "expired"
    }
}

async fn named(store: &SqlStore, name: &str) -> Result<Operator, ServerError> {
    store
        .operator_named(name)
        .await?
        .ok_or_else(|| ServerError::Usage(format!("no operator named {name:?}")))
}

async fn pool_ids(store: &SqlStore, slugs: &[String]) -> Result<Vec<PoolId>, ServerError> {
    let mut ids = Vec::with_capacity(slugs.len());
    for slug in slugs {
        ids.push(pool_named(store as &dyn PoolStore, slug).await?.id);
    }
    Ok(ids)
}

fn check_days(days: Option<u64>) -> Result<(), ServerError> {
    if days.is_some_and(|d| !(1..=MAX_TOKEN_DAYS).contains(&d)) {
        return Err(ServerError::Usage(format!(
            "a token lives 1-{MAX_TOKEN_DAYS} days"
        )));
    }
    Ok(())
}
