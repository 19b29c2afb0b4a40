//! Operators (an owner and pool-scoped admins), their API and MCP tokens, and audit events.
//!
//! Tokens are stored as a public prefix plus a keyed hash, never in plaintext; passwords as
//! argon2 PHC strings. Audit events hold metadata only: who did what to which target, and how
//! it ended.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, blob, string, string_null, string_uniq, text_null,
};

/// Creates `operators`, `operator_pools`, `operator_tokens` and `audit_events`.
#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Operators {
    Table,
    Id,
    Name,
    Role,
    Status,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OperatorPools {
    Table,
    Id,
    OperatorId,
    PoolId,
}

#[derive(DeriveIden)]
enum OperatorTokens {
    Table,
    Id,
    OperatorId,
    Kind,
    Label,
    Prefix,
    Hash,
    KeyVersion,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    AtMs,
    ActorKind,
    ActorOperatorId,
    ActorName,
    Action,
    TargetKind,
    TargetId,
    PoolId,
    Outcome,
    Detail,
}

#[derive(DeriveIden)]
enum Pools {
    Table,
    Id,
}

// See the first migration: `&SchemaManager` must keep its elided lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Operators::Table)
                    .col(big_pk_auto(Operators::Id))
                    .col(string_uniq(Operators::Name))
                    .col(string(Operators::Role))
                    .col(string(Operators::Status))
                    .col(text_null(Operators::PasswordHash))
                    .col(big_integer(Operators::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OperatorPools::Table)
                    .col(big_pk_auto(OperatorPools::Id))
                    .col(big_integer(OperatorPools::OperatorId))
                    .col(big_integer(OperatorPools::PoolId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OperatorPools::Table, OperatorPools::OperatorId)
                            .to(Operators::Table, Operators::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OperatorPools::Table, OperatorPools::PoolId)
                            .to(Pools::Table, Pools::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("operator_pools_unique")
                    .table(OperatorPools::Table)
                    .col(OperatorPools::OperatorId)
                    .col(OperatorPools::PoolId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OperatorTokens::Table)
                    .col(big_pk_auto(OperatorTokens::Id))
                    .col(big_integer(OperatorTokens::OperatorId))
                    .col(string(OperatorTokens::Kind))
                    .col(string(OperatorTokens::Label))
                    .col(string_uniq(OperatorTokens::Prefix))
                    .col(blob(OperatorTokens::Hash))
                    .col(big_integer(OperatorTokens::KeyVersion))
                    .col(big_integer(OperatorTokens::CreatedAt))
                    .col(big_integer_null(OperatorTokens::ExpiresAt))
                    .col(big_integer_null(OperatorTokens::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OperatorTokens::Table, OperatorTokens::OperatorId)
                            .to(Operators::Table, Operators::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(big_pk_auto(AuditEvents::Id))
                    .col(big_integer(AuditEvents::AtMs))
                    .col(string(AuditEvents::ActorKind))
                    .col(big_integer_null(AuditEvents::ActorOperatorId))
                    .col(string_null(AuditEvents::ActorName))
                    .col(string(AuditEvents::Action))
                    .col(string(AuditEvents::TargetKind))
                    .col(string_null(AuditEvents::TargetId))
                    .col(big_integer_null(AuditEvents::PoolId))
                    .col(string(AuditEvents::Outcome))
                    .col(text_null(AuditEvents::Detail))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_events_at")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::AtMs)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvents::Table.into_iden(),
            OperatorTokens::Table.into_iden(),
            OperatorPools::Table.into_iden(),
            Operators::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
