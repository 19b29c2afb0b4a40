//! Busy accounts: waiting for a slot, the soft pin's own wait, and the bounds on both.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Response;
use tower_layer::Layer;

use super::*;
use crate::BoxError;
use crate::body::{PoolBody, full};
use crate::clock::{Clock, ManualClock};
use crate::continuity::{Pin, PinKind};
use crate::error::ErrorCode;
use crate::health::AttemptGuard;
use crate::live::LiveState;
use crate::model::{AccountId, Lifecycle};
use crate::plan::tests::{account, request};
use crate::plan::{PlannedRequest, Replanner, RoutePlan};
use crate::request::RouteClass;
use crate::request::UpstreamCall;

const MODEL: &str = "m";
/// An account and the statuses it answers next.
type Script = (i64, VecDeque<u16>);

/// Scripted as a status: a 429 with a `usage_limit_reached` body.
const USAGE_LIMITED: u16 = 1429;
const LIMIT: &str = r#"{"error":{"type":"usage_limit_reached","resets_at":5000}}"#;
const BUSY: &str = r#"{"error":{"message":"Too many requests","type":null,"code":null}}"#;

/// An upstream answering each account from a queue of statuses (200 once the queue is empty),
/// logging the accounts called.
#[derive(Clone, Default)]
struct Upstream {
    answers: Arc<Mutex<Vec<Script>>>,
    calls: Arc<Mutex<Vec<i64>>>,
}

impl Upstream {
    fn answering(account: i64, statuses: &[u16]) -> Self {
        let upstream = Self::default();
        upstream.then(account, statuses)
    }

    fn then(self, account: i64, statuses: &[u16]) -> Self {
        self.answers
            .lock()
            .unwrap()
            .push((account, statuses.iter().copied().collect()));
        self
    }

    fn calls(&self) -> Vec<i64> {
        self.calls.lock().unwrap().clone()
    }

    fn service(
        &self,
    ) -> tower::util::BoxCloneService<UpstreamCall, http::Response<PoolBody>, BoxError> {
        let this = self.clone();
        tower::util::BoxCloneService::new(tower::service_fn(move |call: UpstreamCall| {
            let this = this.clone();
            async move {
                let id = call.account.id.0;
                this.calls.lock().unwrap().push(id);
                let status = this
                    .answers
                    .lock()
                    .unwrap()
                    .iter_mut()
                    .find(|(a, _)| *a == id)
                    .and_then(|(_, q)| q.pop_front())
                    .unwrap_or(200);
                let (status, body) = match status {
                    200 => (200, "answer"),
                    USAGE_LIMITED => (429, LIMIT),
                    other => (other, BUSY),
                };
                Ok::<_, BoxError>(Response::builder().status(status).body(full(body)).unwrap())
            }
        }))
    }
}

/// A planned request and the planner handle its dispatcher gets, if any.
struct Planned {
    request: crate::request::PoolRequest,
    plan: RoutePlan,
    replan: Option<Replanner>,
    waits: crate::model::PoolWaits,
}

fn planned(ids: &[i64], pin: Option<PinKind>) -> Planned {
    Planned {
        request: request(Some(MODEL), None, 1),
        plan: RoutePlan {
            candidates: ids
                .iter()
                .map(|i| Arc::new(account(*i, Lifecycle::Active, &[MODEL])))
                .collect(),
            exclusions: vec![],
            strategy: "test",
            eligible: ids.len(),
            pin: pin.map(|kind| Pin {
                kind,
                account: AccountId(ids[0]),
            }),
            pin_skipped: None,
            soft_owner: None,
        },
        replan: None,
        waits: crate::model::PoolWaits::default(),
    }
}

struct Harness {
    live: Arc<LiveState>,
    clock: ManualClock,
    upstream: Upstream,
}

impl Harness {
    fn new(upstream: Upstream) -> Self {
        Self {
            live: Arc::new(LiveState::new()),
            clock: ManualClock::at_unix(1_000),
            upstream,
        }
    }

    /// Fills `account` up to the default concurrency limit (8), as other requests' streams.
    fn fill(&self, account: i64) -> Vec<AttemptGuard> {
        let limit = self.live.health.limit(AccountId(account));
        (0..limit)
            .map(|_| {
                self.live
                    .health
                    .begin(
                        AccountId(account),
                        MODEL,
                        RouteClass::Responses,
                        self.clock.now(),
                    )
                    .unwrap()
            })
            .collect()
    }

