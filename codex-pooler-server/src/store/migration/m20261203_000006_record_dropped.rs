//! Adds `request_records.dropped_parameters`: the names of the `/v1` parameters the translation
//! dropped (never their values).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_null;

/// Adds the dropped-parameter names to request records.
#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum RequestRecords {
    Table,
    DroppedParameters,
}

// See the first migration: `&SchemaManager` must keep its elided lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RequestRecords::Table)
                    .add_column(string_null(RequestRecords::DroppedParameters))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RequestRecords::Table)
                    .drop_column(RequestRecords::DroppedParameters)
                    .to_owned(),
            )
            .await
    }
}
