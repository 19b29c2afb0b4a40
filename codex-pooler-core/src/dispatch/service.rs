//! [`Dispatch`]: the failover middleware.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tower_service::Service;

use super::run::Run;
use super::{DispatchConfig, Outcome};
use crate::BoxError;
use crate::body::PoolBody;
use crate::clock::Clock;
use crate::live::LiveState;
use crate::plan::{PlannedRequest, Replanner};
use crate::request::UpstreamCall;

/// Tries the planned candidates in order against the inner upstream service, waiting a bounded
/// time for busy accounts (see [`DispatchConfig`]).
#[derive(Debug, Clone)]
pub struct Dispatch<S> {
    inner: S,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
    config: DispatchConfig,
    replanner: Option<Replanner>,
}

impl<S> Dispatch<S> {
    /// Wraps the upstream service `inner`, with the default [`DispatchConfig`].
    pub fn new(inner: S, live: Arc<LiveState>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            live,
            clock,
            config: DispatchConfig::default(),
            replanner: None,
        }
    }

    /// Uses `config` for busy accounts.
    #[must_use]
    pub fn with_config(mut self, config: DispatchConfig) -> Self {
        self.config = config;
        self
    }

    /// Plans requests again with `replanner` before waiting for busy accounts (without one,
    /// a request tries its first plan's candidates only).
    #[must_use]
    pub fn with_replanner(mut self, replanner: Replanner) -> Self {
        self.replanner = Some(replanner);
        self
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

impl<S> Service<PlannedRequest> for Dispatch<S>
where
    S: Service<UpstreamCall, Response = http::Response<PoolBody>> + Clone + Send + 'static,
    S::Error: Into<BoxError> + Send,
    S::Future: Send,
{
    type Response = Outcome;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Outcome, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is per attempt: each one drives the upstream service's own readiness.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, planned: PlannedRequest) -> Self::Future {
        // A clone is not ready; the ready one stays here and the clone runs the attempts, each
        // of which polls readiness before calling.
        let clone = self.inner.clone();
        let run = Run {
            inner: std::mem::replace(&mut self.inner, clone),
            live: Arc::clone(&self.live),
            clock: Arc::clone(&self.clock),
            config: self.config,
            replanner: self.replanner.clone(),
            waited: Duration::ZERO,
        };
        Box::pin(async move { Ok(run.run(planned).await) })
    }
}