    fn spawn(&self, config: DispatchConfig, planned: Planned) -> tokio::task::JoinHandle<Outcome> {
        let clock: Arc<dyn Clock> = Arc::new(self.clock.clone());
        let mut layer = DispatchLayer::new(Arc::clone(&self.live), clock).with_config(config);
        if let Some(replanner) = planned.replan {
            layer = layer.with_replanner(replanner);
        }
        let mut svc = layer.layer(self.upstream.service());
        let planned = PlannedRequest {
            request: planned.request,
            plan: planned.plan,
            waits: planned.waits,
        };
        // Dispatch is always ready; its future is boxed and Send.
        let future = tower_service::Service::call(&mut svc, planned);
        tokio::spawn(async move { future.await.unwrap() })
    }
}

/// Lets spawned tasks run until they wait on something.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

fn served(outcome: &Outcome) -> Option<i64> {
    outcome.served_by.as_ref().map(|a| a.id.0)
}

#[tokio::test]
async fn an_account_at_its_learned_limit_is_passed_over_for_one_with_room() {
    let h = Harness::new(Upstream::default());
    let _on_1 = h.fill(1);
    let outcome = h
        .spawn(DispatchConfig::default(), planned(&[1, 2], None))
        .await
        .unwrap();
    assert_eq!(served(&outcome), Some(2));
    assert_eq!(h.upstream.calls(), [2]);
}

#[tokio::test]
async fn when_every_candidate_is_at_its_learned_limit_the_first_is_tried_over_it() {
    let h = Harness::new(Upstream::default());
    let _on_1 = h.fill(1);
    let _on_2 = h.fill(2);
    let outcome = h
        .spawn(DispatchConfig::default(), planned(&[1, 2], None))
        .await
        .unwrap();
    // The learned limit is an estimate: upstream took the ninth stream.
    assert_eq!(served(&outcome), Some(1));
    assert_eq!(h.upstream.calls(), [1]);
    assert_eq!(h.live.health.in_flight(AccountId(1)), 9);
}

#[tokio::test]
async fn a_wait_ends_at_busy_wait_and_upstreams_refusal_is_handed_on() {
    let h = Harness::new(Upstream::answering(1, &[429, 429]).then(2, &[429, 429]));
    let _on_1: Vec<_> = h.fill(1).into_iter().take(2).collect();
    let _on_2: Vec<_> = h.fill(2).into_iter().take(2).collect();
    let config = DispatchConfig {
        busy_wait: Duration::from_secs(5),
        pin_wait: Duration::ZERO,
    };
    let task = h.spawn(config, planned(&[1, 2], None));
    settle().await;
    h.clock.advance(Duration::from_secs(4));
    settle().await;
    assert!(!task.is_finished(), "it waits for a stream to end");
    h.clock.advance(Duration::from_secs(1));
    let outcome = task.await.unwrap();
    assert_eq!(outcome.response.status(), 429);
    assert_eq!(h.upstream.calls(), [1, 2]);
    assert_eq!(served(&outcome), Some(2));
}

#[tokio::test]
async fn a_pools_own_busy_wait_replaces_the_gateways() {
    let h = Harness::new(Upstream::answering(1, &[429, 429]).then(2, &[429, 429]));
    let _on_1: Vec<_> = h.fill(1).into_iter().take(2).collect();
    let _on_2: Vec<_> = h.fill(2).into_iter().take(2).collect();
    let config = DispatchConfig {
        busy_wait: Duration::from_secs(60),
        pin_wait: Duration::ZERO,
    };
    let mut short = planned(&[1, 2], None);
    short.waits.busy_wait_secs = Some(2);
    let task = h.spawn(config, short);
    settle().await;
    h.clock.advance(Duration::from_secs(1));
    settle().await;
    assert!(!task.is_finished(), "it waits for a stream to end");
    h.clock.advance(Duration::from_secs(1));
    let outcome = task.await.unwrap();
    assert_eq!(
        outcome.response.status(),
        429,
        "the pool's 2 s, not the 60 s"
    );
    assert_eq!(h.upstream.calls(), [1, 2]);

    // A pool wait of zero never waits, whatever the gateway's.
    let h = Harness::new(Upstream::answering(1, &[429]));
    let _on_1: Vec<_> = h.fill(1).into_iter().take(2).collect();
    let mut none = planned(&[1], None);
    none.waits.busy_wait_secs = Some(0);
    let outcome = h.spawn(config, none).await.unwrap();
    assert_eq!(outcome.response.status(), 429);
    assert_eq!(h.upstream.calls(), [1]);
}

