//! [`Attempts`]: counts every upstream attempt, by account handle and outcome.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use codex_pooler_core::model::AccountId;
use codex_pooler_core::request::UpstreamCall;
use http::Response;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::GatewayMetrics;

/// Wraps the service that sends one attempt upstream (HTTP or websocket).
#[derive(Debug, Clone)]
pub(crate) struct AttemptsLayer {
    metrics: Arc<GatewayMetrics>,
}

impl AttemptsLayer {
    pub(crate) fn new(metrics: Arc<GatewayMetrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for AttemptsLayer {
    type Service = Attempts<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Attempts {
            inner,
            metrics: Arc::clone(&self.metrics),
        }
    }
}

/// See [`AttemptsLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Attempts<S> {
    inner: S,
    metrics: Arc<GatewayMetrics>,
}

impl<S, B> Service<UpstreamCall> for Attempts<S>
where
    S: Service<UpstreamCall, Response = Response<B>>,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = Counted<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, call: UpstreamCall) -> Self::Future {
        let account = call.account.id;
        Counted {
            inner: self.inner.call(call),
            account,
            metrics: Arc::clone(&self.metrics),
        }
    }
}

pin_project! {
    /// One attempt, counted when its answer's head (or its failure) arrives.
    #[derive(Debug)]
    pub(crate) struct Counted<F> {
        #[pin]
        inner: F,
        account: AccountId,
        metrics: Arc<GatewayMetrics>,
    }
}

impl<F, B, E> Future for Counted<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answered = ready!(this.inner.poll(cx));
        let status = answered.as_ref().ok().map(Response::status);
        this.metrics.count_attempt(*this.account, status);
        Poll::Ready(answered)
    }
}
