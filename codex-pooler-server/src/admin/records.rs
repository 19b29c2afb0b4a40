//! `/records`, `/keys/{key}/usage`, `/pools/{pool}/usage` and `/accounts/{account}/quota`:
//! request records (metadata only), daily usage that outlives record retention, and quota
//! evidence from the running gateway.

use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use codex_pooler_core::model::{AccountId, KeyId};
use codex_pooler_core::quota::{AccountQuotaReport, ReportScope, live_quota_report};
use codex_pooler_core::request::RouteClass;
use codex_pooler_core::store::PoolStore;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::accounts::visible;
use super::audit_events::time_param;
use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{PathParams, QueryParams};
use super::keys::scoped_key;
use super::pools::scoped_pool;
use super::state::AdminState;
use crate::store::{
    PageRequest, PoolScope, RecordFilter, RecordRow, StatusFilter, UsageGrouping, UsageQuery,
    UsageReport, UtcDay,
};

/// A page of request records.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordPageView {
    /// Newest first: id, time, pool, key, account, route, model, status, attempts, latency,
    /// token usage, error code, exclusions; never a body.
    #[schema(value_type = Vec<Object>)]
    pub data: Vec<RecordRow>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// One request record.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordView {
    /// The record (see [`RecordPageView::data`]).
    #[schema(value_type = Object)]
    pub record: RecordRow,
}

/// Daily usage: one row per day (per key or per pool) and the total.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    /// `from`, `to` (`YYYY-MM-DD`), `rows` (day, pool, key, requests, errors, tokens) and
    /// `total`.
    #[schema(value_type = Object)]
    pub usage: UsageReport,
}

/// Quota evidence per window: used percent, reset time, source and age.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaReportView {
    /// One entry per account.
    #[schema(value_type = Vec<Object>)]
    pub accounts: Vec<AccountQuotaReport>,
}

/// Filters of `GET /records`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordParams {
    /// Only this pool (slug).
    pub pool: Option<String>,
    /// Only this key (id).
    pub key: Option<i64>,
    /// Only this account (id).
    pub account: Option<i64>,
    /// Only this model.
    pub model: Option<String>,
    /// An HTTP status (`429`) or a class (`4xx`).
    pub status: Option<String>,
    /// A route class (`responses`, `compact`, ...).
    pub route: Option<String>,
    /// RFC 3339: only records at or after.
    pub since: Option<String>,
    /// RFC 3339: only records before.
    pub until: Option<String>,
    /// Rows per page: 1-500, default 50.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `?days=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaysParam {
    /// How many days back, today included: 1-366, default 7.
    pub days: Option<i64>,
}

/// The routes.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(list_records))
        .routes(routes!(get_record))
        .routes(routes!(key_usage))
        .routes(routes!(pool_usage))
        .routes(routes!(account_quota))
}

