//! Pools: create, change status, strategy, `/v1` switch and waits, look up.

use codex_pooler_core::model::{Pool, PoolId, PoolStatus, PoolWaits};
use codex_pooler_core::store::StoreError;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveValue, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
};

use super::convert::{now_millis, parse, signed, unsigned};
use super::entity::pool;
use super::error::{backend, conflict_or_backend};
use super::txn::{begin_write, bump, finish};

/// Inserts an active pool; a taken slug is a conflict.
pub(crate) async fn create(db: &DatabaseConnection, slug: &str) -> Result<Pool, StoreError> {
    let txn = begin_write(db).await?;
    let result = async {
        let row = pool::ActiveModel {
            id: ActiveValue::NotSet,
            slug: ActiveValue::Set(slug.to_owned()),
            status: ActiveValue::Set(PoolStatus::Active.as_str().to_owned()),
            strategy: ActiveValue::Set(None),
            v1_enabled: ActiveValue::Set(true),
            busy_wait_secs: ActiveValue::Set(None),
            pin_wait_secs: ActiveValue::Set(None),
            created_at: ActiveValue::Set(now_millis()),
        };
        let inserted = pool::Entity::insert(row)
            .exec(&txn)
            .await
            .map_err(|e| conflict_or_backend(e, || format!("pool {slug}")))?;
        bump(&txn).await?;
        Ok(Pool {
            id: PoolId(inserted.last_insert_id),
            slug: slug.to_owned(),
            status: PoolStatus::Active,
            strategy: None,
            v1_enabled: true,
            waits: PoolWaits::default(),
        })
    }
    .await;
    finish(txn, result).await
}

/// Sets a pool's status; an archived pool keeps its status.
pub(crate) async fn set_status(
    db: &DatabaseConnection,
    id: PoolId,
    status: PoolStatus,
) -> Result<(), StoreError> {
    let txn = begin_write(db).await?;
    let result = async {
        let row = pool::Entity::find_by_id(id.0)
            .one(&txn)
            .await
            .map_err(backend)?
            .ok_or_else(|| not_found(id))?;
        let archived = PoolStatus::Archived.as_str();
        if row.status == archived && status.as_str() != archived {
            return Err(StoreError::Archived(format!("pool {id}")));
        }
        update(
            &txn,
            id,
            [(pool::Column::Status, Expr::value(status.as_str()))],
        )
        .await
    }
    .await;
    finish(txn, result).await
}

/// Sets a pool's routing strategy name.
pub(crate) async fn set_strategy(
    db: &DatabaseConnection,
    id: PoolId,
    strategy: Option<&str>,
) -> Result<(), StoreError> {
    let value = Expr::value(strategy.map(str::to_owned));
    set_columns(db, id, [(pool::Column::Strategy, value)]).await
}

/// Turns a pool's `/v1` surface on or off.
pub(crate) async fn set_v1_enabled(
    db: &DatabaseConnection,
    id: PoolId,
    enabled: bool,
) -> Result<(), StoreError> {
    set_columns(db, id, [(pool::Column::V1Enabled, Expr::value(enabled))]).await
}

/// Sets a pool's own waits.
pub(crate) async fn set_waits(
    db: &DatabaseConnection,
    id: PoolId,
    waits: PoolWaits,
) -> Result<(), StoreError> {
    let busy = waits
        .busy_wait_secs
        .map(|s| signed("pools.busy_wait_secs", s))
        .transpose()?;
    let pin = waits
        .pin_wait_secs
        .map(|s| signed("pools.pin_wait_secs", s))
        .transpose()?;
    let columns = [
        (pool::Column::BusyWaitSecs, Expr::value(busy)),
        (pool::Column::PinWaitSecs, Expr::value(pin)),
    ];
    set_columns(db, id, columns).await
}

/// Sets columns of a pool in a transaction of their own.
async fn set_columns<const N: usize>(
    db: &DatabaseConnection,
    id: PoolId,
    columns: [(pool::Column, SimpleExpr); N],
) -> Result<(), StoreError> {
    let txn = begin_write(db).await?;
    let result = update(&txn, id, columns).await;
    finish(txn, result).await
}

/// Sets columns of a pool inside `txn` and bumps the version; an unknown pool is not found.
async fn update<const N: usize>(
    txn: &DatabaseTransaction,
    id: PoolId,
    columns: [(pool::Column, SimpleExpr); N],
) -> Result<(), StoreError> {
    let mut update = pool::Entity::update_many().filter(pool::Column::Id.eq(id.0));
    for (column, value) in columns {
        update = update.col_expr(column, value);
    }
    let updated = update.exec(txn).await.map_err(backend)?;
    if updated.rows_affected == 0 {
        return Err(not_found(id));
    }
    bump(txn).await
}

/// The error for a missing pool.
fn not_found(id: PoolId) -> StoreError {
    StoreError::NotFound(format!("pool {id}"))
}

/// Finds a pool by slug.
pub(crate) async fn by_slug(
    db: &DatabaseConnection,
    slug: &str,
) -> Result<Option<Pool>, StoreError> {
    pool::Entity::find()
        .filter(pool::Column::Slug.eq(slug))
        .one(db)
        .await
        .map_err(backend)?
        .map(from_row)
        .transpose()
}

/// Whether pool `id` exists.
pub(crate) async fn exists<C: sea_orm::ConnectionTrait>(
    db: &C,
    id: PoolId,
) -> Result<bool, StoreError> {
    Ok(pool::Entity::find_by_id(id.0)
        .one(db)
        .await
        .map_err(backend)?
        .is_some())
}

/// A stored row as a [`Pool`].
pub(crate) fn from_row(row: pool::Model) -> Result<Pool, StoreError> {
    Ok(Pool {
        id: PoolId(row.id),
        status: parse("pools.status", &row.status)?,
        slug: row.slug,
        strategy: row.strategy,
        v1_enabled: row.v1_enabled,
        waits: PoolWaits {
            busy_wait_secs: row
                .busy_wait_secs
                .map(|s| unsigned("pools.busy_wait_secs", s))
                .transpose()?,
            pin_wait_secs: row
                .pin_wait_secs
                .map(|s| unsigned("pools.pin_wait_secs", s))
                .transpose()?,
        },
    })
}
