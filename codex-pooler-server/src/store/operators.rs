//! Operators and the pools an admin is scoped to.
//!
//! Operator changes do not bump the configuration version: gateways do not load operators into
//! their snapshot, and the REST API reads them from the store on each call.

use std::collections::BTreeMap;

use codex_pooler_core::model::PoolId;
use codex_pooler_core::store::StoreError;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::SqlStore;
use super::convert::{now_millis, parse, time};
use super::entity::{operator, operator_pool};
use super::error::{backend, missing_or_conflict};
use super::pools;
use super::txn::{begin_snapshot, begin_write, finish};
use crate::operators::{NewOperator, Operator, OperatorId, OperatorStatus, Role};

impl SqlStore {
    /// Creates an active operator; a taken name is a conflict, an unknown pool not found.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`], [`StoreError::NotFound`] or [`StoreError::Backend`].
    pub async fn create_operator(&self, new: NewOperator) -> Result<Operator, StoreError> {
        let txn = begin_write(&self.db).await?;
        let result = async {
            let row = operator::ActiveModel {
                id: ActiveValue::NotSet,
                name: ActiveValue::Set(new.name.clone()),
                role: ActiveValue::Set(new.role.as_str().to_owned()),
                status: ActiveValue::Set(OperatorStatus::Active.as_str().to_owned()),
                password_hash: ActiveValue::Set(None),
                created_at: ActiveValue::Set(now_millis()),
            };
            let inserted = operator::Entity::insert(row)
                .exec(&txn)
                .await
                .map_err(|e| {
                    missing_or_conflict(
                        e,
                        || "operator".to_owned(),
                        || format!("operator {}", new.name),
                    )
                })?;
            let id = OperatorId(inserted.last_insert_id);
            replace_pools(&txn, id, &new.pools).await?;
            Ok(id)
        }
        .await;
        let id = finish(txn, result).await?;
        self.operator(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("operator {id}")))
    }

    /// Every operator, in id order.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
    pub async fn operators(&self) -> Result<Vec<Operator>, StoreError> {
        let txn = begin_snapshot(&self.db).await?;
        let result = async {
            let rows = operator::Entity::find()
                .order_by_asc(operator::Column::Id)
                .all(&txn)
                .await
                .map_err(backend)?;
            let mut pools = pools_by_operator(&txn, None).await?;
            rows.into_iter()
                .map(|row| {
                    let scoped = pools.remove(&row.id).unwrap_or_default();
                    from_row(row, scoped)
                })
                .collect()
        }
        .await;
        finish(txn, result).await
    }

    /// One operator.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
    pub async fn operator(&self, id: OperatorId) -> Result<Option<Operator>, StoreError> {
        let txn = begin_snapshot(&self.db).await?;
        let result = async {
            let Some(row) = operator::Entity::find_by_id(id.0)
                .one(&txn)
                .await
                .map_err(backend)?
            else {
                return Ok(None);
            };
            let scoped = pools_by_operator(&txn, Some(id))
                .await?
                .remove(&id.0)
                .unwrap_or_default();
            from_row(row, scoped).map(Some)
        }
        .await;
        finish(txn, result).await
    }

    /// One operator by name.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
    pub async fn operator_named(&self, name: &str) -> Result<Option<Operator>, StoreError> {
        let row = operator::Entity::find()
            .filter(operator::Column::Name.eq(name))
            .one(&self.db)
            .await
            .map_err(backend)?;
        match row {
            Some(row) => self.operator(OperatorId(row.id)).await,
            None => Ok(None),
        }
    }

    /// Enables or disables an operator.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] for an unknown operator, or [`StoreError::Backend`].
    pub async fn set_operator_status(
        &self,
        id: OperatorId,
        status: OperatorStatus,
    ) -> Result<(), StoreError> {
        let updated = operator::Entity::update_many()
            .col_expr(operator::Column::Status, Expr::value(status.as_str()))
            .filter(operator::Column::Id.eq(id.0))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        if updated.rows_affected == 0 {
            return Err(StoreError::NotFound(format!("operator {id}")));
        }
        Ok(())
    }

    /// Sets (or clears) an operator's dashboard password hash (an argon2 PHC string).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] for an unknown operator, or [`StoreError::Backend`].
    pub async fn set_operator_password(
        &self,
        id: OperatorId,
        password_hash: Option<String>,
    ) -> Result<(), StoreError> {
        let updated = operator::Entity::update_many()
            .col_expr(operator::Column::PasswordHash, Expr::value(password_hash))
            .filter(operator::Column::Id.eq(id.0))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        if updated.rows_affected == 0 {
            return Err(StoreError::NotFound(format!("operator {id}")));
        }
        Ok(())
    }

    /// An operator's dashboard password hash, if one is set.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
    pub async fn operator_password(&self, id: OperatorId) -> Result<Option<String>, StoreError> {
        Ok(operator::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(backend)?
            .and_then(|row| row.password_hash))
    }

    /// Replaces the pools an admin is scoped to.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] for an unknown operator or pool, or [`StoreError::Backend`].
    pub async fn set_operator_pools(
        &self,
        id: OperatorId,
        pools: &[PoolId],
    ) -> Result<(), StoreError> {
        let txn = begin_write(&self.db).await?;
        let result = async {
            let exists = operator::Entity::find_by_id(id.0)
                .one(&txn)
                .await
                .map_err(backend)?
                .is_some();
            if !exists {
                return Err(StoreError::NotFound(format!("operator {id}")));
            }
            operator_pool::Entity::delete_many()
                .filter(operator_pool::Column::OperatorId.eq(id.0))
                .exec(&txn)
                .await
                .map_err(backend)?;
            replace_pools(&txn, id, pools).await
        }
        .await;
        finish(txn, result).await
    }
}

