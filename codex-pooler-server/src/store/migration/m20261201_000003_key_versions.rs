//! Key versions for Pool API key hashes: `pool_api_keys.key_version` and the `hashing_keys`
//! table, so the secret key can be rotated.
//!
//! A Pool API key cannot be hashed again (the gateway never keeps its plaintext), so each hash
//! records the version of the hashing key that made it, and the hashing keys of older versions
//! are kept in `hashing_keys`, sealed under the current secret key, once the older secret keys
//! are removed.
//!
//! Existing hashes were all made with the one secret key the deployment had before this
//! migration. Its version is the one stored beside the sealed upstream secrets
//! (`CODEX_POOLER_SECRET_KEY_VERSION`, 1 unless set), so existing rows take that version when
//! every stored secret agrees on one, and 1 otherwise.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, blob};

/// Adds the per-hash key version and the table of sealed hashing keys.
#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PoolApiKeys {
    Table,
    KeyVersion,
}

#[derive(DeriveIden)]
enum HashingKeys {
    Table,
    Version,
    KeyVersion,
    Nonce,
    Ciphertext,
    CreatedAt,
}

/// Sets existing key hashes to the version of the stored secrets when they all share one.
const BACKFILL: &str = "UPDATE pool_api_keys SET key_version = \
     (SELECT MIN(key_version) FROM upstream_secrets) \
     WHERE (SELECT COUNT(DISTINCT key_version) FROM upstream_secrets) = 1";

// See the first migration: `&SchemaManager` must keep its elided lifetime here.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PoolApiKeys::Table)
                    .add_column(big_integer(PoolApiKeys::KeyVersion).default(1i64))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(BACKFILL)
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HashingKeys::Table)
                    .col(big_integer(HashingKeys::Version).primary_key().to_owned())
                    .col(big_integer(HashingKeys::KeyVersion))
                    .col(blob(HashingKeys::Nonce))
                    .col(blob(HashingKeys::Ciphertext))
                    .col(big_integer(HashingKeys::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(HashingKeys::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PoolApiKeys::Table)
                    .drop_column(PoolApiKeys::KeyVersion)
                    .to_owned(),
            )
            .await
    }
}
