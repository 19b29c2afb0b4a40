//! Property tests: a dry run names the account the next real request is handed to, and
//! [`explain_account`] says routable for exactly the accounts the planner counts eligible.
//!
//! Over random pools (lifecycles, model support, quota evidence with used percents, resets and
//! exhaustion, open circuits, busy accounts), every built-in strategy, route classes and models,
//! the real request goes through the [`Plan`](super::Plan) service to an inner service that
//! records the plan it was given.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt;
use proptest::prelude::*;
use tower_service::Service;

use super::tests::account;
use super::*;
use crate::clock::{Clock, ManualClock};
use crate::health::AttemptOutcome;
use crate::model::{Assignment, Lifecycle, Pool, SnapshotHandle};
use crate::quota::{EvidenceSource, QuotaWindow, UsageLimit, WindowSlot};
use crate::request::{PoolContext, RequestFacts, Route, RouteClass, RouteFamily};
use crate::store::StoreState;

const POOL: PoolId = PoolId(1);

/// What the inner service was handed.
#[derive(Debug, Clone, PartialEq)]
enum Handed {
    /// A plan, with its candidates.
    Planned(Vec<AccountId>),
    /// A refusal, with its error code.
    Refused(&'static str),
}

impl From<Rejection> for Handed {
    fn from(rejection: Rejection) -> Self {
        Self::Refused(rejection.error.code().as_str())
    }
}

/// Records the candidates of every planned request it is handed.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Vec<AccountId>>>>);

impl Service<PlannedRequest> for Recorder {
    type Response = Handed;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Handed, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, planned: PlannedRequest) -> Self::Future {
        let ids: Vec<AccountId> = planned.plan.candidates.iter().map(|a| a.id).collect();
        self.0.lock().unwrap().push(ids.clone());
        std::future::ready(Ok(Handed::Planned(ids)))
    }
}

/// One random account: lifecycle, whether it serves `m`, short and weekly used percent with a
/// reset in minutes, whether a `usage_limit_reached` holds it, whether its circuit is open, and
/// whether it is busy.
type AccountSpec = (usize, bool, f64, Option<u64>, f64, bool, bool, bool);

fn account_spec() -> impl Strategy<Value = AccountSpec> {
    (
        0..Lifecycle::ALL.len(),
        prop::bool::weighted(0.85),
        0.0..110.0f64,
        prop::option::of(1..300u64),
        0.0..110.0f64,
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.2),
    )
}

