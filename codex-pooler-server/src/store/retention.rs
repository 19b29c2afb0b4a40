//! Retention: deleting rows older than a cutoff, in bounded batches.
//!
//! Generic over a table with an integer `id` primary key and a unix-millisecond time column
//! ([`RetentionTarget`]). Each batch is one short `DELETE ... WHERE id IN (SELECT id ...
//! LIMIT n)` statement in its own transaction, so a SQLite writer never holds the lock for
//! long and the gateway's record writer gets in between batches. Several replicas pruning one
//! PostgreSQL database at once are safe: on PostgreSQL a batch picks its rows `FOR UPDATE SKIP
//! LOCKED`, so replicas take disjoint batches and never wait on (or deadlock with) each other.
//!
//! Adding a table is one constant, for example audit events:
//! `RetentionTarget { table: "audit_events", time_column: "at_ms" }`.

use std::time::SystemTime;

use codex_pooler_core::store::StoreError;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use serde::Serialize;

use super::convert::millis;
use super::error::backend;

/// Rows deleted per statement by default.
pub const DEFAULT_BATCH: u64 = 1_000;

/// A table whose old rows retention deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionTarget {
    /// The table; it has an integer `id` primary key.
    pub table: &'static str,
    /// Its time column, in unix milliseconds.
    pub time_column: &'static str,
}

impl RetentionTarget {
    /// Request records, by arrival time. Their daily usage rollups are kept.
    pub const REQUEST_RECORDS: Self = Self {
        table: "request_records",
        time_column: "received_at",
    };
}

/// Deletes up to `batch` rows of `target` older than `before`; returns how many went.
pub(crate) async fn prune_batch(
    db: &DatabaseConnection,
    target: RetentionTarget,
    before: SystemTime,
    batch: u64,
) -> Result<u64, StoreError> {
    let table = Alias::new(target.table);
    let id = Alias::new("id");
    let mut oldest = Query::select()
        .column(id.clone())
        .from(table.clone())
        .and_where(Expr::col(Alias::new(target.time_column)).lt(millis(before)))
        .order_by(id.clone(), sea_orm::Order::Asc)
        .limit(batch)
        .to_owned();
    if db.get_database_backend() == DbBackend::Postgres {
        oldest.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let delete = Query::delete()
        .from_table(table)
        .and_where(Expr::col(id).in_subquery(oldest))
        .to_owned();
    let result = db.execute(&delete).await.map_err(backend)?;
    Ok(result.rows_affected())
}

/// Deletes every row of `target` older than `before`, `batch` rows per statement; returns how
/// many went.
pub(crate) async fn prune(
    db: &DatabaseConnection,
    target: RetentionTarget,
    before: SystemTime,
    batch: u64,
) -> Result<u64, StoreError> {
    let batch = Ord::max(batch, 1);
    let mut deleted = 0u64;
    loop {
        let n = prune_batch(db, target, before, batch).await?;
        deleted = deleted.saturating_add(n);
        // Stop at the first empty batch: a batch short of `batch` may only mean another
        // replica took some of its rows.
        if n == 0 {
            return Ok(deleted);
        }
        // Let other writers (the record writer, a CLI) take the lock between batches.
        tokio::task::yield_now().await;
    }
}