#[tokio::test]
async fn without_a_wait_a_refusal_is_handed_on_at_once() {
    let h = Harness::new(Upstream::answering(1, &[429]));
    let _on_1: Vec<_> = h.fill(1).into_iter().take(2).collect();
    let outcome = h
        .spawn(DispatchConfig::no_wait(), planned(&[1], None))
        .await
        .unwrap();
    assert_eq!(outcome.response.status(), 429);
    assert_eq!(h.upstream.calls(), [1]);
}

#[tokio::test]
async fn a_codeless_429_beside_other_streams_waits_for_one_to_end_and_retries() {
    let h = Harness::new(Upstream::answering(1, &[429]).then(2, &[429]));
    let mut on_1: Vec<_> = h.fill(1).into_iter().take(3).collect();
    let _on_2: Vec<_> = h.fill(2).into_iter().take(3).collect();
    let task = h.spawn(DispatchConfig::default(), planned(&[1, 2], None));
    settle().await;
    // Both refused for concurrency; the request now waits for one of their streams to end.
    assert!(!task.is_finished());
    assert_eq!(h.upstream.calls(), [1, 2]);
    on_1.pop();
    let outcome = task.await.unwrap();
    assert_eq!(served(&outcome), Some(1));
    assert_eq!(h.upstream.calls(), [1, 2, 1]);
    let results: Vec<_> = outcome.attempts.iter().map(|a| a.result).collect();
    assert_eq!(
        results,
        [
            AttemptResult::Retried(429),
            AttemptResult::Retried(429),
            AttemptResult::Answered(200)
        ]
    );
}

#[tokio::test]
async fn a_codeless_429_with_nothing_in_flight_is_handed_on_without_waiting() {
    let h = Harness::new(Upstream::answering(1, &[429]).then(2, &[429]));
    let outcome = h
        .spawn(DispatchConfig::default(), planned(&[1, 2], None))
        .await
        .unwrap();
    assert_eq!(outcome.response.status(), 429);
    assert_eq!(h.upstream.calls(), [1, 2]);
    assert_eq!(served(&outcome), Some(2));
}

#[tokio::test]
async fn retries_after_waits_are_bounded() {
    // Upstream keeps refusing account 1 while its other stream runs; each end of a stream lets
    // the request try again, but never more than twice per candidate.
    let h = Harness::new(Upstream::answering(1, &[429, 429, 429, 429]));
    let guards: Vec<_> = h.fill(1).into_iter().take(4).collect();
    let task = h.spawn(DispatchConfig::default(), planned(&[1], None));
    let mut guards = guards.into_iter();
    settle().await;
    drop(guards.next());
    settle().await;
    drop(guards.next());
    settle().await;
    let outcome = task.await.unwrap();
    assert_eq!(h.upstream.calls(), [1, 1]);
    assert_eq!(outcome.response.status(), 429);
}

#[tokio::test]
async fn a_soft_pin_at_its_learned_limit_is_tried_over_it_rather_than_moved() {
    let h = Harness::new(Upstream::default());
    let _on_1 = h.fill(1);
    let outcome = h
        .spawn(
            DispatchConfig::default(),
            planned(&[1, 2], Some(PinKind::Session)),
        )
        .await
        .unwrap();
    assert_eq!(served(&outcome), Some(1));
    assert_eq!(h.upstream.calls(), [1]);
}

#[tokio::test]
async fn a_soft_pin_refused_past_pin_wait_moves_to_the_next_account() {
    let h = Harness::new(Upstream::answering(1, &[429]));
    let _on_1: Vec<_> = h.fill(1).into_iter().take(2).collect();
    let config = DispatchConfig {
        busy_wait: Duration::from_secs(30),
        pin_wait: Duration::from_secs(2),
    };
    let task = h.spawn(config, planned(&[1, 2], Some(PinKind::Session)));
    settle().await;
    assert!(!task.is_finished());
    h.clock.advance(Duration::from_secs(2));
    let outcome = task.await.unwrap();
    assert_eq!(served(&outcome), Some(2));
    assert_eq!(h.upstream.calls(), [1, 2]);
    let receipt = outcome.receipt.as_ref().unwrap();
    assert_eq!(receipt.waited, Duration::from_secs(2));
    assert!(
        receipt
            .header_value(&super::AccountHandles::new([0; 32]))
            .ends_with("; failover=429; waited=2000ms")
    );
}

#[tokio::test]
async fn a_soft_pin_refused_for_concurrency_waits_for_its_own_account() {
    let h = Harness::new(Upstream::answering(1, &[429]));
    let mut on_1: Vec<_> = h.fill(1).into_iter().take(2).collect();
    let task = h.spawn(
        DispatchConfig::default(),
        planned(&[1, 2], Some(PinKind::Session)),
    );
    settle().await;
    assert!(!task.is_finished());
    assert_eq!(h.upstream.calls(), [1]);
    on_1.pop();
    let outcome = task.await.unwrap();
    assert_eq!(served(&outcome), Some(1));
    assert_eq!(h.upstream.calls(), [1, 1]);
}

