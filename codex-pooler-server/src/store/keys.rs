//! Pool API keys.

use codex_pooler_core::model::{KeyId, KeyPolicy, KeyStatus, PoolApiKey, PoolId, PreviousSecret};
use codex_pooler_core::store::{KeyRotation, NewKey, StoreError};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::convert::{bad, millis, now_millis, parse, time, unsigned};
use super::entity::pool_api_key;
use super::error::{backend, missing_or_conflict};
use super::pools;
use super::txn::{begin_write, bump, finish};

/// Inserts an active key; an unknown pool is not found, a taken prefix a conflict.
pub(crate) async fn create(db: &DatabaseConnection, new: NewKey) -> Result<PoolApiKey, StoreError> {
    let txn = begin_write(db).await?;
    let result = async {
        if !pools::exists(&txn, new.pool).await? {
            return Err(StoreError::NotFound(format!("pool {}", new.pool)));
        }
        let row = pool_api_key::ActiveModel {
            id: ActiveValue::NotSet,
            pool_id: ActiveValue::Set(new.pool.0),
            name: ActiveValue::Set(new.name.clone()),
            prefix: ActiveValue::Set(new.prefix.clone()),
            hash: ActiveValue::Set(new.hash.to_vec()),
            key_version: ActiveValue::Set(i64::from(new.key_version)),
            status: ActiveValue::Set(KeyStatus::Active.as_str().to_owned()),
            expires_at: ActiveValue::Set(new.expires_at.map(millis)),
            created_at: ActiveValue::Set(now_millis()),
            policy: ActiveValue::Set(policy_column(&new.policy)?),
            previous_hash: ActiveValue::Set(None),
            previous_key_version: ActiveValue::Set(None),
            previous_until: ActiveValue::Set(None),
        };
        let inserted = pool_api_key::Entity::insert(row)
            .exec(&txn)
            .await
            .map_err(|e| {
                missing_or_conflict(
                    e,
                    || format!("pool {}", new.pool),
                    || format!("key prefix {}", new.prefix),
                )
            })?;
        bump(&txn).await?;
        Ok(KeyId(inserted.last_insert_id))
    }
    .await;
    let id = finish(txn, result).await?;
    Ok(PoolApiKey {
        id,
        pool: new.pool,
        name: new.name,
        prefix: new.prefix,
        hash: new.hash,
        key_version: new.key_version,
        status: KeyStatus::Active,
        expires_at: new.expires_at,
        policy: new.policy,
        previous: None,
    })
}

/// Gives a key a new hash, keeping the old one until `grace_until` (or not at all); returns
/// the key as stored. An unknown key is not found.
pub(crate) async fn rotate(
    db: &DatabaseConnection,
    id: KeyId,
    rotation: KeyRotation,
) -> Result<PoolApiKey, StoreError> {
    let txn = begin_write(db).await?;
    let result = async {
        let row = pool_api_key::Entity::find_by_id(id.0)
            .one(&txn)
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound(format!("key {id}")))?;
        let kept = rotation.grace_until.map(millis);
        let mut update = pool_api_key::Entity::update_many()
            .col_expr(
                pool_api_key::Column::Hash,
                Expr::value(rotation.hash.to_vec()),
            )
            .col_expr(
                pool_api_key::Column::KeyVersion,
                Expr::value(i64::from(rotation.key_version)),
            )
            .col_expr(pool_api_key::Column::PreviousUntil, Expr::value(kept));
        let (old_hash, old_version) = match kept {
            Some(_) => (Some(row.hash.clone()), Some(row.key_version)),
            None => (None, None),
        };
        update = update
            .col_expr(pool_api_key::Column::PreviousHash, Expr::value(old_hash))
            .col_expr(
                pool_api_key::Column::PreviousKeyVersion,
                Expr::value(old_version),
            );
        update
            .filter(pool_api_key::Column::Id.eq(id.0))
            .exec(&txn)
            .await
            .map_err(backend)?;
        bump(&txn).await?;
        pool_api_key::Entity::find_by_id(id.0)
            .one(&txn)
            .await
            .map_err(backend)?
            .ok_or_else(|| StoreError::NotFound(format!("key {id}")))
            .and_then(from_row)
    }
    .await;
    finish(txn, result).await
}

