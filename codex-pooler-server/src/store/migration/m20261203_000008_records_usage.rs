//! Request-record query indexes and the `daily_usage` rollup table.
//!
//! `daily_usage` holds one row per (UTC day, pool, key, model): request and error counts and
//! token sums, added to in the same transaction as the records they count, so it stays exact
//! and outlives record retention. A request without a model counts under the empty string
//! (a unique index treats NULLs as distinct on both backends).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, string};

/// Adds the record indexes and the usage rollups.
#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum RequestRecords {
    Table,
    Id,
    ReceivedAt,
    PoolId,
    KeyId,
    AccountId,
}

#[derive(DeriveIden)]
enum DailyUsage {
    Table,
    Id,
    Day,
    PoolId,
    KeyId,
    Model,
    Requests,
    Errors,
    InputTokens,
    CachedInputTokens,
    OutputTokens,
    ReasoningTokens,
    TotalTokens,
}

/// `(column, index name)` of the per-column record indexes: each ends in the page order.
const RECORD_INDEXES: [(RequestRecords, &str); 3] = [
    (RequestRecords::PoolId, "ix_request_records_pool_time"),
    (RequestRecords::KeyId, "ix_request_records_key_time"),
    (RequestRecords::AccountId, "ix_request_records_account_time"),
];

// See the first migration: `&SchemaManager` must keep its elided lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (column, name) in RECORD_INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(RequestRecords::Table)
                        .col(column)
                        .col(RequestRecords::ReceivedAt)
                        .col(RequestRecords::Id)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(DailyUsage::Table)
                    .col(big_pk_auto(DailyUsage::Id))
                    .col(big_integer(DailyUsage::Day))
                    .col(big_integer(DailyUsage::PoolId))
                    .col(big_integer(DailyUsage::KeyId))
                    .col(string(DailyUsage::Model))
                    .col(big_integer(DailyUsage::Requests))
                    .col(big_integer(DailyUsage::Errors))
                    .col(big_integer(DailyUsage::InputTokens))
                    .col(big_integer(DailyUsage::CachedInputTokens))
                    .col(big_integer(DailyUsage::OutputTokens))
                    .col(big_integer(DailyUsage::ReasoningTokens))
                    .col(big_integer(DailyUsage::TotalTokens))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_daily_usage_day_pool_key_model")
                    .table(DailyUsage::Table)
                    .col(DailyUsage::Day)
                    .col(DailyUsage::PoolId)
                    .col(DailyUsage::KeyId)
                    .col(DailyUsage::Model)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (column, name) in [
            (DailyUsage::PoolId, "ix_daily_usage_pool_day"),
            (DailyUsage::KeyId, "ix_daily_usage_key_day"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(DailyUsage::Table)
                        .col(column)
                        .col(DailyUsage::Day)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DailyUsage::Table).to_owned())
            .await?;
        for (_, name) in RECORD_INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(RequestRecords::Table)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