#[tokio::test]
async fn before_waiting_a_fresh_plan_may_offer_an_account_with_room() {
    let h = Harness::new(Upstream::answering(1, &[429]));
    let _on_1: Vec<_> = h.fill(1).into_iter().take(2).collect();
    let mut request = planned(&[1], None);
    let fresh = planned(&[1, 2], None).plan;
    let asked = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&asked);
    request.replan = Some(Replanner::from_fn(move |_| {
        *counter.lock().unwrap() += 1;
        Some(fresh.clone())
    }));
    let outcome = h.spawn(DispatchConfig::default(), request).await.unwrap();
    assert_eq!(served(&outcome), Some(2));
    assert_eq!(h.upstream.calls(), [1, 2]);
    assert_eq!(*asked.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_fresh_plan_with_nothing_new_leads_to_the_wait() {
    let h = Harness::new(Upstream::answering(1, &[429]));
    let mut on_1: Vec<_> = h.fill(1).into_iter().take(2).collect();
    let mut request = planned(&[1], None);
    let same = planned(&[1], None).plan;
    request.replan = Some(Replanner::from_fn(move |_| Some(same.clone())));
    let task = h.spawn(DispatchConfig::default(), request);
    settle().await;
    assert!(!task.is_finished());
    on_1.pop();
    let outcome = task.await.unwrap();
    assert_eq!(served(&outcome), Some(1));
    assert_eq!(h.upstream.calls(), [1, 1]);
}

#[tokio::test]
async fn an_unforeseen_usage_limit_is_planned_around_before_the_pool_is_called_dry() {
    let h = Harness::new(Upstream::answering(1, &[USAGE_LIMITED]));
    let mut request = planned(&[1], None);
    let fresh = planned(&[1, 2], None).plan;
    request.replan = Some(Replanner::from_fn(move |_| Some(fresh.clone())));
    let outcome = h.spawn(DispatchConfig::default(), request).await.unwrap();
    assert_eq!(served(&outcome), Some(2));
    assert_eq!(h.upstream.calls(), [1, 2]);
}

#[tokio::test]
async fn when_the_fresh_plan_is_limited_too_the_pool_answers_usage_limit_reached() {
    let h = Harness::new(Upstream::answering(1, &[USAGE_LIMITED]).then(2, &[USAGE_LIMITED]));
    let mut request = planned(&[1], None);
    let fresh = planned(&[1, 2], None).plan;
    request.replan = Some(Replanner::from_fn(move |_| Some(fresh.clone())));
    let outcome = h.spawn(DispatchConfig::default(), request).await.unwrap();
    assert_eq!(outcome.response.status(), 429);
    assert_eq!(
        outcome.error_code.map(ErrorCode::as_str),
        Some("usage_limit_reached")
    );
    assert_eq!(h.upstream.calls(), [1, 2]);
}

#[tokio::test]
async fn compaction_is_never_planned_onto_another_account() {
    let h = Harness::new(Upstream::answering(1, &[USAGE_LIMITED]));
    let mut request = planned(&[1], None);
    request.request.facts.compaction = true;
    let fresh = planned(&[2], None).plan;
    request.replan = Some(Replanner::from_fn(move |_| Some(fresh.clone())));
    let outcome = h.spawn(DispatchConfig::default(), request).await.unwrap();
    assert_eq!(outcome.response.status(), 429);
    assert_eq!(h.upstream.calls(), [1]);
}

#[tokio::test]
async fn a_websocket_open_refused_for_concurrency_waits_like_a_request() {
    // The websocket connector answers in the same shape: a code-less 429 while the account's
    // other stream runs, then a 101 once that stream ended.
    let h = Harness::new(Upstream::answering(1, &[429, 101]));
    let mut on_1: Vec<_> = h.fill(1).into_iter().take(1).collect();
    let task = h.spawn(DispatchConfig::default(), planned(&[1], None));
    settle().await;
    assert!(!task.is_finished(), "waits for the account's stream");
    assert_eq!(h.upstream.calls(), [1]);
    on_1.pop();
    let outcome = task.await.unwrap();
    assert_eq!(outcome.response.status(), 101);
    assert_eq!(served(&outcome), Some(1));
    assert!(outcome.guard.is_some());
    assert_eq!(h.upstream.calls(), [1, 1]);
}
