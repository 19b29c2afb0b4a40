//! Request-record queries: filters, pool scope, newest-first pages with opaque cursors, and
//! single records by id.
//!
//! Pages are ordered by arrival time, newest first, ties broken by row id, and continue from a
//! keyset cursor (the last row's time and id), so records written while an operator pages
//! never shift a page: no row is shown twice and none already there is skipped. A cursor is
//! opaque (URL-safe base64); one that does not decode is [`RecordQueryError::BadCursor`].

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use codex_pooler_core::error::ErrorCode;
use codex_pooler_core::model::{AccountId, KeyId, PoolId};
use codex_pooler_core::record::{RecordEnd, RequestRecord, TokenUsage};
use codex_pooler_core::request::RouteClass;
use codex_pooler_core::store::StoreError;
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use super::convert::millis;
use super::entity::request_record;
use super::error::backend;
use super::records::from_row;
use super::scope::PoolScope;
use super::timestamp;

/// The page size when none is given.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page size.
pub const MAX_PAGE_SIZE: usize = 500;

/// A refused record query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordQueryError {
    /// The cursor is not one a previous page handed out.
    #[error("bad cursor: pass the next_cursor of a previous page unchanged")]
    BadCursor,
    /// The page size is 0 or above [`MAX_PAGE_SIZE`].
    #[error("page size {0} is out of range: use 1 to {MAX_PAGE_SIZE}")]
    BadPageSize(usize),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A status filter: one code (`429`) or a class (`4xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Exactly this status.
    Exact(u16),
    /// Any status from `N00` to `N99`.
    Class(u8),
}

impl StatusFilter {
    /// The inclusive status range matched.
    pub fn range(self) -> (u16, u16) {
        match self {
            Self::Exact(code) => (code, code),
            Self::Class(class) => (u16::from(class) * 100, u16::from(class) * 100 + 99),
        }
    }
}

/// A status filter that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad status {0:?}: use an HTTP status (429) or a class (1xx to 5xx)")]
pub struct BadStatus(pub String);

impl std::str::FromStr for StatusFilter {
    type Err = BadStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadStatus(s.to_owned());
        let b = s.as_bytes();
        if b.len() == 3 && b[1..].eq_ignore_ascii_case(b"xx") && (b'1'..=b'5').contains(&b[0]) {
            return Ok(Self::Class(b[0] - b'0'));
        }
        match s.parse::<u16>() {
            Ok(code) if (100..=599).contains(&code) && b.len() == 3 => Ok(Self::Exact(code)),
            _ => Err(bad()),
        }
    }
}

/// Which records a query returns; every field set narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// The pools the caller may see (an owner: all; a scoped operator: theirs).
    pub scope: PoolScope,
    /// One pool.
    pub pool: Option<PoolId>,
    /// One key.
    pub key: Option<KeyId>,
    /// One serving account.
    pub account: Option<AccountId>,
    /// One requested model.
    pub model: Option<String>,
    /// A status or status class.
    pub status: Option<StatusFilter>,
    /// One route class.
    pub route: Option<RouteClass>,
    /// Arrived at or after this time.
    pub since: Option<SystemTime>,
    /// Arrived before this time.
    pub until: Option<SystemTime>,
}

/// Which page: its size and where it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows per page ([`DEFAULT_PAGE_SIZE`] when `None`, at most [`MAX_PAGE_SIZE`]).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page; `None` for the first page.
    pub cursor: Option<String>,
}

/// A stored request record with its id: metadata only, like [`RequestRecord`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordRow {
    /// The record's id.
    pub id: i64,
    /// When the request arrived (RFC 3339, UTC, milliseconds).
    #[serde(serialize_with = "timestamp::serialize")]
    pub received_at: SystemTime,
    /// The key's pool.
    pub pool_id: PoolId,
    /// The Pool API key used.
    pub key_id: KeyId,
    /// The account that served the answer, if any.
    pub account_id: Option<AccountId>,
    /// The route class.
    pub route: RouteClass,
    /// The requested model.
    pub model: Option<String>,
    /// Whether the client asked for streaming.
    pub stream: bool,
    /// HTTP status sent to the client.
    pub status: u16,
    /// Upstream attempts made.
    pub attempts: u32,
    /// Arrival to the end of the response body, in milliseconds.
    pub latency_ms: u64,
    /// Token usage, when the upstream reported it.
    pub usage: Option<TokenUsage>,
    /// The pooler's error code, when it produced the error.
    pub error_code: Option<ErrorCode>,
    /// Exclusion reason codes with account ids.
    pub exclusions: Option<String>,
    /// The `/v1` parameters dropped, by name.
    pub dropped_parameters: Option<String>,
    /// How the response ended.
    pub end: RecordEnd,
}

impl RecordRow {
    fn new(id: i64, r: RequestRecord) -> Self {
        Self {
            id,
            received_at: r.received_at,
            pool_id: r.pool,
            key_id: r.key,
            account_id: r.account,
            route: r.route,
            model: r.model,
            stream: r.stream,
            status: r.status,
            attempts: r.attempts,
            latency_ms: r.latency_ms,
            usage: r.usage,
            error_code: r.error_code,
            exclusions: r.exclusions,
            dropped_parameters: r.dropped_parameters,
            end: r.end,
        }
    }
}

/// One page of records, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordPage {
    /// The records.
    pub records: Vec<RecordRow>,
    /// Pass this to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Where a page continues: after the row arrived at `at` (unix ms) with id `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    at: i64,
    id: i64,
}

