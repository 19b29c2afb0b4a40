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
use crate::request::{PlannedRequest, UpstreamCall};

/// Tries the planned candidates in order against the inner upstream service, waiting a bounded
/// time for busy accounts (see [`DispatchConfig`]).
#[derive(Debug, Clone)]
pub struct Dispatch<S> {
    inner: S,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
    config: DispatchConfig,
}

impl<S> Dispatch<S> {
    /// Wraps the upstream service `inner`, with the default [`DispatchConfig`].
    pub fn new(inner: S, live: Arc<LiveState>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            live,
            clock,
            config: DispatchConfig::default(),
        }
    }

    /// Uses `config` for busy accounts.
    #[must_use]
    pub fn with_config(mut self, config: DispatchConfig) -> Self {
        self.config = config;
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
            waited: Duration::ZERO,
        };
        Box::pin(async move { Ok(run.run(planned).await) })
    }
}
