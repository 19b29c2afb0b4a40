//! [`Plan`]: the planning middleware.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower_service::Service;

use super::{PlannedRequest, Planner, Rejection};
use crate::clock::Clock;
use crate::live::LiveState;
use crate::model::SnapshotHandle;
use crate::request::PoolRequest;

/// Plans each [`PoolRequest`] and passes it on as a [`PlannedRequest`]; a request that cannot be
/// planned is answered here, with the inner service's response made from its [`Rejection`]
/// (for an [`Outcome`](crate::dispatch::Outcome), its OpenAI-shaped error).
#[derive(Debug, Clone)]
pub struct Plan<S> {
    inner: S,
    planner: Planner,
    snapshot: SnapshotHandle,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
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
        Self {
            inner,
            planner,
            snapshot,
            live,
            clock,
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
    S: Service<PlannedRequest, Error = Infallible>,
    S::Response: From<Rejection> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: PoolRequest) -> Self::Future {
        let snapshot = self.snapshot.load();
        let now = self.clock.now();
        match self.planner.plan(&snapshot, &self.live, &request, now) {
            Ok(plan) => {
                let waits = snapshot
                    .pool(request.ctx.pool)
                    .map(|p| p.waits)
                    .unwrap_or_default();
                Box::pin(self.inner.call(PlannedRequest {
                    request,
                    plan,
                    waits,
                }))
            }
            Err(rejection) => {
                let response = S::Response::from(*rejection);
                Box::pin(std::future::ready(Ok(response)))
            }
        }
    }
}