/// Sets a key's status.
pub(crate) async fn set_status(
    db: &DatabaseConnection,
    id: KeyId,
    status: KeyStatus,
) -> Result<(), StoreError> {
    set_column(
        db,
        id,
        pool_api_key::Column::Status,
        Expr::value(status.as_str()),
    )
    .await
}

/// Replaces a key's policy.
pub(crate) async fn set_policy(
    db: &DatabaseConnection,
    id: KeyId,
    policy: &KeyPolicy,
) -> Result<(), StoreError> {
    let column = policy_column(policy)?;
    set_column(db, id, pool_api_key::Column::Policy, Expr::value(column)).await
}

/// Sets one column of a key and bumps the version; an unknown key is not found.
async fn set_column(
    db: &DatabaseConnection,
    id: KeyId,
    column: pool_api_key::Column,
    value: sea_orm::sea_query::SimpleExpr,
) -> Result<(), StoreError> {
    let txn = begin_write(db).await?;
    let result = async {
        let updated = pool_api_key::Entity::update_many()
            .col_expr(column, value)
            .filter(pool_api_key::Column::Id.eq(id.0))
            .exec(&txn)
            .await
            .map_err(backend)?;
        if updated.rows_affected == 0 {
            return Err(StoreError::NotFound(format!("key {id}")));
        }
        bump(&txn).await
    }
    .await;
    finish(txn, result).await
}

/// The `policy` column for `policy`: NULL for the default (no rules), else compact JSON.
fn policy_column(policy: &KeyPolicy) -> Result<Option<String>, StoreError> {
    if *policy == KeyPolicy::default() {
        return Ok(None);
    }
    serde_json::to_string(policy)
        .map(Some)
        .map_err(|e| bad("pool_api_keys.policy", "a key policy", &e.to_string()))
}

/// A stored row as a [`PoolApiKey`].
pub(crate) fn from_row(row: pool_api_key::Model) -> Result<PoolApiKey, StoreError> {
    let hash = hash_of("pool_api_keys.hash", &row.hash)?;
    let previous = match (
        row.previous_hash,
        row.previous_key_version,
        row.previous_until,
    ) {
        (Some(hash), Some(version), Some(until)) => Some(PreviousSecret {
            hash: hash_of("pool_api_keys.previous_hash", &hash)?,
            key_version: unsigned("pool_api_keys.previous_key_version", version)?,
            until: time("pool_api_keys.previous_until", until)?,
        }),
        (None, None, None) => None,
        _ => {
            return Err(bad(
                "pool_api_keys.previous_hash",
                "a partial previous secret",
                "(previous_hash, previous_key_version and previous_until go together)",
            ));
        }
    };
    Ok(PoolApiKey {
        id: KeyId(row.id),
        pool: PoolId(row.pool_id),
        previous,
        status: parse("pool_api_keys.status", &row.status)?,
        expires_at: row
            .expires_at
            .map(|ms| time("pool_api_keys.expires_at", ms))
            .transpose()?,
        hash,
        key_version: unsigned("pool_api_keys.key_version", row.key_version)?,
        policy: row
            .policy
            .as_deref()
            .map(|json| {
                serde_json::from_str(json)
                    .map_err(|e| bad("pool_api_keys.policy", json, &e.to_string()))
            })
            .transpose()?
            .unwrap_or_default(),
        name: row.name,
        prefix: row.prefix,
    })
}

/// A stored 32-byte hash read from `column`.
fn hash_of(column: &str, bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes).map_err(|_| {
        bad(
            column,
            format!("a value of {} bytes", bytes.len()),
            "is not a 32-byte hash",
        )
    })
}
