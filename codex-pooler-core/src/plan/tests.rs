use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use super::*;
use crate::clock::from_unix_seconds;
use crate::facts::RequestFacts;
use crate::model::{Assignment, KeyId, Lifecycle, Pool, PoolId};
use crate::quota::UsageLimit;
use crate::request::PoolContext;
use crate::route::{Route, RouteClass, RouteFamily};
use crate::store::StoreState;
use crate::strategy::Rendezvous;

pub(crate) fn account(id: i64, lifecycle: Lifecycle, models: &[&str]) -> UpstreamAccount {
    UpstreamAccount {
        id: AccountId(id),
        label: format!("a{id}"),
        chatgpt_account_id: format!("acc-{id}"),
        user_id: None,
        email: None,
        plan_type: None,
        base_url: None,
        lifecycle,
        models: models.iter().map(|m| (*m).to_owned()).collect(),
    }
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
        },
        method: Method::POST,
        headers: HeaderMap::new(),
        body: Bytes::from_static(b"{}"),
        seed,
        received_at: from_unix_seconds(1_000),
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
        .map(|(id, e)| (id.0, e.reason_code()))
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

    let only_paused = snapshot(
        PoolStatus::Active,
        vec![account(2, Lifecycle::Paused, &["m"])],
    );
    let err = planner()
        .plan(&only_paused, &live, &request(Some("m"), None, 1), now)
        .unwrap_err();
    assert_eq!(err.error.retry_after(), None);
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
