use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use super::*;
use crate::clock::from_unix_seconds;
use crate::model::{Assignment, KeyId, Lifecycle, Pool, PoolId};
use crate::quota::UsageLimit;
use crate::request::PoolContext;
use crate::request::RequestFacts;
use crate::request::{Route, RouteClass, RouteFamily};
use crate::store::StoreState;
use crate::strategy::Rendezvous;

pub(crate) fn account(id: i64, lifecycle: Lifecycle, models: &[&str]) -> UpstreamAccount {
    UpstreamAccount::new(AccountId(id), format!("a{id}"))
        .with_lifecycle(lifecycle)
        .with_models(models.iter().copied())
}

pub(crate) fn snapshot(status: PoolStatus, accounts: Vec<UpstreamAccount>) -> Snapshot {
    let assignments = accounts
        .iter()
        .map(|a| Assignment {
            pool: PoolId(1),
            account: a.id,
        })
        .collect();
    Snapshot::build(StoreState {
        version: 1,
        pools: vec![Pool {
            id: PoolId(1),
            slug: "p".into(),
            status,
            strategy: None,
            v1_enabled: true,
            waits: Default::default(),
        }],
        accounts,
        assignments,
        keys: vec![],
    })
}

pub(crate) fn request(model: Option<&str>, continuity: Option<&str>, seed: u64) -> PoolRequest {
    PoolRequest {
        ctx: PoolContext {
            pool: PoolId(1),
            key: KeyId(9),
        },
        route: Route {
            family: RouteFamily::CodexBackend,
            class: RouteClass::Responses,
        },
        facts: RequestFacts {
            model: model.map(str::to_owned),
            stream: true,
            continuity_key: continuity.map(str::to_owned),
            ..RequestFacts::default()
        },
        method: Method::POST,
        headers: HeaderMap::new(),
        body: Bytes::from_static(b"{}"),
        seed,
        received_at: from_unix_seconds(1_000),
        file_id: None,
        context_endpoint: None,
    }
}

fn planner() -> Planner {
    Planner::new(Arc::new(Rendezvous))
}

#[test]
fn request_level_rejections() {
    let now = from_unix_seconds(1_000);
    let live = LiveState::new();
    let snap = snapshot(
        PoolStatus::Active,
        vec![account(1, Lifecycle::Active, &["m"])],
    );
    let err = planner()
        .plan(&snap, &live, &request(None, None, 1), now)
        .unwrap_err();
    assert_eq!(err.error.code(), "invalid_request");
    let err = planner()
        .plan(&snap, &live, &request(Some("other"), None, 1), now)
        .unwrap_err();
    assert_eq!(err.error.code(), "model_not_found");
    assert_eq!(err.error.status(), StatusCode::NOT_FOUND);
    let disabled = snapshot(
        PoolStatus::Disabled,
        vec![account(1, Lifecycle::Active, &["m"])],
    );
    let err = planner()
        .plan(&disabled, &live, &request(Some("m"), None, 1), now)
        .unwrap_err();
    assert_eq!(err.error.code(), "pool_disabled");
}

#[test]
fn excludes_ineligible_accounts_with_reasons() {
    let now = from_unix_seconds(1_000);
    let live = LiveState::new();
    live.quota.observe_limit(
        AccountId(3),
        UsageLimit {
            resets_at: Some(from_unix_seconds(5_000)),
        },
        now,
    );
    let snap = snapshot(
        PoolStatus::Active,
        vec![
            account(1, Lifecycle::Paused, &["m"]),
            account(2, Lifecycle::Active, &["other"]),
            account(3, Lifecycle::Active, &["m"]),
            account(4, Lifecycle::Active, &["m"]),
        ],
    );
    let plan = planner()
        .plan(&snap, &live, &request(Some("m"), None, 7), now)
        .unwrap();
    assert_eq!(
        plan.candidates.iter().map(|a| a.id.0).collect::<Vec<_>>(),
        [4]
    );
    let reasons: Vec<_> = plan
        .exclusions
        .iter()
        .map(|(id, e)| (id.0, e.reason().as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (1, "account_paused"),
            (2, "model_unsupported"),
            (3, "quota_exhausted")
        ]
    );
}

