//! [`Planner::dry_run`]: what the planner would do for the next request of a pool, changing
//! nothing.
//!
//! It plans a synthetic [`PoolRequest`] (the query's pool, route class and model, no continuity
//! keys, no body) with [`Planner::plan`] itself. Planning claims nothing: no concurrency slot,
//! no permit, no in-flight count, no continuity entry (those are taken by dispatch, after
//! planning). The one thing it writes is the planner's rank index of the pool and model, a cache
//! brought up to date with the live books; an index only ever answers the plan the
//! straightforward path would, so a dry run cannot change a later plan.
//!
//! Keyless requests are spread by a per-request random seed; the dry run takes the seed, so it
//! names the account a request with that seed is dispatched to (seed 0 unless told).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde::Serialize;

use super::explain::{ReasonReport, RouteQuery};
use super::{InspectError, Planner, RoutePlan};
use crate::error::{ErrorCode, PoolerError};
use crate::live::LiveState;
use crate::model::{AccountId, KeyId, PoolId, Snapshot};
use crate::request::{PoolContext, PoolRequest, RequestFacts, Route, RouteClass, RouteFamily};

/// One account the plan left out, with the reason and its details.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExcludedAccount {
    /// The account.
    pub account: AccountId,
    /// Why (the first failing check, as the request record would keep it).
    #[serde(flatten)]
    pub reason: ReasonReport,
}

/// The client error a request would get when nothing is eligible.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRunRejection {
    /// The stable error code (`no_eligible_account`, `usage_limit_reached`, `model_not_found`,
    /// `pool_disabled`, ...).
    pub code: ErrorCode,
    /// The HTTP status it is answered with.
    pub status: u16,
    /// The message the client reads.
    pub message: String,
    /// How long the client is told to wait, when known.
    pub retry_after_seconds: Option<u64>,
}

impl From<&PoolerError> for DryRunRejection {
    fn from(error: &PoolerError) -> Self {
        Self {
            code: error.code(),
            status: error.status().as_u16(),
            message: error.message().to_owned(),
            retry_after_seconds: error.retry_after().map(|d| Duration::as_secs(&d)),
        }
    }
}

/// What the planner would do for the next request of a [`RouteQuery`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRun {
    /// The pool.
    pub pool: PoolId,
    /// The route class.
    pub route_class: RouteClass,
    /// The model planned for (none for routes that are not model turns).
    pub model: Option<String>,
    /// The keyless request's seed the plan used.
    pub seed: u64,
    /// The pool's routing strategy.
    pub strategy: &'static str,
    /// The account the request would go to first; `None` when it would be refused.
    pub chosen: Option<AccountId>,
    /// The accounts it would try, in order (the attempt budget deep).
    pub candidates: Vec<AccountId>,
    /// How many accounts passed every check.
    pub eligible: usize,
    /// Every account left out, in pool order, with its reason.
    pub excluded: Vec<ExcludedAccount>,
    /// The refusal, when nothing can take the request.
    pub rejection: Option<DryRunRejection>,
}

impl Planner {
    /// Plans the next request of `query` (no continuity keys, random seed `seed`) at `now`
    /// without changing any state (see the module docs).
    ///
    /// # Errors
    ///
    /// [`InspectError::UnknownPool`] when the snapshot holds no such pool.
    pub fn dry_run(
        &self,
        snapshot: &Snapshot,
        live: &LiveState,
        query: &RouteQuery,
        seed: u64,
        now: SystemTime,
    ) -> Result<DryRun, InspectError> {
        let pool = snapshot
            .pool(query.pool)
            .ok_or(InspectError::UnknownPool(query.pool))?;
        let request = synthetic_request(query, seed, now);
        let model = query.planned_model();
        let mut dry = DryRun {
            pool: pool.id,
            route_class: query.route_class,
            model: model.map(str::to_owned),
            seed,
            strategy: self.strategy_for(pool).name(),
            chosen: None,
            candidates: Vec::new(),
            eligible: 0,
            excluded: Vec::new(),
            rejection: None,
        };
        let excluded = match self.plan(snapshot, live, &request, now) {
            Ok(RoutePlan {
                candidates,
                exclusions,
                strategy,
                eligible,
                ..
            }) => {
                dry.strategy = strategy;
                dry.candidates = candidates.iter().map(|a| a.id).collect();
                dry.chosen = dry.candidates.first().copied();
                dry.eligible = eligible;
                exclusions
            }
            Err(rejection) => {
                dry.rejection = Some(DryRunRejection::from(&rejection.error));
                rejection.exclusions
            }
        };
        let ids: Vec<AccountId> = excluded.iter().map(|(id, _)| *id).collect();
        let views = live.quota_views(&ids, now);
        dry.excluded = excluded
            .iter()
            .zip(&views)
            .map(|((account, exclusion), view)| ExcludedAccount {
                account: *account,
                reason: ReasonReport::of(exclusion, model, view),
            })
            .collect();
        Ok(dry)
    }
}

/// The request a dry run plans: the query's, with no key, keys, headers or body.
fn synthetic_request(query: &RouteQuery, seed: u64, now: SystemTime) -> PoolRequest {
    let facts = RequestFacts {
        model: query.model.clone(),
        stream: true,
        ..RequestFacts::default()
    };
    let route = Route {
        family: RouteFamily::CodexBackend,
        class: query.route_class,
    };
    let ctx = PoolContext {
        pool: query.pool,
        key: KeyId(0),
    };
    PoolRequest::new(ctx, route, facts, now)
        .with_method(Method::POST)
        .with_headers(HeaderMap::new())
        .with_body(Bytes::new())
        .with_seed(seed)
}
