//! Adds `pool_api_keys.policy`: the key's model, effort and limit rules as JSON (NULL: none).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::text_null;

/// Adds the per-key policy.
#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PoolApiKeys {
    Table,
    Policy,
}

// See the first migration: `&SchemaManager` must keep its elided lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PoolApiKeys::Table)
                    .add_column(text_null(PoolApiKeys::Policy))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PoolApiKeys::Table)
                    .drop_column(PoolApiKeys::Policy)
                    .to_owned(),
            )
            .await
    }
}