#[test]
fn exhausted_pool_answers_usage_limit_with_earliest_reset() {
    let now = from_unix_seconds(1_000);
    let live = LiveState::new();
    for (id, reset) in [(1, 9_000), (2, 4_000)] {
        live.quota.observe_limit(
            AccountId(id),
            UsageLimit {
                resets_at: Some(from_unix_seconds(reset)),
            },
            now,
        );
    }
    let snap = snapshot(
        PoolStatus::Active,
        vec![
            account(1, Lifecycle::Active, &["m"]),
            account(2, Lifecycle::Active, &["m"]),
            account(3, Lifecycle::Active, &["other"]),
        ],
    );
    let err = planner()
        .plan(&snap, &live, &request(Some("m"), None, 1), now)
        .unwrap_err();
    assert_eq!(err.error.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(err.error.body()["error"]["resets_at"], 4_000);
    assert_eq!(err.error.retry_after(), Some(Duration::from_secs(3_000)));
    assert_eq!(err.exclusions.len(), 3);
}

#[test]
fn mixed_reasons_answer_503_with_retry_after_when_known() {
    let now = from_unix_seconds(1_000);
    let live = LiveState::new();
    live.quota.observe_limit(
        AccountId(1),
        UsageLimit {
            resets_at: Some(from_unix_seconds(1_600)),
        },
        now,
    );
    let snap = snapshot(
        PoolStatus::Active,
        vec![
            account(1, Lifecycle::Active, &["m"]),
            account(2, Lifecycle::ReauthRequired, &["m"]),
        ],
    );
    let err = planner()
        .plan(&snap, &live, &request(Some("m"), None, 1), now)
        .unwrap_err();
    assert_eq!(err.error.code(), "no_eligible_account");
    assert_eq!(err.error.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(err.error.retry_after(), Some(Duration::from_secs(600)));
    assert!(err.error.body()["error"]["reason"].is_string());

    let only_paused = snapshot(
        PoolStatus::Active,
        vec![account(2, Lifecycle::Paused, &["m"])],
    );
    let err = planner()
        .plan(&only_paused, &live, &request(Some("m"), None, 1), now)
        .unwrap_err();
    assert_eq!(err.error.retry_after(), None);
    assert_eq!(err.error.body()["error"]["reason"], "account_paused");
}

#[test]
fn plan_is_deterministic_and_capped() {
    let now = from_unix_seconds(1_000);
    let live = LiveState::new();
    let snap = snapshot(
        PoolStatus::Active,
        (1..=6)
            .map(|i| account(i, Lifecycle::Active, &["m"]))
            .collect(),
    );
    let p = planner().with_max_attempts(2);
    let a = p
        .plan(
            &snap,
            &live,
            &request(Some("m"), Some("session-id:x"), 1),
            now,
        )
        .unwrap();
    let b = p
        .plan(
            &snap,
            &live,
            &request(Some("m"), Some("session-id:x"), 99),
            now,
        )
        .unwrap();
    assert_eq!(a.candidates.len(), 2);
    assert_eq!(
        a.candidates.iter().map(|c| c.id).collect::<Vec<_>>(),
        b.candidates.iter().map(|c| c.id).collect::<Vec<_>>()
    );
    assert_eq!(a.strategy, "rendezvous");
}

pub(crate) fn pinned_request(keys: crate::continuity::ContinuityKeys, seed: u64) -> PoolRequest {
    let mut r = request(Some("m"), None, seed);
    r.facts.continuity_key = keys.soft_key();
    r.facts.continuity = keys;
    r
}

pub(crate) fn five_accounts() -> Snapshot {
    snapshot(
        PoolStatus::Active,
        (1..=5)
            .map(|i| account(i, Lifecycle::Active, &["m"]))
            .collect(),
    )
}

#[test]
fn hard_pin_goes_to_its_owner_only() {
    let now = from_unix_seconds(1_000);
    let live = LiveState::new();
    live.continuity
        .learn_response_id(PoolId(1), "resp_a", AccountId(4), now);
    let keys = crate::continuity::ContinuityKeys {
        previous_response_id: Some("resp_a".into()),
        ..Default::default()
    };
    for seed in 0..20 {
        let plan = planner()
            .plan(
                &five_accounts(),
                &live,
                &pinned_request(keys.clone(), seed),
                now,
            )
            .unwrap();
        assert_eq!(
            plan.candidates.iter().map(|c| c.id.0).collect::<Vec<_>>(),
            [4]
        );
        assert_eq!(plan.pin.unwrap().kind.as_str(), "previous_response_id");
    }
}

#[test]
fn hard_pin_to_an_unavailable_owner_fails_with_recovery() {
    let now = from_unix_seconds(1_000);
    let live = LiveState::new();
    live.continuity
        .learn_turn_state(PoolId(1), "ts-1", AccountId(2), now);
    let keys = crate::continuity::ContinuityKeys {
        turn_state: Some("ts-1".into()),
        ..Default::default()
    };
    let paused = snapshot(
        PoolStatus::Active,
        vec![
            account(1, Lifecycle::Active, &["m"]),
            account(2, Lifecycle::Paused, &["m"]),
        ],
    );
    let err = planner()
        .plan(&paused, &live, &pinned_request(keys.clone(), 1), now)
        .unwrap_err();
    assert_eq!(err.error.code(), "pinned_account_unavailable");
    assert_eq!(err.error.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = err.error.body();
    assert_eq!(body["error"]["param"], "turn_state");
    assert_eq!(body["error"]["reason"], "account_paused");
    assert_eq!(body["error"]["recovery_kind"], "restart_with_full_context");
    assert_eq!(err.error.retry_after(), None);

    // Exhausted owner: the error carries the reset.
    live.quota.observe_limit(
        AccountId(2),
        UsageLimit {
            resets_at: Some(from_unix_seconds(1_300)),
        },
        now,
    );
    let exhausted = snapshot(
        PoolStatus::Active,
        vec![
            account(1, Lifecycle::Active, &["m"]),
            account(2, Lifecycle::Active, &["m"]),
        ],
    );
    let err = planner()
        .plan(&exhausted, &live, &pinned_request(keys, 1), now)
        .unwrap_err();
    assert_eq!(err.error.body()["error"]["reason"], "quota_exhausted");
    assert_eq!(err.error.retry_after(), Some(Duration::from_secs(300)));
}

#[test]
fn soft_pin_prefers_its_owner_and_moves_when_it_cannot_serve() {
    let now = from_unix_seconds(1_000);
    let live = LiveState::new();
    let keys = crate::continuity::ContinuityKeys {
        session: Some("session-id:t".into()),
        ..Default::default()
    };
    // Learn a pin that is not the strategy's own first choice.
    let natural = planner()
        .plan(
            &five_accounts(),
            &live,
            &pinned_request(keys.clone(), 1),
            now,
        )
        .unwrap()
        .candidates[0]
        .id;
    let owner = AccountId(if natural.0 == 5 { 1 } else { 5 });
    live.continuity.remember(PoolId(1), &keys, owner, now);
    let plan = planner()
        .plan(
            &five_accounts(),
            &live,
            &pinned_request(keys.clone(), 1),
            now,
        )
        .unwrap();
    assert_eq!(plan.candidates[0].id, owner);
    assert_eq!(
        plan.candidates.len(),
        DEFAULT_MAX_ATTEMPTS,
        "soft pins keep failover"
    );
    assert!(plan.pin.is_some());

    // Near its limit, the owner is no longer put first.
    live.quota.observe_windows(
        owner,
        &[crate::quota::QuotaWindow {
            slot: crate::quota::WindowSlot::Primary,
            used_percent: 99.0,
            window_minutes: Some(300),
            resets_at: Some(from_unix_seconds(9_000)),
            observed_at: now,
        }],
    );
    let plan = planner()
        .plan(&five_accounts(), &live, &pinned_request(keys, 1), now)
        .unwrap();
    assert_eq!(
        plan.pin_skipped.map(PinSkip::as_str),
        Some("pinned_account_near_limit")
    );
    assert_eq!(plan.candidates[0].id, natural);
}

#[test]
fn compaction_gets_a_single_attempt() {
    let now = from_unix_seconds(1_000);
    let live = LiveState::new();
    let mut r = request(Some("m"), None, 3);
    r.facts.compaction = true;
    let plan = planner().plan(&five_accounts(), &live, &r, now).unwrap();
    assert_eq!(plan.candidates.len(), 1);
    assert_eq!(plan.eligible, 5);
}

/// What [`reference_plan`] answers: candidate ids, exclusions with reasons, how many were
/// eligible, why a soft pin was skipped.
type ReferencePlan = (
    Vec<i64>,
    Vec<(i64, &'static str)>,
    usize,
    Option<&'static str>,
);

/// The planner as it was before it read each live book once and ordered per group: every check
/// per account, the full strategy order, then busy and demoted accounts moved last.
fn reference_plan(
    snapshot: &Snapshot,
    live: &LiveState,
    request: &PoolRequest,
    now: SystemTime,
) -> ReferencePlan {
    use crate::plan::eligibility::check_account;
    let accounts = snapshot.pool_accounts(PoolId(1));
    let model = request.facts.model.as_deref();
    let mut candidates = Vec::new();
    let mut exclusions = Vec::new();
    for account in accounts {
        match check_account(account, model, request.route.class, live, now) {
            Ok(()) => candidates.push(Candidate {
                quota: live.quota.view(account.id, now),
                in_flight: live.health.in_flight(account.id),
                last_success: live.last_success(account.id),
                ..Candidate::new(Arc::clone(account))
            }),
            Err(e) => exclusions.push((account.id.0, e.reason().as_str())),
        }
    }
    let input = StrategyInput {
        facts: &request.facts,
        pool: PoolId(1),
        key: request.ctx.key,
        seed: request.seed,
        now,
    };
    Rendezvous.order(&input, &mut candidates);
    candidates.sort_by_key(|c| {
        let busy = live.health.in_flight(c.account.id) >= live.health.limit(c.account.id);
        (busy, live.health.is_demoted(c.account.id, "m", now))
    });
    let mut skipped = None;
    let pin = live
        .continuity
        .resolve(PoolId(1), &request.facts.continuity, now);
    if let Some(pin) = pin {
        match candidates.iter().position(|c| c.account.id == pin.account) {
            Some(i) if candidates[i].quota.max_used_percent() < SOFT_PIN_MAX_USED_PERCENT => {
                candidates[..=i].rotate_right(1);
            }
            Some(_) => skipped = Some("pinned_account_near_limit"),
            None => skipped = Some("excluded"),
        }
    }
    let ids = candidates
        .iter()
        .take(DEFAULT_MAX_ATTEMPTS)
        .map(|c| c.account.id.0)
        .collect();
    (ids, exclusions, candidates.len(), skipped)
}

#[test]
fn grouped_planning_matches_the_full_order() {
    use crate::health::AttemptOutcome;
    let mix = |x: u64| {
        let x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        let x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    };

    let now = from_unix_seconds(1_000);
    let class = RouteClass::Responses;
    for seed in 0..300u64 {
        let live = LiveState::new();
        let mut guards = Vec::new();
        let accounts: Vec<UpstreamAccount> = (1..=14)
            .map(|i| {
                let state = mix(seed * 31 + i as u64) % 9;
                let lifecycle = if state == 8 {
                    Lifecycle::Paused
                } else {
                    Lifecycle::Active
                };
                account(i, lifecycle, &["m"])
            })
            .collect();
        for a in &accounts {
            let id = a.id;
            match mix(seed * 31 + id.0 as u64) % 9 {
                // Busy: every slot taken.
                1 => {
                    for _ in 0..live.health.limit(id) {
                        guards.push(live.health.begin_over_limit(id, "m", class, now).unwrap());
                    }
                }
                // Demoted by a 429 (which also lowers the limit).
                2 | 3 => {
                    let mut g = live.health.begin(id, "m", class, now).unwrap();
                    g.record(AttemptOutcome::RateLimited, now);
                    if mix(seed ^ id.0 as u64) % 2 == 0 {
                        for _ in 0..live.health.limit(id) {
                            guards.push(live.health.begin_over_limit(id, "m", class, now).unwrap());
                        }
                    }
                }
                // Exhausted.
                4 => live.quota.observe_limit(
                    id,
                    UsageLimit {
                        resets_at: Some(from_unix_seconds(5_000)),
                    },
                    now,
                ),
                // Circuit open.
                5 => {
                    for _ in 0..live.health.config().failure_threshold {
                        let mut g = live.health.begin(id, "m", class, now).unwrap();
                        g.record(AttemptOutcome::ServerError, now);
                    }
                }
                // Some quota used, sometimes past the soft pin's limit.
                6 | 7 => live.quota.observe_windows(
                    id,
                    &[crate::quota::QuotaWindow {
                        slot: crate::quota::WindowSlot::Primary,
                        used_percent: (mix(seed + id.0 as u64) % 100) as f64,
                        window_minutes: Some(300),
                        resets_at: Some(from_unix_seconds(9_000)),
                        observed_at: now,
                    }],
                ),
                _ => {}
            }
        }
        let snap = snapshot(PoolStatus::Active, accounts);
        let keys = crate::continuity::ContinuityKeys {
            session: Some(format!("session-id:{seed}")),
            ..Default::default()
        };
        if seed % 3 != 0 {
            let owner = AccountId(1 + (mix(seed) % 14) as i64);
            live.continuity.remember(PoolId(1), &keys, owner, now);
        }
        let request = pinned_request(keys, seed);
        let (ids, exclusions, eligible, skipped) = reference_plan(&snap, &live, &request, now);
        match planner().plan(&snap, &live, &request, now) {
            Ok(plan) => {
                let got: Vec<i64> = plan.candidates.iter().map(|a| a.id.0).collect();
                assert_eq!(got, ids, "seed {seed}");
                assert_eq!(plan.eligible, eligible, "seed {seed}");
                let got: Vec<_> = plan
                    .exclusions
                    .iter()
                    .map(|(id, e)| (id.0, e.reason().as_str()))
                    .collect();
                assert_eq!(got, exclusions, "seed {seed}");
                assert_eq!(
                    plan.pin_skipped.map(|s| s == "pinned_account_near_limit"),
                    skipped.map(|s| s == "pinned_account_near_limit"),
                    "seed {seed}"
                );
            }
            Err(_) => assert_eq!(eligible, 0, "seed {seed}"),
        }
        drop(guards);
    }
}

mod service {
    use std::convert::Infallible;

    use tower::ServiceExt;

    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::model::SnapshotHandle;
    use crate::plan::{Plan, PlannedRequest, Rejection};

    /// What the inner service answers: the planned candidates, or the rejection's code.
    #[derive(Debug, PartialEq)]
    enum Answer {
        Planned(Vec<i64>),
        Rejected(&'static str),
    }

    impl From<Rejection> for Answer {
        fn from(rejection: Rejection) -> Self {
            Self::Rejected(rejection.error.code().as_str())
        }
    }

    fn plan(
        status: PoolStatus,
    ) -> Plan<tower::util::BoxCloneService<PlannedRequest, Answer, Infallible>> {
        let inner = tower::util::BoxCloneService::new(tower::service_fn(
            |planned: PlannedRequest| async move {
                let ids = planned.plan.candidates.iter().map(|a| a.id.0).collect();
                Ok::<_, Infallible>(Answer::Planned(ids))
            },
        ));
        let snapshot = SnapshotHandle::new(snapshot(
            status,
            vec![account(1, Lifecycle::Active, &["m"])],
        ));
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::at_unix(1_000));
        Plan::new(
            inner,
            Planner::new(Arc::new(Rendezvous)),
            snapshot,
            Arc::new(LiveState::new()),
            clock,
        )
    }

    #[tokio::test]
    async fn plan_answers_rejections_in_the_inner_services_response_type() {
        let planned = plan(PoolStatus::Active)
            .oneshot(request(Some("m"), None, 1))
            .await
            .unwrap();
        assert_eq!(planned, Answer::Planned(vec![1]));
        let rejected = plan(PoolStatus::Disabled)
            .oneshot(request(Some("m"), None, 1))
            .await
            .unwrap();
        assert_eq!(rejected, Answer::Rejected("pool_disabled"));
    }
}
