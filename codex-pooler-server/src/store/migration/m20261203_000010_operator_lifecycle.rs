//! Adds what the operator lifecycle commands store: a rotated key's previous secret and the end
//! of its grace period (`pool_api_keys.previous_hash`, `previous_key_version`,
//! `previous_until`), and a pool's own waits for busy accounts (`pools.busy_wait_secs`,
//! `pin_wait_secs`). All nullable: existing keys were never rotated, existing pools use the
//! gateway's waits. Removed accounts and archived pools need no column: they are new spellings
//! of `upstream_accounts.lifecycle` and `pools.status`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer_null, blob_null};

/// Adds the rotation and per-pool wait columns.
#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PoolApiKeys {
    Table,
    PreviousHash,
    PreviousKeyVersion,
    PreviousUntil,
}

#[derive(DeriveIden)]
enum Pools {
    Table,
    BusyWaitSecs,
    PinWaitSecs,
}

/// The columns added, one `ALTER TABLE` each (SQLite takes one change per statement).
fn columns() -> Vec<(DynIden, ColumnDef)> {
    vec![
        (
            PoolApiKeys::Table.into_iden(),
            blob_null(PoolApiKeys::PreviousHash),
        ),
        (
            PoolApiKeys::Table.into_iden(),
            big_integer_null(PoolApiKeys::PreviousKeyVersion),
        ),
        (
            PoolApiKeys::Table.into_iden(),
            big_integer_null(PoolApiKeys::PreviousUntil),
        ),
        (
            Pools::Table.into_iden(),
            big_integer_null(Pools::BusyWaitSecs),
        ),
        (
            Pools::Table.into_iden(),
            big_integer_null(Pools::PinWaitSecs),
        ),
    ]
}

// See the first migration: `&SchemaManager` must keep its elided lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, mut column) in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in columns().into_iter().rev() {
            let name = column.get_column_name();
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(Alias::new(name))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
