//! [`Observe`]: the top of the pooled stack: counts each request, its time in flight, latency
//! and time to first byte, and its SSE stream.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use codex_pooler_core::body::{PoolBody, boxed};
use codex_pooler_core::request::Route;
use http::header::CONTENT_TYPE;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::body::{MeteredBody, Timing};
use super::labels::RouteLabels;
use super::pool_tag::PoolTag;
use super::{GatewayMetrics, StreamKind};

/// Measures every request the pooled stack answers; sits above `Authenticate`.
#[derive(Debug, Clone)]
pub(crate) struct ObserveLayer {
    metrics: Arc<GatewayMetrics>,
}

impl ObserveLayer {
    pub(crate) fn new(metrics: Arc<GatewayMetrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            metrics: Arc::clone(&self.metrics),
        }
    }
}

/// See [`ObserveLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Observe<S> {
    inner: S,
    metrics: Arc<GatewayMetrics>,
}

impl<S, ReqB> Service<Request<ReqB>> for Observe<S>
where
    S: Service<Request<ReqB>, Response = Response<PoolBody>>,
{
    type Response = Response<PoolBody>;
    type Error = S::Error;
    type Future = Observed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let route =
            GatewayMetrics::route_label(request.extensions().get::<Route>().map(|r| r.class));
        let timing = Timing::start(Arc::clone(&self.metrics), route, Instant::now());
        Observed {
            inner: self.inner.call(request),
            timing: Some(timing),
        }
    }
}

pin_project! {
    /// The answer, its body wrapped to measure it once its head is ready.
    #[derive(Debug)]
    pub(crate) struct Observed<F> {
        #[pin]
        inner: F,
        timing: Option<Timing>,
    }
}

impl<F, E> Future for Observed<F>
where
    F: Future<Output = Result<Response<PoolBody>, E>>,
{
    type Output = Result<Response<PoolBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answered = ready!(this.inner.poll(cx));
        let Some(timing) = this.timing.take() else {
            return Poll::Ready(answered);
        };
        Poll::Ready(answered.map(|response| attach(timing, response)))
    }
}

/// Counts the answered request and wraps its body to time it.
fn attach(mut timing: Timing, response: Response<PoolBody>) -> Response<PoolBody> {
    let (parts, body) = response.into_parts();
    let metrics = timing.metrics();
    let pool = parts.extensions.get::<PoolTag>().map(|tag| tag.0);
    metrics.count_request(timing.route(), parts.status, pool);
    let sse = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if sse {
        let open = metrics.open_stream(StreamKind::Sse);
        timing.hold(open);
    }
    Response::from_parts(parts, boxed(MeteredBody::new(body, timing)))
}

impl RouteLabels {
    pub(crate) fn of(route: &'static str) -> Self {
        Self { route }
    }
}
