//! Daily usage rollups: requests, errors and tokens per UTC day, pool, key and model.
//!
//! [`add`] runs inside the transaction that inserts a batch of records and adds the batch's
//! counts with one upsert per (day, pool, key, model), so the rollups always equal what the
//! records held, need no separate job, and stay when retention deletes the records. Replicas
//! writing at once add to the same rows safely: the upsert is atomic on both backends.

use std::collections::BTreeMap;

use codex_pooler_core::model::{KeyId, PoolId};
use codex_pooler_core::record::RequestRecord;
use codex_pooler_core::store::StoreError;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

use super::convert::{millis, signed, unsigned};
use super::entity::daily_usage;
use super::error::backend;
use super::scope::PoolScope;
use super::timestamp::UtcDay;

/// Rollup rows per `INSERT` statement (12 parameters a row).
const ROWS_PER_STATEMENT: usize = 500;

/// Counts over some requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UsageCounts {
    /// Requests.
    pub requests: u64,
    /// Requests answered with a status of 400 or more.
    pub errors: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Input tokens served from the prompt cache.
    pub cached_input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Output tokens spent on reasoning.
    pub reasoning_tokens: u64,
    /// Total tokens.
    pub total_tokens: u64,
}

impl UsageCounts {
    /// The counts of one record.
    pub fn of(record: &RequestRecord) -> Self {
        let usage = record.usage.unwrap_or_default();
        Self {
            requests: 1,
            errors: u64::from(record.status >= 400),
            input_tokens: usage.input_tokens,
            cached_input_tokens: usage.cached_input_tokens,
            output_tokens: usage.output_tokens,
            reasoning_tokens: usage.reasoning_tokens,
            total_tokens: usage.total_tokens,
        }
    }

    /// Adds `other` to these counts (saturating).
    pub fn add(&mut self, other: &Self) {
        self.requests = self.requests.saturating_add(other.requests);
        self.errors = self.errors.saturating_add(other.errors);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(other.cached_input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
    }
}

/// How usage rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageGrouping {
    /// One row per key per day.
    Key,
    /// One row per pool per day.
    Pool,
}

/// Which usage a query adds up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageQuery {
    /// The pools the caller may see.
    pub scope: PoolScope,
    /// One pool.
    pub pool: Option<PoolId>,
    /// One key.
    pub key: Option<KeyId>,
    /// The first day, inclusive.
    pub from: UtcDay,
    /// The last day, inclusive.
    pub to: UtcDay,
    /// Per key or per pool.
    pub grouping: UsageGrouping,
}

/// One day of one key's or one pool's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageRow {
    /// The UTC day (`YYYY-MM-DD`).
    pub day: UtcDay,
    /// The pool.
    pub pool_id: PoolId,
    /// The key; `None` in per-pool rows.
    pub key_id: Option<KeyId>,
    /// The counts.
    #[serde(flatten)]
    pub counts: UsageCounts,
}

/// Usage over a day range: rows oldest day first, and their total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageReport {
    /// The first day, inclusive.
    pub from: UtcDay,
    /// The last day, inclusive.
    pub to: UtcDay,
    /// Per key or per pool.
    pub grouping: UsageGrouping,
    /// The rows, by day, then pool, then key.
    pub rows: Vec<UsageRow>,
    /// The rows added up.
    pub total: UsageCounts,
}

/// (day, pool, key, model) of a rollup row.
type RollupKey = (i64, i64, i64, String);