/// Request records, newest first.
#[utoipa::path(
    get, path = "/records", tag = "records",
    params(RecordParams),
    responses(
        (status = 200, description = "Success", body = RecordPageView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn list_records(
    State(state): State<AdminState>,
    caller: Caller,
    QueryParams(p): QueryParams<RecordParams>,
) -> Result<Json<RecordPageView>, ApiError> {
    let pool = match &p.pool {
        Some(slug) => Some(scoped_pool(&state, &caller, slug).await?.id),
        None => None,
    };
    let filter = RecordFilter {
        scope: PoolScope::from(&caller.scope()),
        pool,
        key: p.key.map(KeyId),
        account: p.account.map(AccountId),
        model: p.model.clone(),
        status: p
            .status
            .as_deref()
            .map(str::parse::<StatusFilter>)
            .transpose()
            .map_err(|e| ApiError::Invalid(e.to_string()))?,
        route: p
            .route
            .as_deref()
            .map(|r| {
                r.parse::<RouteClass>()
                    .map_err(|_| ApiError::Invalid(format!("unknown route {r:?}")))
            })
            .transpose()?,
        since: time_param("since", p.since.as_deref())?,
        until: time_param("until", p.until.as_deref())?,
    };
    let page = PageRequest {
        limit: p.limit,
        cursor: p.cursor.clone(),
    };
    let found = state.store.records(&filter, &page).await?;
    Ok(Json(RecordPageView {
        data: found.records,
        next_cursor: found.next_cursor,
    }))
}

/// One request record.
#[utoipa::path(
    get, path = "/records/{record}", tag = "records",
    params(("record" = i64, Path, description = "The record's id")),
    responses(
        (status = 200, description = "Success", body = RecordView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn get_record(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
) -> Result<Json<RecordView>, ApiError> {
    state
        .store
        .record(id, &PoolScope::from(&caller.scope()))
        .await?
        .map(|record| Json(RecordView { record }))
        .ok_or_else(|| ApiError::NotFound(format!("record {id}")))
}

/// A key's requests, errors and tokens per day.
#[utoipa::path(
    get, path = "/keys/{key}/usage", tag = "records",
    params(("key" = i64, Path, description = "The key's id"), DaysParam),
    responses(
        (status = 200, description = "Success", body = UsageView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn key_usage(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
    QueryParams(days): QueryParams<DaysParam>,
) -> Result<Json<UsageView>, ApiError> {
    let config = state.store.load_state().await?;
    let key = scoped_key(&config, &caller, KeyId(id))?;
    usage(&state, &caller, &days, |q| {
        q.key = Some(key.id);
        q.grouping = UsageGrouping::Key;
    })
    .await
}

/// A pool's requests, errors and tokens per day.
#[utoipa::path(
    get, path = "/pools/{pool}/usage", tag = "records",
    params(("pool" = String, Path, description = "The pool's slug"), DaysParam),
    responses(
        (status = 200, description = "Success", body = UsageView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn pool_usage(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(slug): PathParams<String>,
    QueryParams(days): QueryParams<DaysParam>,
) -> Result<Json<UsageView>, ApiError> {
    let pool = scoped_pool(&state, &caller, &slug).await?;
    usage(&state, &caller, &days, |q| {
        q.pool = Some(pool.id);
        q.grouping = UsageGrouping::Pool;
    })
    .await
}

/// The account's quota evidence now, from the running gateway: each window's used percent,
/// reset time, source and age.
#[utoipa::path(
    get, path = "/accounts/{account}/quota", tag = "accounts",
    params(("account" = i64, Path, description = "The account's id")),
    responses(
        (status = 200, description = "Success", body = QuotaReportView),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn account_quota(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(id): PathParams<i64>,
) -> Result<Json<QuotaReportView>, ApiError> {
    let config = state.store.load_state().await?;
    let account = visible(&config, &caller, AccountId(id))?;
    let snapshot = state.pooler.snapshot().load();
    let accounts = live_quota_report(
        &snapshot,
        state.pooler.live(),
        ReportScope {
            pool: None,
            account: Some(account.id),
        },
        SystemTime::now(),
    );
    Ok(Json(QuotaReportView { accounts }))
}

async fn usage(
    state: &AdminState,
    caller: &Caller,
    days: &DaysParam,
    narrow: impl FnOnce(&mut UsageQuery),
) -> Result<Json<UsageView>, ApiError> {
    let days = days.days.unwrap_or(7);
    if !(1..=366).contains(&days) {
        return Err(ApiError::Invalid(
            "days must be between 1 and 366".to_owned(),
        ));
    }
    let to = UtcDay::today();
    let mut query = UsageQuery {
        scope: PoolScope::from(&caller.scope()),
        pool: None,
        key: None,
        from: to.minus(days - 1),
        to,
        grouping: UsageGrouping::Pool,
    };
    narrow(&mut query);
    Ok(Json(UsageView {
        usage: state.store.usage(&query).await?,
    }))
}
