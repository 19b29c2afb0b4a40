//! Routing questions: why an account is or is not routable, which account would serve the next
//! request, and how long each pool's quota lasts. Each answer comes from the running gateway's
//! planner and live state, and nothing is sent upstream.

use axum::Json;
use axum::extract::State;
use codex_pooler_core::model::AccountId;
use codex_pooler_core::plan::{AccountExplanation, DryRun, InspectError, RouteQuery};
use codex_pooler_core::quota::PoolRunway;
use codex_pooler_core::request::RouteClass;
use codex_pooler_core::store::PoolStore;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::accounts::visible;
use super::caller::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{PathParams, QueryParams};
use super::pools::scoped_pool;
use super::state::AdminState;

/// `?route_class=&model=&seed=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RouteParams {
    /// The route class (`responses`, `compact`, `file_create`, ...; default `responses`).
    pub route_class: Option<String>,
    /// The model, for model turns (default: `gpt-5.1-codex`).
    pub model: Option<String>,
    /// For the dry run: the seed that spreads requests without continuity keys (default 0).
    pub seed: Option<u64>,
}

impl RouteParams {
    fn query(&self, pool: codex_pooler_core::model::PoolId) -> Result<RouteQuery, ApiError> {
        let class = match self.route_class.as_deref() {
            None => RouteClass::Responses,
            Some(s) => s
                .parse::<RouteClass>()
                .map_err(|_| ApiError::Invalid(format!("unknown route_class {s:?}")))?,
        };
        let model = self.model.as_deref().unwrap_or("gpt-5.1-codex");
        Ok(RouteQuery::new(pool, class, Some(model)))
    }
}

/// The routes.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(explain_account))
        .routes(routes!(dry_run))
        .routes(routes!(runway))
}

/// Whether the account is routable in the pool now, with every reason it is not (the checks
/// the planner runs).
#[utoipa::path(
    get, path = "/pools/{pool}/accounts/{account}/routability", tag = "routing",
    params(
        ("pool" = String, Path, description = "The pool's slug"),
        ("account" = i64, Path, description = "The account's id"),
        RouteParams,
    ),
    responses(
        (status = 200, description = "Success", body = AccountExplanation),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn explain_account(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams((slug, account)): PathParams<(String, i64)>,
    QueryParams(params): QueryParams<RouteParams>,
) -> Result<Json<AccountExplanation>, ApiError> {
    let pool = scoped_pool(&state, &caller, &slug).await?;
    let config = state.store.load_state().await?;
    visible(&config, &caller, AccountId(account))?;
    let query = params.query(pool.id)?;
    state
        .pooler
        .explain_account(&query, AccountId(account))
        .map(Json)
        .map_err(inspect_error)
}

/// Which account would serve the next request of this pool and model, and why each other
/// account would not; nothing is sent or claimed.
#[utoipa::path(
    get, path = "/pools/{pool}/dry-run", tag = "routing",
    params(("pool" = String, Path, description = "The pool's slug"), RouteParams),
    responses(
        (status = 200, description = "Success", body = DryRun),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn dry_run(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(slug): PathParams<String>,
    QueryParams(params): QueryParams<RouteParams>,
) -> Result<Json<DryRun>, ApiError> {
    let pool = scoped_pool(&state, &caller, &slug).await?;
    let query = params.query(pool.id)?;
    state
        .pooler
        .dry_run(&query, params.seed.unwrap_or(0))
        .map(Json)
        .map_err(inspect_error)
}

/// Per quota window: the pool's recent spend rate, its headroom, and when it runs dry at that
/// rate.
#[utoipa::path(
    get, path = "/pools/{pool}/runway", tag = "routing",
    params(("pool" = String, Path, description = "The pool's slug")),
    responses(
        (status = 200, description = "Success", body = PoolRunway),
        (status = 400, description = "A malformed request: `invalid_request`", body = ErrorBody),
        (status = 401, description = "A missing, invalid, expired or revoked operator token", body = ErrorBody),
        (status = 404, description = "Not found, or not in the caller's pools: `not_found`", body = ErrorBody),
    ),
    security(("operator_token" = []))
)]
async fn runway(
    State(state): State<AdminState>,
    caller: Caller,
    PathParams(slug): PathParams<String>,
) -> Result<Json<PoolRunway>, ApiError> {
    let pool = scoped_pool(&state, &caller, &slug).await?;
    state
        .pooler
        .runway(pool.id)
        .map(Json)
        .map_err(inspect_error)
}

/// The gateway loads configuration changes within its reload interval: a pool or account
/// created a moment ago may not be in its snapshot yet.
fn inspect_error(err: InspectError) -> ApiError {
    ApiError::NotFound(format!("{err} in the running gateway yet"))
}
