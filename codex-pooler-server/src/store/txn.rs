//! Transactions and the configuration version every configuration write bumps.
//!
//! Write transactions start with `BEGIN IMMEDIATE` on SQLite, so a writer takes the database
//! write lock up front and waits on the busy timeout instead of failing when another process
//! (the CLI next to a running server) writes at the same time. PostgreSQL serialises
//! configuration writes on the `config_version` row lock taken by [`bump`].

use codex_pooler_core::store::StoreError;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    AccessMode, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait, IsolationLevel, QueryFilter, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

use super::entity::config_version;
use super::error::backend;

/// Begins a write transaction.
pub(crate) async fn begin_write(
    db: &DatabaseConnection,
) -> Result<DatabaseTransaction, StoreError> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
    .map_err(backend)
}

/// Begins a read-only transaction that sees one consistent snapshot.
pub(crate) async fn begin_snapshot(
    db: &DatabaseConnection,
) -> Result<DatabaseTransaction, StoreError> {
    let options = match db.get_database_backend() {
        // SQLite (WAL) reads of one transaction already share a snapshot, and sea-orm warns
        // when given an isolation level it cannot set there.
        DbBackend::Sqlite => TransactionOptions::default(),
        _ => TransactionOptions {
            isolation_level: Some(IsolationLevel::RepeatableRead),
            access_mode: Some(AccessMode::ReadOnly),
            sqlite_transaction_mode: None,
        },
    };
    db.begin_with_options(options).await.map_err(backend)
}

/// Commits `txn` when `result` is `Ok`, rolls it back otherwise.
pub(crate) async fn finish<T>(
    txn: DatabaseTransaction,
    result: Result<T, StoreError>,
) -> Result<T, StoreError> {
    match result {
        Ok(value) => {
            txn.commit().await.map_err(backend)?;
            Ok(value)
        }
        Err(err) => {
            rollback(txn).await;
            Err(err)
        }
    }
}

/// Rolls `txn` back; a failure is only logged, the connection is discarded by the pool then.
pub(crate) async fn rollback(txn: DatabaseTransaction) {
    if let Err(err) = txn.rollback().await {
        tracing::warn!(error = %err, "store transaction rollback failed");
    }
}

/// Bumps the configuration version inside `txn`.
pub(crate) async fn bump(txn: &DatabaseTransaction) -> Result<(), StoreError> {
    let res = config_version::Entity::update_many()
        .col_expr(
            config_version::Column::Version,
            Expr::col(config_version::Column::Version).add(1i64),
        )
        .filter(config_version::Column::Id.eq(config_version::ROW_ID))
        .exec(txn)
        .await
        .map_err(backend)?;
    if res.rows_affected == 1 {
        Ok(())
    } else {
        Err(missing_version_row())
    }
}

/// Reads the configuration version.
pub(crate) async fn version<C: ConnectionTrait>(db: &C) -> Result<u64, StoreError> {
    let row = config_version::Entity::find_by_id(config_version::ROW_ID)
        .one(db)
        .await
        .map_err(backend)?
        .ok_or_else(missing_version_row)?;
    super::convert::unsigned("config_version.version", row.version)
}

fn missing_version_row() -> StoreError {
    StoreError::Backend("the config_version row is missing".to_owned())
}
