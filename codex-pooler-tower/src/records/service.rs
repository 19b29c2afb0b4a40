//! [`Record`]: one request record per pooled HTTP request.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use codex_pooler_core::body::{PoolBody, boxed};
use codex_pooler_core::clock::Clock;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::record::RequestRecord;
use codex_pooler_core::request::PoolContext;
use codex_pooler_core::route::Route;
use futures_util::future::{BoxFuture, FutureExt};
use http::header::CONTENT_TYPE;
use http::{Request, Response};
use tower_service::Service;

use super::refusal::Refusal;
use super::{RecordSink, close_record};
use crate::observe::{ObservedBody, RecordDraft};
use crate::pooler::ReceivedAt;
use crate::respond::Served;

/// Opens the request record (pool, key, route, arrival) and closes it exactly once:
///
/// - an answer the pipeline served (its response carries [`Served`]) is recorded with the
///   serving account, attempts and exclusions when its body ends, fails or is dropped
///   ([`ObservedBody`], which also learns from the stream);
/// - a refusal of a layer below (a [`Refusal`]) is recorded at once, with end `rejected`.
#[derive(Debug, Clone)]
pub(crate) struct Record<S> {
    inner: S,
    sink: Arc<dyn RecordSink>,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
}

impl<S> Record<S> {
    /// Wraps `inner`.
    pub(crate) fn new(
        inner: S,
        sink: Arc<dyn RecordSink>,
        live: Arc<LiveState>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner,
            sink,
            live,
            clock,
        }
    }
}

impl<S, B> Service<Request<B>> for Record<S>
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
        let extensions = request.extensions();
        let (Some(ctx), Some(route)) = (
            extensions.get::<PoolContext>().copied(),
            extensions.get::<Route>().copied(),
        ) else {
            // Nothing to record without a caller and a route; the layers above answered those.
            return self.inner.call(request).boxed();
        };
        let received_at = extensions
            .get::<ReceivedAt>()
            .map_or_else(|| self.clock.now(), |at| at.0);
        let record = RequestRecord::new(
            received_at,
            ctx.pool,
            ctx.key,
            route.class.as_str(),
            None,
            false,
        );
        let answered = self.inner.call(request);
        let closer = Closer {
            sink: Arc::clone(&self.sink),
            live: Arc::clone(&self.live),
            clock: Arc::clone(&self.clock),
        };
        async move {
            let response = answered.await?;
            Ok(closer.attach(record, response))
        }
        .boxed()
    }
}

/// What closing a record needs once the answer is known.
struct Closer {
    sink: Arc<dyn RecordSink>,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
}

impl Closer {
    fn attach(self, mut record: RequestRecord, response: Response<PoolBody>) -> Response<PoolBody> {
        let (mut parts, body) = response.into_parts();
        record.status = parts.status.as_u16();
        let Some(served) = parts.extensions.remove::<Served>() else {
            record.error_code = parts
                .extensions
                .get::<Refusal>()
                .map(|refusal| refusal.0.to_owned());
            close_record(record, "rejected", self.clock.now(), self.sink.as_ref());
            return Response::from_parts(parts, body);
        };
        let sse = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        record.model = served.model;
        record.stream = served.stream;
        record.account = served.account;
        record.attempts = served.attempts;
        record.error_code = served.error_code.map(str::to_owned);
        record.set_exclusions(&served.exclusions);
        let draft = RecordDraft {
            record,
            sink: self.sink,
        };
        let body = ObservedBody::new(
            body,
            sse,
            served.account,
            self.live,
            self.clock,
            draft,
            served.slot.take(),
        );
        Response::from_parts(parts, boxed(body))
    }
}
