//! [`MeteredBody`]: an answer's body, timed: first byte, end, and the request's time in flight.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use codex_pooler_core::BoxError;
use codex_pooler_core::body::PoolBody;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::labels::RouteLabels;
use super::{GatewayMetrics, OpenStream};

/// One request's measurements while it is in flight; recorded when it drops (the end of the
/// answer's body, or the request given up before its answer).
#[derive(Debug)]
pub(crate) struct Timing {
    metrics: Arc<GatewayMetrics>,
    route: &'static str,
    start: Instant,
    first_byte: bool,
    stream: Option<OpenStream>,
}

impl Timing {
    /// Counts a request in flight from `start`.
    pub(crate) fn start(metrics: Arc<GatewayMetrics>, route: &'static str, start: Instant) -> Self {
        metrics.in_flight.inc();
        Self {
            metrics,
            route,
            start,
            first_byte: false,
            stream: None,
        }
    }

    pub(crate) fn metrics(&self) -> &Arc<GatewayMetrics> {
        &self.metrics
    }

    pub(crate) fn route(&self) -> &'static str {
        self.route
    }

    /// Keeps `stream` counted as open until the body ends.
    pub(crate) fn hold(&mut self, stream: OpenStream) {
        self.stream = Some(stream);
    }

    fn first_byte(&mut self) {
        if !self.first_byte {
            self.first_byte = true;
            let elapsed = self.start.elapsed().as_secs_f64();
            self.metrics
                .ttfb
                .get_or_create(&RouteLabels::of(self.route))
                .observe(elapsed);
        }
    }
}

impl Drop for Timing {
    fn drop(&mut self) {
        // An answer without body bytes: its first byte is its end.
        self.first_byte();
        let elapsed = self.start.elapsed().as_secs_f64();
        self.metrics
            .latency
            .get_or_create(&RouteLabels::of(self.route))
            .observe(elapsed);
        self.metrics.in_flight.dec();
    }
}

pin_project! {
    /// The answer's body; the first data frame records the time to first byte, the end of the
    /// body (or its drop) the latency.
    #[derive(Debug)]
    pub(crate) struct MeteredBody {
        #[pin]
        inner: PoolBody,
        timing: Option<Timing>,
    }
}

impl MeteredBody {
    pub(crate) fn new(inner: PoolBody, timing: Timing) -> Self {
        Self {
            inner,
            timing: Some(timing),
        }
    }
}

impl Body for MeteredBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) if frame.is_data() => {
                if let Some(timing) = this.timing.as_mut() {
                    timing.first_byte();
                }
            }
            // The end (or a failure): the request is over.
            Poll::Ready(None | Some(Err(_))) => drop(this.timing.take()),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
