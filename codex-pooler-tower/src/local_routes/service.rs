//! [`LocalRoutes`]: answers the gateway's own routes and lets pooled ones through.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use codex_pooler_core::body::PoolBody;
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::request::PoolContext;
use codex_pooler_core::route::Route;
use futures_util::future::{BoxFuture, FutureExt};
use http::{Request, Response};
use tower_service::Service;

use super::answer;
use crate::pooler::Shared;

/// Answers local routes (`/models`, `/wham/usage`, `/wham/accounts/check`, other helper routes)
/// for the authenticated key, and `unsupported_endpoint` for a request that names no pooled
/// [`Route`] (a `/v1` path the pooler does not serve). Everything else goes to the inner
/// service.
#[derive(Debug, Clone)]
pub(crate) struct LocalRoutes<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> LocalRoutes<S> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }
}

impl<S, B> Service<Request<B>> for LocalRoutes<S>
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

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let route = request.extensions().get::<Route>().copied();
        let ctx = request.extensions().get::<PoolContext>().copied();
        let response = match (route, ctx) {
            (Some(route), Some(ctx)) if route.class.is_local() => {
                answer::answer(&self.shared, ctx, route.class, request.headers())
            }
            (Some(_), Some(_)) => return self.inner.call(request).boxed(),
            (None, _) => PoolerError::unsupported_endpoint().to_response(),
            // Authentication runs above: a request without a key context never gets here.
            (Some(_), None) => PoolerError::invalid_api_key().to_response(),
        };
        async move { Ok(response) }.boxed()
    }
}