/// Adds the counts of `records` to the rollups, inside the caller's transaction.
pub(crate) async fn add<C: ConnectionTrait>(
    txn: &C,
    records: &[RequestRecord],
) -> Result<(), StoreError> {
    // One row per conflict key: PostgreSQL refuses an upsert touching a row twice.
    let mut sums: BTreeMap<RollupKey, UsageCounts> = BTreeMap::new();
    for r in records {
        let key = (
            UtcDay::of_millis(millis(r.received_at)).0,
            r.pool.0,
            r.key.0,
            r.model.clone().unwrap_or_default(),
        );
        sums.entry(key).or_default().add(&UsageCounts::of(r));
    }
    let rows = sums
        .into_iter()
        .map(|(key, counts)| to_row(key, &counts))
        .collect::<Result<Vec<_>, _>>()?;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        daily_usage::Entity::insert_many(chunk.iter().cloned())
            .on_conflict(upsert())
            .exec_without_returning(txn)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

/// `ON CONFLICT (day, pool_id, key_id, model) DO UPDATE SET n = daily_usage.n + excluded.n`.
fn upsert() -> OnConflict {
    use daily_usage::Column as C;
    let mut on_conflict = OnConflict::columns([C::Day, C::PoolId, C::KeyId, C::Model]);
    for column in COUNT_COLUMNS {
        on_conflict.value(
            column,
            Expr::col((daily_usage::Entity, column))
                .add(Expr::col((Alias::new("excluded"), column))),
        );
    }
    on_conflict
}

/// The columns that hold counts.
const COUNT_COLUMNS: [daily_usage::Column; 7] = [
    daily_usage::Column::Requests,
    daily_usage::Column::Errors,
    daily_usage::Column::InputTokens,
    daily_usage::Column::CachedInputTokens,
    daily_usage::Column::OutputTokens,
    daily_usage::Column::ReasoningTokens,
    daily_usage::Column::TotalTokens,
];

fn to_row(
    (day, pool, key, model): RollupKey,
    c: &UsageCounts,
) -> Result<daily_usage::ActiveModel, StoreError> {
    let n = |column: &str, v: u64| signed(column, v).map(ActiveValue::Set);
    Ok(daily_usage::ActiveModel {
        id: ActiveValue::NotSet,
        day: ActiveValue::Set(day),
        pool_id: ActiveValue::Set(pool),
        key_id: ActiveValue::Set(key),
        model: ActiveValue::Set(model),
        requests: n("daily_usage.requests", c.requests)?,
        errors: n("daily_usage.errors", c.errors)?,
        input_tokens: n("daily_usage.input_tokens", c.input_tokens)?,
        cached_input_tokens: n("daily_usage.cached_input_tokens", c.cached_input_tokens)?,
        output_tokens: n("daily_usage.output_tokens", c.output_tokens)?,
        reasoning_tokens: n("daily_usage.reasoning_tokens", c.reasoning_tokens)?,
        total_tokens: n("daily_usage.total_tokens", c.total_tokens)?,
    })
}

/// A grouped row as the database returns it (sums cast back to 64-bit integers).
#[derive(Debug, FromQueryResult)]
struct Summed {
    day: i64,
    pool_id: i64,
    key_id: Option<i64>,
    requests: i64,
    errors: i64,
    input_tokens: i64,
    cached_input_tokens: i64,
    output_tokens: i64,
    reasoning_tokens: i64,
    total_tokens: i64,
}

/// The usage `query` asks for.
pub(crate) async fn report(
    db: &DatabaseConnection,
    query: &UsageQuery,
) -> Result<UsageReport, StoreError> {
    use daily_usage::Column as C;
    let mut c = Condition::all()
        .add(C::Day.gte(query.from.0))
        .add(C::Day.lte(query.to.0));
    if let PoolScope::Pools(pools) = &query.scope {
        c = c.add(C::PoolId.is_in(pools.iter().map(|p| p.0)));
    }
    if let Some(pool) = query.pool {
        c = c.add(C::PoolId.eq(pool.0));
    }
    if let Some(key) = query.key {
        c = c.add(C::KeyId.eq(key.0));
    }
    let mut select = daily_usage::Entity::find()
        .select_only()
        .column(C::Day)
        .column(C::PoolId)
        .filter(c)
        .group_by(C::Day)
        .group_by(C::PoolId)
        .order_by_asc(C::Day)
        .order_by_asc(C::PoolId);
    select = match query.grouping {
        UsageGrouping::Key => select
            .column(C::KeyId)
            .group_by(C::KeyId)
            .order_by_asc(C::KeyId),
        UsageGrouping::Pool => select.column_as(Expr::cust("CAST(NULL AS BIGINT)"), "key_id"),
    };
    for column in COUNT_COLUMNS {
        // PostgreSQL sums bigints as numeric: cast back so both backends read an i64.
        let name = sea_orm::IdenStatic::as_str(&column);
        select = select.column_as(Expr::cust(format!("CAST(SUM({name}) AS BIGINT)")), name);
    }
    let summed = select
        .into_model::<Summed>()
        .all(db)
        .await
        .map_err(backend)?;
    let mut total = UsageCounts::default();
    let mut rows = Vec::with_capacity(summed.len());
    for s in summed {
        let n = |column: &str, v: i64| unsigned::<u64>(column, v);
        let counts = UsageCounts {
            requests: n("daily_usage.requests", s.requests)?,
            errors: n("daily_usage.errors", s.errors)?,
            input_tokens: n("daily_usage.input_tokens", s.input_tokens)?,
            cached_input_tokens: n("daily_usage.cached_input_tokens", s.cached_input_tokens)?,
            output_tokens: n("daily_usage.output_tokens", s.output_tokens)?,
            reasoning_tokens: n("daily_usage.reasoning_tokens", s.reasoning_tokens)?,
            total_tokens: n("daily_usage.total_tokens", s.total_tokens)?,
        };
        total.add(&counts);
        rows.push(UsageRow {
            day: UtcDay(s.day),
            pool_id: PoolId(s.pool_id),
            key_id: s.key_id.map(KeyId),
            counts,
        });
    }
    Ok(UsageReport {
        from: query.from,
        to: query.to,
        grouping: query.grouping,
        rows,
        total,
    })
}
