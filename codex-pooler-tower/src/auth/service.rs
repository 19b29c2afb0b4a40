//! [`Authenticate`]: the Pool API key gate in front of every pooled path.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use codex_pooler_core::body::PoolBody;
use codex_pooler_core::clock::Clock;
use codex_pooler_core::snapshot::SnapshotHandle;
use futures_util::future::{BoxFuture, FutureExt};
use http::{Request, Response};
use tower_service::Service;

use super::authenticate;
use crate::keys::KeyHasher;

/// Checks the request's Pool API key and puts its
/// [`PoolContext`](codex_pooler_core::request::PoolContext) in the request extensions for the
/// layers below; a missing, unknown, paused, revoked or expired key is answered here with its
/// error and goes no further (the shape of tower-http's `AsyncRequireAuthorization`).
#[derive(Debug, Clone)]
pub(crate) struct Authenticate<S> {
    inner: S,
    snapshot: SnapshotHandle,
    hasher: KeyHasher,
    clock: Arc<dyn Clock>,
}

impl<S> Authenticate<S> {
    /// Wraps `inner`.
    pub(crate) fn new(
        inner: S,
        snapshot: SnapshotHandle,
        hasher: KeyHasher,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner,
            snapshot,
            hasher,
            clock,
        }
    }
}

impl<S, B> Service<Request<B>> for Authenticate<S>
where
    S: Service<Request<B>, Response = Response<PoolBody>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response<PoolBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<PoolBody>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let snapshot = self.snapshot.load();
        match authenticate(request.headers(), &snapshot, &self.hasher, self.clock.now()) {
            Ok(ctx) => {
                request.extensions_mut().insert(ctx);
                self.inner.call(request).boxed()
            }
            Err(err) => {
                let response = err.to_response();
                async move { Ok(response) }.boxed()
            }
        }
    }
}
