//! Pools: create, change status, look up.

use codex_pooler_core::model::{Pool, PoolId, PoolStatus};
use codex_pooler_core::store::StoreError;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::convert::{now_millis, parse};
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
        })
    }
    .await;
    finish(txn, result).await
}

/// Sets a pool's status.
pub(crate) async fn set_status(
    db: &DatabaseConnection,
    id: PoolId,
    status: PoolStatus,
) -> Result<(), StoreError> {
    let txn = begin_write(db).await?;
    let result = async {
        let updated = pool::Entity::update_many()
            .col_expr(pool::Column::Status, Expr::value(status.as_str()))
            .filter(pool::Column::Id.eq(id.0))
            .exec(&txn)
            .await
            .map_err(backend)?;
        if updated.rows_affected == 0 {
            return Err(StoreError::NotFound(format!("pool {id}")));
        }
        bump(&txn).await
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
    let txn = begin_write(db).await?;
    let result = async {
        let updated = pool::Entity::update_many()
            .col_expr(
                pool::Column::Strategy,
                Expr::value(strategy.map(str::to_owned)),
            )
            .filter(pool::Column::Id.eq(id.0))
            .exec(&txn)
            .await
            .map_err(backend)?;
        if updated.rows_affected == 0 {
            return Err(StoreError::NotFound(format!("pool {id}")));
        }
        bump(&txn).await
    }
    .await;
    finish(txn, result).await
}

/// Turns a pool's `/v1` surface on or off.
pub(crate) async fn set_v1_enabled(
    db: &DatabaseConnection,
    id: PoolId,
    enabled: bool,
) -> Result<(), StoreError> {
    let txn = begin_write(db).await?;
    let result = async {
        let updated = pool::Entity::update_many()
            .col_expr(pool::Column::V1Enabled, Expr::value(enabled))
            .filter(pool::Column::Id.eq(id.0))
            .exec(&txn)
            .await
            .map_err(backend)?;
        if updated.rows_affected == 0 {
            return Err(StoreError::NotFound(format!("pool {id}")));
        }
        bump(&txn).await
    }
    .await;
    finish(txn, result).await
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
    })
}
