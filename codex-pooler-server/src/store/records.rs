//! Request records: batched appends (with their daily usage rollups) and the most recent rows.

use codex_pooler_core::model::{AccountId, KeyId, PoolId};
use codex_pooler_core::record::{RequestRecord, TokenUsage};
use codex_pooler_core::store::StoreError;
use sea_orm::{ActiveValue, DatabaseConnection, EntityTrait, QueryOrder, QuerySelect};

use super::convert::{bad, millis, signed, time, unsigned};
use super::entity::request_record;
use super::error::backend;
use super::txn::{begin_write, finish};
use super::usage;

/// Rows per `INSERT` statement, well under SQLite's and PostgreSQL's bound-parameter limits
/// (19 parameters a row).
const ROWS_PER_STATEMENT: usize = 500;

/// Appends `records` in one transaction (one multi-row `INSERT` per 500 records), adding their
/// counts to the daily usage rollups in the same transaction. Does not touch the configuration
/// version.
pub(crate) async fn insert(
    db: &DatabaseConnection,
    records: &[RequestRecord],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let rows = records.iter().map(to_row).collect::<Result<Vec<_>, _>>()?;
    let txn = begin_write(db).await?;
    let result = async {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            request_record::Entity::insert_many(chunk.iter().cloned())
                .exec_without_returning(&txn)
                .await
                .map_err(backend)?;
        }
        usage::add(&txn, records).await
    }
    .await;
    finish(txn, result).await
}

/// The newest `limit` records (by insertion order), newest first.
pub(crate) async fn recent(
    db: &DatabaseConnection,
    limit: usize,
) -> Result<Vec<RequestRecord>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    // Bound parameters are signed 64-bit on both backends.
    let limit = u64::try_from(limit)
        .unwrap_or(u64::MAX)
        .min(i64::MAX.unsigned_abs());
    request_record::Entity::find()
        .order_by_desc(request_record::Column::Id)
        .limit(limit)
        .all(db)
        .await
        .map_err(backend)?
        .into_iter()
        .map(from_row)
        .collect()
}

fn to_row(r: &RequestRecord) -> Result<request_record::ActiveModel, StoreError> {
    let tokens = |f: fn(&TokenUsage) -> u64, column: &str| {
        r.usage.as_ref().map(|u| signed(column, f(u))).transpose()
    };
    Ok(request_record::ActiveModel {
        id: ActiveValue::NotSet,
        received_at: ActiveValue::Set(millis(r.received_at)),
        pool_id: ActiveValue::Set(r.pool.0),
        key_id: ActiveValue::Set(r.key.0),
        account_id: ActiveValue::Set(r.account.map(|a| a.0)),
        route: ActiveValue::Set(r.route.as_str().to_owned()),
        model: ActiveValue::Set(r.model.clone()),
        stream: ActiveValue::Set(r.stream),
        status: ActiveValue::Set(i32::from(r.status)),
        attempts: ActiveValue::Set(i64::from(r.attempts)),
        latency_ms: ActiveValue::Set(signed("request_records.latency_ms", r.latency_ms)?),
        input_tokens: ActiveValue::Set(tokens(|u| u.input_tokens, "request_records.input_tokens")?),
        cached_input_tokens: ActiveValue::Set(tokens(
            |u| u.cached_input_tokens,
            "request_records.cached_input_tokens",
        )?),
        output_tokens: ActiveValue::Set(tokens(
            |u| u.output_tokens,
            "request_records.output_tokens",
        )?),
        reasoning_tokens: ActiveValue::Set(tokens(
            |u| u.reasoning_tokens,
            "request_records.reasoning_tokens",
        )?),
        total_tokens: ActiveValue::Set(tokens(|u| u.total_tokens, "request_records.total_tokens")?),
        error_code: ActiveValue::Set(r.error_code.map(|c| c.as_str().to_owned())),
        exclusions: ActiveValue::Set(r.exclusions.clone()),
        dropped_parameters: ActiveValue::Set(r.dropped_parameters.clone()),
        end: ActiveValue::Set(r.end.as_str().to_owned()),
    })
}

pub(crate) fn from_row(row: request_record::Model) -> Result<RequestRecord, StoreError> {
    let token = |column: &str, v: Option<i64>| -> Result<u64, StoreError> {
        v.map_or(Ok(0), |v| unsigned(column, v))
    };
    let reported = [
        row.input_tokens,
        row.cached_input_tokens,
        row.output_tokens,
        row.reasoning_tokens,
        row.total_tokens,
    ];
    // Written all together or not at all; a partly filled row reads missing counts as 0.
    let usage = if reported.iter().all(Option::is_none) {
        None
    } else {
        Some(TokenUsage {
            input_tokens: token("request_records.input_tokens", row.input_tokens)?,
            cached_input_tokens: token(
                "request_records.cached_input_tokens",
                row.cached_input_tokens,
            )?,
            output_tokens: token("request_records.output_tokens", row.output_tokens)?,
            reasoning_tokens: token("request_records.reasoning_tokens", row.reasoning_tokens)?,
            total_tokens: token("request_records.total_tokens", row.total_tokens)?,
        })
    };
    let route = row
        .route
        .parse()
        .map_err(|_| bad("request_records.route", &row.route, "is not a route class"))?;
    let mut record = RequestRecord::new(
        time("request_records.received_at", row.received_at)?,
        PoolId(row.pool_id),
        KeyId(row.key_id),
        route,
        row.model,
        row.stream,
    );
    record.account = row.account_id.map(AccountId);
    record.status = u16::try_from(row.status).map_err(|_| {
        bad(
            "request_records.status",
            row.status,
            "is not an HTTP status",
        )
    })?;
    record.attempts = unsigned("request_records.attempts", row.attempts)?;
    record.latency_ms = unsigned("request_records.latency_ms", row.latency_ms)?;
    record.usage = usage;
    record.error_code = row
        .error_code
        .map(|code| {
            code.parse()
                .map_err(|_| bad("request_records.error_code", &code, "is not an error code"))
        })
        .transpose()?;
    record.exclusions = row.exclusions;
    record.dropped_parameters = row.dropped_parameters;
    record.end = row
        .end
        .parse()
        .map_err(|_| bad("request_records.end", &row.end, "is not a record end"))?;
    Ok(record)
}
