//! SQL storage (sea-orm): SQLite by default, PostgreSQL for several replicas.
//!
//! [`SqlStore`] implements [`PoolStore`] on one schema for both backends. Times are kept as
//! unix milliseconds and unsigned counters as signed 64-bit integers, so the two behave the
//! same. Every configuration write bumps the single-row `config_version` in its own
//! transaction; record inserts do not. [`SqlStore::connect`] runs pending migrations.
//!
//! ```no_run
//! # async fn demo() -> Result<(), codex_pooler_core::store::StoreError> {
//! use codex_pooler_core::store::PoolStore;
//! use codex_pooler_server::store::SqlStore;
//!
//! let store = SqlStore::connect("sqlite://codex-pooler.db").await?;
//! let pool = store.create_pool("team-a").await?;
//! assert_eq!(store.pool_by_slug("team-a").await?, Some(pool));
//! # Ok(()) }
//! ```

mod accounts;
mod assignments;
mod audit;
mod connect;
mod convert;
mod entity;
mod error;
mod keys;
mod migration;
mod operator_tokens;
mod operators;
mod pool_store;
mod pools;
mod records;
mod sealed;
mod sqlite_file;
mod state;
mod txn;

use codex_pooler_core::store::StoreError;
use sea_orm::{Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

pub use operator_tokens::{NewOperatorToken, StoredOperatorToken};
pub use sealed::{ResealError, Resealed, ResealedSecret, SealedInventory, StoredSecret};

#[cfg(doc)]
use codex_pooler_core::store::PoolStore;

/// A [`PoolStore`] on SQLite or PostgreSQL.
///
/// Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct SqlStore {
    db: DatabaseConnection,
}

impl SqlStore {
    /// Connects to `url` and applies pending migrations.
    ///
    /// `url` is `sqlite://path/to/file.db` (the file is created when missing, unless the URL
    /// sets `mode=`; WAL and a busy timeout let several processes share it; the file and its
    /// WAL and SHM are readable by their owner only),
    /// `sqlite::memory:`, or `postgres://user:password@host/database`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the URL is not supported, the database cannot be reached or
    /// a migration fails.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = connect::options(url)?;
        let file = connect::sqlite_file(url);
        if let Some(file) = file.as_ref().filter(|f| f.created_if_missing) {
            sqlite_file::create_private(&file.path)?;
        }
        let db = Database::connect(options)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot connect to the database: {e}")))?;
        migration::Migrator::up(&db, None)
            .await
            .map_err(|e| StoreError::Backend(format!("database migration failed: {e}")))?;
        if let Some(file) = &file {
            sqlite_file::restrict(&file.path);
        }
        Ok(Self { db })
    }

    /// The underlying connection pool (for health checks and administrative queries).
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Checks that the database answers.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await.map_err(error::backend)
    }

    /// Closes the connection pool, waiting for connections in use to be returned.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when closing fails.
    pub async fn close(self) -> Result<(), StoreError> {
        self.db.close().await.map_err(error::backend)
    }
}
