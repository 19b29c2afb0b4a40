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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::clock::from_unix_seconds;
    use crate::model::{Lifecycle, PoolStatus};
    use crate::plan::tests::{account, snapshot};
    use crate::quota::UsageLimit;
    use crate::strategy::Rendezvous;

    #[test]
    fn a_plan_and_a_refusal_as_json() {
        let now = from_unix_seconds(1_000);
        let live = LiveState::new();
        let snap = snapshot(
            PoolStatus::Active,
            vec![
                account(1, Lifecycle::Disabled, &["m"]),
                account(2, Lifecycle::Active, &["m"]),
            ],
        );
        let planner = Planner::new(Arc::new(Rendezvous));
        let query = RouteQuery::new(PoolId(1), RouteClass::Responses, Some("m"));
        let dry = planner.dry_run(&snap, &live, &query, 7, now).unwrap();
        assert_eq!(
            serde_json::to_value(&dry).unwrap(),
            json!({
                "pool": 1, "route_class": "responses", "model": "m", "seed": 7,
                "strategy": "rendezvous", "chosen": 2, "candidates": [2], "eligible": 1,
                "excluded": [{"account": 1, "reason": "account_disabled", "lifecycle": "disabled"}],
                "rejection": null,
            })
        );
        live.observe_usage_limit(
            AccountId(2),
            UsageLimit {
                resets_at: Some(from_unix_seconds(1_600)),
            },
            now,
        );
        let dry = planner.dry_run(&snap, &live, &query, 7, now).unwrap();
        assert_eq!(dry.chosen, None);
        let rejection = serde_json::to_value(dry.rejection.as_ref().unwrap()).unwrap();
        assert_eq!(rejection["code"], "no_eligible_account");
        assert_eq!(rejection["status"], 503);
        assert_eq!(rejection["retry_after_seconds"], 600);
        assert_eq!(
            serde_json::to_value(&dry.excluded[1]).unwrap(),
            json!({"account": 2, "reason": "quota_exhausted", "until_ms": 1_600_000})
        );
    }

    #[test]
    fn an_unknown_pool_is_a_typed_error() {
        let live = LiveState::new();
        let snap = snapshot(PoolStatus::Active, vec![]);
        let planner = Planner::new(Arc::new(Rendezvous));
        let query = RouteQuery::new(PoolId(4), RouteClass::Responses, Some("m"));
        assert_eq!(
            planner.dry_run(&snap, &live, &query, 0, from_unix_seconds(1)),
            Err(InspectError::UnknownPool(PoolId(4)))
        );
    }
}