fn snapshot_of(
    accounts: Vec<crate::model::UpstreamAccount>,
    strategy: StrategyKind,
    active: bool,
) -> Snapshot {
    Snapshot::build(StoreState {
        version: 1,
        pools: vec![Pool {
            id: POOL,
            slug: "p".into(),
            status: if active {
                PoolStatus::Active
            } else {
                PoolStatus::Disabled
            },
            strategy: Some(strategy.as_str().to_owned()),
            v1_enabled: true,
            waits: Default::default(),
        }],
        assignments: accounts
            .iter()
            .map(|a| Assignment {
                pool: POOL,
                account: a.id,
            })
            .collect(),
        accounts,
        keys: vec![],
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn dry_run_matches_dispatch_and_explain_matches_eligibility(
        specs in prop::collection::vec(account_spec(), 1..10),
        strategy in 0..StrategyKind::ALL.len(),
        model in prop::sample::select(vec![Some("m"), Some("gone"), None]),
        class in prop::sample::select(vec![RouteClass::Responses, RouteClass::FileCreate]),
        seed in any::<u64>(),
        active in prop::bool::weighted(0.9),
    ) {
        let clock = ManualClock::at_unix(1_700_000_000);
        let now = clock.now();
        let secs = Duration::from_secs;
        let live = Arc::new(LiveState::new());
        let mut guards = Vec::new();
        let mut accounts = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let (lifecycle, serves, short, short_reset, weekly, limited, open, busy) = *spec;
            let id = AccountId(i as i64 + 1);
            let models: &[&str] = if serves { &["m"] } else { &["other"] };
            accounts.push(account(id.0, Lifecycle::ALL[lifecycle], models));
            let window = |slot, used_percent, minutes: u32, reset: Option<u64>| QuotaWindow {
                slot,
                used_percent,
                window_minutes: Some(minutes),
                resets_at: reset.map(|m| now + secs(m * 60)),
                observed_at: now,
            };
            live.observe_windows(
                id,
                EvidenceSource::ResponseHeaders,
                &[
                    window(WindowSlot::Primary, short, 300, short_reset),
                    window(WindowSlot::Secondary, weekly, 10_080, Some(5_000)),
                ],
                now,
            );
            if limited {
                live.observe_usage_limit(id, UsageLimit { resets_at: Some(now + secs(600)) }, now);
            }
            let model = model.unwrap_or_default();
            if open {
                for _ in 0..live.health.config().failure_threshold {
                    if let Ok(mut g) = live.begin_attempt_over_limit(id, model, class, now) {
                        g.record(AttemptOutcome::ServerError, now);
                    }
                }
            }
            if busy {
                for _ in 0..live.health.limit(id) {
                    if let Ok(g) = live.begin_attempt_over_limit(id, model, class, now) {
                        guards.push(g);
                    }
                }
            }
        }
        let kind = StrategyKind::ALL[strategy];
        let handle = SnapshotHandle::new(snapshot_of(accounts, kind, active));
        let snap = handle.load();
        let planner = Planner::new(StrategyKind::default().build());
        let query = RouteQuery::new(POOL, class, model);

        let before: Vec<AccountExplanation> = snap
            .pool_accounts(POOL)
            .iter()
            .map(|a| explain_account(&snap, &live, &query, a.id, now).unwrap())
            .collect();
        let dry = planner.dry_run(&snap, &live, &query, seed, now).unwrap();
        // A second dry run sees the same state.
        prop_assert_eq!(&planner.dry_run(&snap, &live, &query, seed, now).unwrap(), &dry);

        // The next real request, through the Plan service.
        let recorder = Recorder::default();
        let mut service = Plan::new(
            recorder.clone(),
            planner.clone(),
            handle.clone(),
            Arc::clone(&live),
            Arc::new(clock.clone()),
        );
        let request = PoolRequest::new(
            PoolContext { pool: POOL, key: crate::model::KeyId(5) },
            Route { family: RouteFamily::CodexBackend, class },
            RequestFacts { model: model.map(str::to_owned), stream: true, ..RequestFacts::default() },
            now,
        )
        .with_seed(seed);
        let handed = service.call(request.clone()).now_or_never().unwrap().unwrap();
        match &handed {
            Handed::Planned(ids) => {
                prop_assert_eq!(dry.chosen, ids.first().copied());
                prop_assert_eq!(&dry.candidates, ids);
                prop_assert!(dry.rejection.is_none());
            }
            Handed::Refused(code) => {
                prop_assert_eq!(dry.chosen, None);
                prop_assert_eq!(dry.rejection.as_ref().map(|r| r.code.as_str()), Some(*code));
            }
        }
        prop_assert_eq!(dry.strategy, kind.as_str());

        // Nothing the dry run did changes what a planner without its cache answers.
        let fresh = Planner::new(StrategyKind::default().build());
        let plan = fresh.plan(&snap, &live, &request, now);
        let eligible: BTreeSet<AccountId> = match &plan {
            Ok(p) => {
                let out: BTreeSet<AccountId> = p.exclusions.iter().map(|(id, _)| *id).collect();
                let eligible: BTreeSet<AccountId> = snap
                    .pool_accounts(POOL)
                    .iter()
                    .map(|a| a.id)
                    .filter(|id| !out.contains(id))
                    .collect();
                prop_assert_eq!(eligible.len(), p.eligible);
                prop_assert_eq!(p.eligible, dry.eligible);
                prop_assert_eq!(Handed::Planned(p.candidates.iter().map(|a| a.id).collect()), handed.clone());
                eligible
            }
            Err(r) => {
                prop_assert_eq!(Handed::Refused(r.error.code().as_str()), handed.clone());
                BTreeSet::new()
            }
        };
        let exclusions = match &plan {
            Ok(p) => p.exclusions.clone(),
            Err(r) => r.exclusions.clone(),
        };

        for explained in &before {
            prop_assert_eq!(explained.routable, eligible.contains(&explained.account), "{:?}", explained);
            prop_assert_eq!(explained.routable, explained.reasons.is_empty());
            // The planner's reason is the first of the account checks explain found.
            if let Some((_, e)) = exclusions.iter().find(|(id, _)| *id == explained.account) {
                let first = explained
                    .reasons
                    .iter()
                    .map(|r| r.reason)
                    .find(|r| !matches!(*r, "pool_disabled" | "model_required" | "account_not_in_pool"));
                prop_assert_eq!(first, Some(e.reason().as_str()));
                let listed: Vec<_> = dry.excluded.iter().filter(|x| x.account == explained.account).collect();
                prop_assert_eq!(listed.len(), 1);
                prop_assert_eq!(listed[0].reason.reason, e.reason().as_str());
            }
            // Planning claimed nothing.
            let after = explain_account(&snap, &live, &query, explained.account, now).unwrap();
            prop_assert_eq!(after.in_flight, explained.in_flight);
        }
        drop(guards);
    }
}
