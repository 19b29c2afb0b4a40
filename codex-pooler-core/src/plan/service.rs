//! [`Plan`]: the planning middleware.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower_service::Service;

use super::Planner;
use crate::clock::Clock;
use crate::dispatch::Outcome;
use crate::live::LiveState;
use crate::request::{PlannedRequest, PoolRequest, Replanner};
use crate::snapshot::SnapshotHandle;

/// Plans each [`PoolRequest`] and passes it on as a [`PlannedRequest`]; a request that cannot be
/// planned is answered here with its OpenAI-shaped error.
#[derive(Debug, Clone)]
pub struct Plan<S> {
    inner: S,
    planner: Planner,
    snapshot: SnapshotHandle,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
    /// The same planner, state and clock, handed to the dispatcher with each plan.
    replanner: Replanner,
}

impl<S> Plan<S> {
    /// Wraps `inner`.
    pub fn new(
        inner: S,
        planner: Planner,
        snapshot: SnapshotHandle,
        live: Arc<LiveState>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let replanner = {
            // A fresh plan reaches deeper than the first: its best accounts are usually the
            // ones just tried.
            let deeper = planner.max_attempts().saturating_mul(2);
            let planner = planner.clone().with_max_attempts(deeper);
            let snapshot = snapshot.clone();
            let (live, clock) = (Arc::clone(&live), Arc::clone(&clock));
            Replanner::new(move |request| {
                planner
                    .plan(&snapshot.load(), &live, request, clock.now())
                    .ok()
            })
        };
        Self {
            inner,
            planner,
            snapshot,
            live,
            clock,
            replanner,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<PoolRequest> for Plan<S>
where
    S: Service<PlannedRequest, Response = Outcome, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Outcome;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Outcome, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: PoolRequest) -> Self::Future {
        let snapshot = self.snapshot.load();
        let now = self.clock.now();
        match self.planner.plan(&snapshot, &self.live, &request, now) {
            Ok(plan) => Box::pin(self.inner.call(PlannedRequest {
                request,
                plan,
                replan: Some(self.replanner.clone()),
            })),
            Err(rejection) => {
                let outcome = Outcome::rejected(*rejection);
                Box::pin(std::future::ready(Ok(outcome)))
            }
        }
    }
}
