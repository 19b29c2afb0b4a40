//! Loading the whole configuration as one consistent [`StoreState`].

use codex_pooler_core::store::{StoreError, StoreState};
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};

use super::entity::{pool, pool_api_key, pool_assignment, upstream_account};
use super::error::backend;
use super::txn::{begin_snapshot, finish, version};
use super::{accounts, assignments, keys, pools};

/// Reads the version and every configuration row from one snapshot, each table in id order.
pub(crate) async fn load(db: &DatabaseConnection) -> Result<StoreState, StoreError> {
    let txn = begin_snapshot(db).await?;
    let result = async {
        let version = version(&txn).await?;
        let pools = pool::Entity::find()
            .order_by_asc(pool::Column::Id)
            .all(&txn)
            .await
            .map_err(backend)?
            .into_iter()
            .map(pools::from_row)
            .collect::<Result<_, _>>()?;
        let accounts = upstream_account::Entity::find()
            .order_by_asc(upstream_account::Column::Id)
            .all(&txn)
            .await
            .map_err(backend)?
            .into_iter()
            .map(accounts::from_row)
            .collect::<Result<_, _>>()?;
        let assignments = pool_assignment::Entity::find()
            .order_by_asc(pool_assignment::Column::Id)
            .all(&txn)
            .await
            .map_err(backend)?
            .iter()
            .map(assignments::from_row)
            .collect();
        let keys = pool_api_key::Entity::find()
            .order_by_asc(pool_api_key::Column::Id)
            .all(&txn)
            .await
            .map_err(backend)?
            .into_iter()
            .map(keys::from_row)
            .collect::<Result<_, _>>()?;
        Ok(StoreState {
            version,
            pools,
            accounts,
            assignments,
            keys,
        })
    }
    .await;
    finish(txn, result).await
}
