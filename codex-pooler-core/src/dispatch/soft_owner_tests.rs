//! A thread's soft owner, briefly unavailable, gets the thread back: Plan and Dispatch over
//! a scripted upstream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::Response;
use tower::ServiceExt;
use tower_layer::Layer;

use super::{DispatchConfig, DispatchLayer};
use crate::BoxError;
use crate::body::{PoolBody, full};
use crate::clock::{Clock, ManualClock, unix_seconds};
use crate::continuity::ContinuityKeys;
use crate::live::LiveState;
use crate::model::{AccountId, PoolId};
use crate::plan::tests::{five_accounts, pinned_request};
use crate::plan::{PlannedRequest, Planner, SOFT_OWNER_GRACE};
use crate::quota::UsageLimit;
use crate::request::UpstreamCall;
use crate::strategy::{Rendezvous, RoutingStrategy, StrategyKind};

/// Answers per account (200 by default); changed between turns.
type Script = Arc<Mutex<HashMap<i64, (u16, String)>>>;

struct Fleet {
    strategy: Arc<dyn RoutingStrategy>,
    live: Arc<LiveState>,
    clock: Arc<ManualClock>,
    script: Script,
    keys: ContinuityKeys,
}

impl Fleet {
    fn new() -> Self {
        Self::with(Arc::new(Rendezvous))
    }

    fn with(strategy: Arc<dyn RoutingStrategy>) -> Self {
        Self {
            strategy,
            live: Arc::new(LiveState::new()),
            clock: Arc::new(ManualClock::at_unix(1_000)),
            script: Script::default(),
            keys: ContinuityKeys {
                upstream_session: Some("derived-1".into()),
                ..ContinuityKeys::default()
            },
        }
    }

    /// One turn of the thread, planned and dispatched at the clock's now: who served it.
    async fn turn(&self, seed: u64) -> AccountId {
        let now = self.clock.now();
        let mut request = pinned_request(self.keys.clone(), seed);
        request.received_at = now;
        let plan = Planner::new(Arc::clone(&self.strategy))
            .plan(&five_accounts(), &self.live, &request, now)
            .unwrap();
        let script = Arc::clone(&self.script);
        let upstream = tower::service_fn(move |call: UpstreamCall| {
            let answer = script.lock().unwrap().get(&call.account.id.0).cloned();
            async move {
                let (status, body) = answer.unwrap_or((200, "ok".into()));
                Ok::<_, BoxError>(Response::builder().status(status).body(full(body)).unwrap())
            }
        });
        let upstream =
            tower::util::BoxCloneService::<_, Response<PoolBody>, BoxError>::new(upstream);
        let clock: Arc<dyn Clock> = self.clock.clone();
        let outcome = DispatchLayer::new(Arc::clone(&self.live), clock)
            .with_config(DispatchConfig::no_wait())
            .layer(upstream)
            .oneshot(PlannedRequest {
                request,
                plan,
                waits: Default::default(),
            })
            .await
            .unwrap();
        assert!(outcome.response.status().is_success());
        outcome.served_by.unwrap().id
    }

    /// The account the thread's soft key points at.
    fn owner(&self) -> AccountId {
        self.live
            .continuity
            .resolve(PoolId(1), &self.keys, self.clock.now())
            .unwrap()
            .account
    }

    fn exhaust(&self, account: AccountId, for_secs: u64) -> SystemTime {
        let now = self.clock.now();
        let resets_at = now + Duration::from_secs(for_secs);
        self.live.quota.observe_limit(
            account,
            UsageLimit {
                resets_at: Some(resets_at),
            },
            now,
        );
        resets_at
    }

    fn advance_past(&self, at: SystemTime) {
        let now = self.clock.now();
        self.clock
            .advance(at.duration_since(now).unwrap_or_default() + Duration::from_secs(1));
    }
}

#[tokio::test]
async fn a_briefly_exhausted_owner_gets_its_thread_back() {
    // Every strategy: the indexed planner (ranked ones) and the straightforward one.
    for kind in StrategyKind::ALL {
        briefly_exhausted(Fleet::with(kind.build())).await;
    }
}

async fn briefly_exhausted(fleet: Fleet) {
    let owner = fleet.turn(1).await;
    assert_eq!(fleet.owner(), owner);
    // A short cooldown: another account stands in, the thread stays the owner's.
    let resets = fleet.exhaust(owner, 300);
    let stand_in = fleet.turn(2).await;
    assert_ne!(stand_in, owner);
    assert_eq!(
        fleet.owner(),
        owner,
        "the soft pin survives a brief absence"
    );
    // Once eligible again, the owner serves the next turn.
    fleet.advance_past(resets);
    assert_eq!(fleet.turn(3).await, owner);
    assert_eq!(fleet.owner(), owner);
}

#[tokio::test]
async fn an_owner_out_for_longer_than_the_grace_loses_its_thread() {
    let fleet = Fleet::new();
    let owner = fleet.turn(1).await;
    let resets = fleet.exhaust(owner, SOFT_OWNER_GRACE.as_secs() + 60);
    let stand_in = fleet.turn(2).await;
    assert_ne!(stand_in, owner);
    assert_eq!(fleet.owner(), stand_in, "the thread moved for good");
    fleet.advance_past(resets);
    assert_eq!(fleet.turn(3).await, stand_in);
}

#[tokio::test]
async fn a_failover_from_a_followed_owner_moves_the_thread() {
    let fleet = Fleet::new();
    let owner = fleet.turn(1).await;
    // The owner's usage limit, met during the turn, resetting in two hours: the thread moves
    // with the account that served.
    let far = unix_seconds(fleet.clock.now()) + 7_200;
    let limit = format!(r#"{{"error":{{"type":"usage_limit_reached","resets_at":{far}}}}}"#);
    fleet.script.lock().unwrap().insert(owner.0, (429, limit));
    let moved = fleet.turn(4).await;
    assert_ne!(moved, owner);
    assert_eq!(fleet.owner(), moved);
}
