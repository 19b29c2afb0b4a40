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

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
    use sea_orm_migration::MigratorTrait;

    use crate::store::connect;
    use crate::store::migration::Migrator;

    /// A database at the schema before this migration, with one key and secrets sealed with
    /// `secret_versions`.
    async fn before(secret_versions: &[i64]) -> DatabaseConnection {
        let db = Database::connect(connect::options("sqlite::memory:").expect("options"))
            .await
            .expect("connect");
        Migrator::up(&db, Some(2)).await.expect("old schema");
        let mut sql = vec![
            "INSERT INTO pools (id, slug, status, created_at) VALUES (1, 'p', 'active', 0)"
                .to_owned(),
            "INSERT INTO upstream_accounts (id, label, chatgpt_account_id, lifecycle, models, \
             created_at, updated_at) VALUES (1, 'a', 'acct', 'active', '[]', 0, 0)"
                .to_owned(),
            "INSERT INTO pool_api_keys (id, pool_id, name, prefix, hash, status, created_at) \
             VALUES (1, 1, 'k', '0123456789ab', x'00', 'active', 0)"
                .to_owned(),
        ];
        let kinds = ["access_token", "refresh_token", "id_token"];
        for (i, version) in secret_versions.iter().enumerate() {
            sql.push(format!(
                "INSERT INTO upstream_secrets (account_id, kind, key_version, nonce, \
                 ciphertext, created_at) VALUES (1, '{}', {version}, x'00', x'00', 0)",
                kinds[i]
            ));
        }
        for statement in sql {
            db.execute_unprepared(&statement).await.expect("insert");
        }
        db
    }

    async fn key_version_after_migrating(db: &DatabaseConnection) -> i64 {
        Migrator::up(db, None).await.expect("migrate");
        db.query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT key_version FROM pool_api_keys WHERE id = 1",
        ))
        .await
        .expect("query")
        .expect("row")
        .try_get_by_index(0)
        .expect("key_version")
    }

    #[tokio::test]
    async fn existing_hashes_take_the_version_the_stored_secrets_agree_on() {
        let db = before(&[4, 4, 4]).await;
        assert_eq!(key_version_after_migrating(&db).await, 4);
        // New rows get the default until they name their own.
        db.execute_unprepared(
            "INSERT INTO pool_api_keys (pool_id, name, prefix, hash, status, created_at) \
             VALUES (1, 'k2', 'ba9876543210', x'00', 'active', 0)",
        )
        .await
        .expect("insert");
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT key_version FROM pool_api_keys WHERE prefix = 'ba9876543210'",
            ))
            .await
            .expect("query")
            .expect("row");
        assert_eq!(row.try_get_by_index::<i64>(0).expect("version"), 1);
        let tables = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT COUNT(*) FROM hashing_keys",
            ))
            .await
            .expect("hashing_keys exists");
        assert!(tables.is_some());
    }

    #[tokio::test]
    async fn without_one_agreed_version_existing_hashes_are_version_1() {
        assert_eq!(key_version_after_migrating(&before(&[]).await).await, 1);
        assert_eq!(key_version_after_migrating(&before(&[2, 3]).await).await, 1);
    }

    #[tokio::test]
    async fn down_and_up_again() {
        let db = before(&[2]).await;
        Migrator::up(&db, None).await.expect("up");
        Migrator::down(&db, Some(1)).await.expect("down");
        assert_eq!(key_version_after_migrating(&db).await, 2);
    }
}
