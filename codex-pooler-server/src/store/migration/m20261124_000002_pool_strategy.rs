//! Adds `pools.strategy`: the routing strategy a pool uses (NULL: the gateway's default).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::text_null;

/// Adds the per-pool routing strategy.
#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Pools {
    Table,
    Strategy,
}

// See the first migration: `&SchemaManager` must keep its elided lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Pools::Table)
                    .add_column(text_null(Pools::Strategy))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Pools::Table)
                    .drop_column(Pools::Strategy)
                    .to_owned(),
            )
            .await
    }
}