/// Inserts `id`'s pool rows (after checking each pool exists).
async fn replace_pools<C: ConnectionTrait>(
    txn: &C,
    id: OperatorId,
    pools: &[PoolId],
) -> Result<(), StoreError> {
    let mut unique = pools.to_vec();
    unique.sort_unstable();
    unique.dedup();
    for pool in unique {
        if !pools::exists(txn, pool).await? {
            return Err(StoreError::NotFound(format!("pool {pool}")));
        }
        let row = operator_pool::ActiveModel {
            id: ActiveValue::NotSet,
            operator_id: ActiveValue::Set(id.0),
            pool_id: ActiveValue::Set(pool.0),
        };
        operator_pool::Entity::insert(row)
            .exec(txn)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

/// Scoped pools per operator id (of one operator, or all).
async fn pools_by_operator<C: ConnectionTrait>(
    db: &C,
    only: Option<OperatorId>,
) -> Result<BTreeMap<i64, Vec<PoolId>>, StoreError> {
    let mut find = operator_pool::Entity::find().order_by_asc(operator_pool::Column::PoolId);
    if let Some(id) = only {
        find = find.filter(operator_pool::Column::OperatorId.eq(id.0));
    }
    let mut map: BTreeMap<i64, Vec<PoolId>> = BTreeMap::new();
    for row in find.all(db).await.map_err(backend)? {
        map.entry(row.operator_id)
            .or_default()
            .push(PoolId(row.pool_id));
    }
    Ok(map)
}

fn from_row(row: operator::Model, pools: Vec<PoolId>) -> Result<Operator, StoreError> {
    let role: Role = parse("operators.role", &row.role)?;
    Ok(Operator {
        id: OperatorId(row.id),
        name: row.name,
        role,
        status: parse("operators.status", &row.status)?,
        pools: if role == Role::Owner {
            Vec::new()
        } else {
            pools
        },
        has_password: row.password_hash.is_some(),
        created_at: time("operators.created_at", row.created_at)?,
    })
}
