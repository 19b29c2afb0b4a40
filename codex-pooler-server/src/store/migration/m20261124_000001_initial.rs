//! The initial schema: configuration tables, the configuration version row and request records.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, blob, boolean, integer, string, string_null,
    string_uniq, text, text_null,
};

/// Creates every table of the first release.
#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Pools {
    Table,
    Id,
    Slug,
    Status,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UpstreamAccounts {
    Table,
    Id,
    Label,
    ChatgptAccountId,
    UserId,
    Email,
    PlanType,
    BaseUrl,
    Lifecycle,
    Models,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UpstreamSecrets {
    Table,
    Id,
    AccountId,
    Kind,
    KeyVersion,
    Nonce,
    Ciphertext,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PoolAssignments {
    Table,
    Id,
    PoolId,
    AccountId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PoolApiKeys {
    Table,
    Id,
    PoolId,
    Name,
    Prefix,
    Hash,
    Status,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ConfigVersion {
    Table,
    Id,
    Version,
}

#[derive(DeriveIden)]
enum RequestRecords {
    Table,
    Id,
    ReceivedAt,
    PoolId,
    KeyId,
    AccountId,
    Route,
    Model,
    Stream,
    Status,
    Attempts,
    LatencyMs,
    InputTokens,
    CachedInputTokens,
    OutputTokens,
    ReasoningTokens,
    TotalTokens,
    ErrorCode,
    Exclusions,
    End,
}

// The trait spells `&SchemaManager` with an elided lifetime; `SchemaManager<'_>` would not match
// its (late-bound) signature under `async_trait`.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    // SQLite runs DDL in transactions too: a half-applied schema is never left behind.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Pools::Table)
                    .col(big_pk_auto(Pools::Id))
                    .col(string_uniq(Pools::Slug))
                    .col(string(Pools::Status))
                    .col(big_integer(Pools::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UpstreamAccounts::Table)
                    .col(big_pk_auto(UpstreamAccounts::Id))
                    .col(string(UpstreamAccounts::Label))
                    .col(string(UpstreamAccounts::ChatgptAccountId))
                    .col(string_null(UpstreamAccounts::UserId))
                    .col(string_null(UpstreamAccounts::Email))
                    .col(string_null(UpstreamAccounts::PlanType))
                    .col(string_null(UpstreamAccounts::BaseUrl))
                    .col(string(UpstreamAccounts::Lifecycle))
                    .col(text(UpstreamAccounts::Models))
                    .col(big_integer(UpstreamAccounts::CreatedAt))
                    .col(big_integer(UpstreamAccounts::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(UpstreamSecrets::Table)
                    .col(big_pk_auto(UpstreamSecrets::Id))
                    .col(big_integer(UpstreamSecrets::AccountId))
                    .col(string(UpstreamSecrets::Kind))
                    .col(big_integer(UpstreamSecrets::KeyVersion))
                    .col(blob(UpstreamSecrets::Nonce))
                    .col(blob(UpstreamSecrets::Ciphertext))
                    .col(big_integer(UpstreamSecrets::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_upstream_secrets_account")
                            .from(UpstreamSecrets::Table, UpstreamSecrets::AccountId)
                            .to(UpstreamAccounts::Table, UpstreamAccounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_upstream_secrets_account_kind")
                    .table(UpstreamSecrets::Table)
                    .col(UpstreamSecrets::AccountId)
                    .col(UpstreamSecrets::Kind)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PoolAssignments::Table)
                    .col(big_pk_auto(PoolAssignments::Id))
                    .col(big_integer(PoolAssignments::PoolId))
                    .col(big_integer(PoolAssignments::AccountId))
                    .col(big_integer(PoolAssignments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pool_assignments_pool")
                            .from(PoolAssignments::Table, PoolAssignments::PoolId)
                            .to(Pools::Table, Pools::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pool_assignments_account")
                            .from(PoolAssignments::Table, PoolAssignments::AccountId)
                            .to(UpstreamAccounts::Table, UpstreamAccounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_pool_assignments_pool_account")
                    .table(PoolAssignments::Table)
                    .col(PoolAssignments::PoolId)
                    .col(PoolAssignments::AccountId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PoolApiKeys::Table)
                    .col(big_pk_auto(PoolApiKeys::Id))
                    .col(big_integer(PoolApiKeys::PoolId))
                    .col(string(PoolApiKeys::Name))
                    .col(string_uniq(PoolApiKeys::Prefix))
                    .col(blob(PoolApiKeys::Hash))
                    .col(string(PoolApiKeys::Status))
                    .col(big_integer_null(PoolApiKeys::ExpiresAt))
                    .col(big_integer(PoolApiKeys::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pool_api_keys_pool")
                            .from(PoolApiKeys::Table, PoolApiKeys::PoolId)
                            .to(Pools::Table, Pools::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ConfigVersion::Table)
                    .col(integer(ConfigVersion::Id).primary_key())
                    .col(big_integer(ConfigVersion::Version))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(ConfigVersion::Table)
                    .columns([ConfigVersion::Id, ConfigVersion::Version])
                    .values([
                        crate::store::entity::config_version::ROW_ID.into(),
                        0i64.into(),
                    ])
                    .map_err(|e| DbErr::Migration(e.to_string()))?
                    .to_owned(),
            )
            .await?;

        // No foreign keys: records outlive the configuration rows they mention and must never
        // make the batching writer fail.
        manager
            .create_table(
                Table::create()
                    .table(RequestRecords::Table)
                    .col(big_pk_auto(RequestRecords::Id))
                    .col(big_integer(RequestRecords::ReceivedAt))
                    .col(big_integer(RequestRecords::PoolId))
                    .col(big_integer(RequestRecords::KeyId))
                    .col(big_integer_null(RequestRecords::AccountId))
                    .col(string(RequestRecords::Route))
                    .col(string_null(RequestRecords::Model))
                    .col(boolean(RequestRecords::Stream))
                    .col(integer(RequestRecords::Status))
                    .col(big_integer(RequestRecords::Attempts))
                    .col(big_integer(RequestRecords::LatencyMs))
                    .col(big_integer_null(RequestRecords::InputTokens))
                    .col(big_integer_null(RequestRecords::CachedInputTokens))
                    .col(big_integer_null(RequestRecords::OutputTokens))
                    .col(big_integer_null(RequestRecords::ReasoningTokens))
                    .col(big_integer_null(RequestRecords::TotalTokens))
                    .col(string_null(RequestRecords::ErrorCode))
                    .col(text_null(RequestRecords::Exclusions))
                    .col(string(RequestRecords::End))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_request_records_received_at")
                    .table(RequestRecords::Table)
                    .col(RequestRecords::ReceivedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RequestRecords::Table.into_iden(),
            ConfigVersion::Table.into_iden(),
            PoolApiKeys::Table.into_iden(),
            PoolAssignments::Table.into_iden(),
            UpstreamSecrets::Table.into_iden(),
            UpstreamAccounts::Table.into_iden(),
            Pools::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