impl Cursor {
    const VERSION: &'static str = "r1";

    fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}.{}.{}", Self::VERSION, self.at, self.id))
    }

    fn decode(s: &str) -> Result<Self, RecordQueryError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| RecordQueryError::BadCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| RecordQueryError::BadCursor)?;
        let mut parts = text.split('.');
        let (Some(Self::VERSION), Some(at), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(RecordQueryError::BadCursor);
        };
        let at = at.parse().map_err(|_| RecordQueryError::BadCursor)?;
        let id = id.parse().map_err(|_| RecordQueryError::BadCursor)?;
        Ok(Self { at, id })
    }
}

/// The condition `filter` puts on records.
fn condition(filter: &RecordFilter) -> Condition {
    use request_record::Column as C;
    let mut c = Condition::all();
    if let PoolScope::Pools(pools) = &filter.scope {
        c = c.add(C::PoolId.is_in(pools.iter().map(|p| p.0)));
    }
    if let Some(pool) = filter.pool {
        c = c.add(C::PoolId.eq(pool.0));
    }
    if let Some(key) = filter.key {
        c = c.add(C::KeyId.eq(key.0));
    }
    if let Some(account) = filter.account {
        c = c.add(C::AccountId.eq(account.0));
    }
    if let Some(model) = &filter.model {
        c = c.add(C::Model.eq(model.as_str()));
    }
    if let Some(status) = filter.status {
        let (low, high) = status.range();
        c = c.add(C::Status.between(i32::from(low), i32::from(high)));
    }
    if let Some(route) = filter.route {
        c = c.add(C::Route.eq(route.as_str()));
    }
    if let Some(since) = filter.since {
        c = c.add(C::ReceivedAt.gte(millis(since)));
    }
    if let Some(until) = filter.until {
        c = c.add(C::ReceivedAt.lt(millis(until)));
    }
    c
}

/// One page of the records `filter` matches, newest first.
pub(crate) async fn page(
    db: &DatabaseConnection,
    filter: &RecordFilter,
    page: &PageRequest,
) -> Result<RecordPage, RecordQueryError> {
    use request_record::Column as C;
    let limit = page.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(RecordQueryError::BadPageSize(limit));
    }
    let mut c = condition(filter);
    if let Some(cursor) = page.cursor.as_deref().map(Cursor::decode).transpose()? {
        c = c.add(
            Condition::any().add(C::ReceivedAt.lt(cursor.at)).add(
                Expr::col(C::ReceivedAt)
                    .eq(cursor.at)
                    .and(Expr::col(C::Id).lt(cursor.id)),
            ),
        );
    }
    // One more row than asked says whether another page follows.
    let fetch = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut rows = request_record::Entity::find()
        .filter(c)
        .order_by_desc(C::ReceivedAt)
        .order_by_desc(C::Id)
        .limit(fetch)
        .all(db)
        .await
        .map_err(backend)?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = rows.last().filter(|_| more).map(|last| {
        Cursor {
            at: last.received_at,
            id: last.id,
        }
        .encode()
    });
    let records = rows
        .into_iter()
        .map(|row| Ok(RecordRow::new(row.id, from_row(row)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(RecordPage {
        records,
        next_cursor,
    })
}

/// The record with id `id`, when it exists and its pool is in `scope`.
pub(crate) async fn by_id(
    db: &DatabaseConnection,
    id: i64,
    scope: &PoolScope,
) -> Result<Option<RecordRow>, StoreError> {
    let filter = RecordFilter {
        scope: scope.clone(),
        ..RecordFilter::default()
    };
    request_record::Entity::find_by_id(id)
        .filter(condition(&filter))
        .one(db)
        .await
        .map_err(backend)?
        .map(|row| Ok(RecordRow::new(row.id, from_row(row)?)))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = Cursor { at: -5, id: 42 };
        assert_eq!(Cursor::decode(&cursor.encode()).ok(), Some(cursor));
        for bad in ["", "!!", "cjEuMQ", &URL_SAFE_NO_PAD.encode("r2.1.2")] {
            assert!(
                matches!(Cursor::decode(bad), Err(RecordQueryError::BadCursor)),
                "{bad}"
            );
        }
    }

    #[test]
    fn statuses_parse() {
        assert_eq!("429".parse(), Ok(StatusFilter::Exact(429)));
        assert_eq!("4xx".parse(), Ok(StatusFilter::Class(4)));
        assert_eq!("5XX".parse(), Ok(StatusFilter::Class(5)));
        assert_eq!(StatusFilter::Class(4).range(), (400, 499));
        for bad in ["", "6xx", "42", "4290", "abc", "0xx", "+42"] {
            assert_eq!(bad.parse::<StatusFilter>(), Err(BadStatus(bad.to_owned())));
        }
    }
}
