//! [`PoolTag`]: the caller's pool, carried up in the answer's extensions for the metrics layer
//! above authentication.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use codex_pooler_core::model::PoolId;
use codex_pooler_core::request::PoolContext;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

/// The pool of the key that authenticated a request, in its response's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolTag(pub(crate) PoolId);

/// Puts [`PoolTag`] on the answers of authenticated requests; sits right below
/// `Authenticate`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PoolTagLayer;

impl<S> Layer<S> for PoolTagLayer {
    type Service = PoolTagService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PoolTagService { inner }
    }
}

/// See [`PoolTagLayer`].
#[derive(Debug, Clone)]
pub(crate) struct PoolTagService<S> {
    inner: S,
}

impl<S, ReqB, B> Service<Request<ReqB>> for PoolTagService<S>
where
    S: Service<Request<ReqB>, Response = Response<B>>,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = Tagging<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let pool = request
            .extensions()
            .get::<PoolContext>()
            .map(|ctx| ctx.pool);
        Tagging {
            inner: self.inner.call(request),
            pool,
        }
    }
}

pin_project! {
    /// The inner answer, tagged with the pool once it is ready.
    #[derive(Debug)]
    pub(crate) struct Tagging<F> {
        #[pin]
        inner: F,
        pool: Option<PoolId>,
    }
}

impl<F, B, E> Future for Tagging<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answered = ready!(this.inner.poll(cx));
        let pool = *this.pool;
        Poll::Ready(answered.map(|mut response| {
            if let Some(pool) = pool {
                response.extensions_mut().insert(PoolTag(pool));
            }
            response
        }))
    }
}
