//! Pool-account assignments.

use codex_pooler_core::model::{AccountId, Assignment, PoolId};
use codex_pooler_core::store::StoreError;
use sea_orm::{
    ActiveValue, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TryInsertResult,
};

use super::convert::now_millis;
use super::entity::pool_assignment;
use super::error::backend;
use super::txn::{begin_write, bump, finish, rollback};
use super::{accounts, pools};

/// Assigns `account` to `pool`; assigning twice changes nothing (and bumps no version).
pub(crate) async fn assign(
    db: &DatabaseConnection,
    pool: PoolId,
    account: AccountId,
) -> Result<(), StoreError> {
    let txn = begin_write(db).await?;
    let result = async {
        if !pools::exists(&txn, pool).await? {
            return Err(StoreError::NotFound(format!("pool {pool}")));
        }
        accounts::check_live(&txn, account).await?;
        let row = pool_assignment::ActiveModel {
            id: ActiveValue::NotSet,
            pool_id: ActiveValue::Set(pool.0),
            account_id: ActiveValue::Set(account.0),
            created_at: ActiveValue::Set(now_millis()),
        };
        let inserted = pool_assignment::Entity::insert(row)
            .on_conflict_do_nothing_on([
                pool_assignment::Column::PoolId,
                pool_assignment::Column::AccountId,
            ])
            .exec_without_returning(&txn)
            .await
            .map_err(backend)?;
        let added = matches!(inserted, TryInsertResult::Inserted(n) if n > 0);
        if added {
            bump(&txn).await?;
        }
        Ok(added)
    }
    .await;
    match result {
        Ok(false) => {
            rollback(txn).await;
            Ok(())
        }
        other => {
            finish(txn, other).await?;
            Ok(())
        }
    }
}

/// Takes `account` out of `pool`; unknown ids, and an account not in the pool, are not found.
pub(crate) async fn unassign(
    db: &DatabaseConnection,
    pool: PoolId,
    account: AccountId,
) -> Result<(), StoreError> {
    let txn = begin_write(db).await?;
    let result = async {
        if !pools::exists(&txn, pool).await? {
            return Err(StoreError::NotFound(format!("pool {pool}")));
        }
        if !accounts::exists(&txn, account).await? {
            return Err(accounts::not_found(account));
        }
        let deleted = pool_assignment::Entity::delete_many()
            .filter(pool_assignment::Column::PoolId.eq(pool.0))
            .filter(pool_assignment::Column::AccountId.eq(account.0))
            .exec(&txn)
            .await
            .map_err(backend)?;
        if deleted.rows_affected == 0 {
            return Err(StoreError::NotFound(format!(
                "assignment of account {account} to pool {pool}"
            )));
        }
        bump(&txn).await
    }
    .await;
    finish(txn, result).await
}

/// A stored row as an [`Assignment`].
pub(crate) fn from_row(row: &pool_assignment::Model) -> Assignment {
    Assignment {
        pool: PoolId(row.pool_id),
        account: AccountId(row.account_id),
    }
}
