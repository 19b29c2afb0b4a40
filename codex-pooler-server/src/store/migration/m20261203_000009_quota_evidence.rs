//! Adds the durable quota evidence: `quota_windows` (the latest reading per account and window
//! kind) and `quota_accounts` (account-level exhaustion and credits). Rows go with their
//! account.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, boolean_null, double, integer_null, string, string_null,
};

/// Creates the quota evidence tables.
#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum UpstreamAccounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum QuotaWindows {
    Table,
    AccountId,
    Kind,
    Slot,
    UsedPercent,
    WindowMinutes,
    ResetsAt,
    Source,
    ObservedAt,
}

#[derive(DeriveIden)]
enum QuotaAccounts {
    Table,
    AccountId,
    ExhaustedUntil,
    LimitSource,
    LimitObservedAt,
    HasCredits,
    CreditsUnlimited,
    CreditsBalance,
    CreditsSource,
    CreditsObservedAt,
    UpdatedAt,
}

// See the first migration: `&SchemaManager` must keep its elided lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(QuotaWindows::Table)
                    .col(big_integer(QuotaWindows::AccountId))
                    .col(string(QuotaWindows::Kind))
                    .col(string(QuotaWindows::Slot))
                    .col(double(QuotaWindows::UsedPercent))
                    .col(integer_null(QuotaWindows::WindowMinutes))
                    .col(big_integer_null(QuotaWindows::ResetsAt))
                    .col(string(QuotaWindows::Source))
                    .col(big_integer(QuotaWindows::ObservedAt))
                    .primary_key(
                        Index::create()
                            .col(QuotaWindows::AccountId)
                            .col(QuotaWindows::Kind),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_quota_windows_account")
                            .from(QuotaWindows::Table, QuotaWindows::AccountId)
                            .to(UpstreamAccounts::Table, UpstreamAccounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(QuotaAccounts::Table)
                    .col(big_integer(QuotaAccounts::AccountId).primary_key())
                    .col(big_integer_null(QuotaAccounts::ExhaustedUntil))
                    .col(string_null(QuotaAccounts::LimitSource))
                    .col(big_integer_null(QuotaAccounts::LimitObservedAt))
                    .col(boolean_null(QuotaAccounts::HasCredits))
                    .col(boolean_null(QuotaAccounts::CreditsUnlimited))
                    .col(string_null(QuotaAccounts::CreditsBalance))
                    .col(string_null(QuotaAccounts::CreditsSource))
                    .col(big_integer_null(QuotaAccounts::CreditsObservedAt))
                    .col(big_integer(QuotaAccounts::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_quota_accounts_account")
                            .from(QuotaAccounts::Table, QuotaAccounts::AccountId)
                            .to(UpstreamAccounts::Table, UpstreamAccounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(QuotaAccounts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(QuotaWindows::Table).to_owned())
            .await
    }
}
