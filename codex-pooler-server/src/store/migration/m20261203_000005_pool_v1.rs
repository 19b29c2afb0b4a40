//! Adds `pools.v1_enabled`: whether the pool's keys may use the OpenAI-compatible `/v1`
//! surface (existing pools keep it on).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::boolean;

/// Adds the per-pool `/v1` switch.
#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Pools {
    Table,
    V1Enabled,
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
                    .add_column(boolean(Pools::V1Enabled).default(true))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Pools::Table)
                    .drop_column(Pools::V1Enabled)
                    .to_owned(),
            )
            .await
    }
}
