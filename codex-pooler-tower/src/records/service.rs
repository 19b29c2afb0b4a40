//! [`Record`]: one request record per pooled HTTP request.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use codex_pooler_core::body::{PoolBody, boxed};
use codex_pooler_core::clock::Clock;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::record::{RecordEnd, RequestRecord};
use codex_pooler_core::request::PoolContext;
use codex_pooler_core::request::Route;
use futures_util::future::{BoxFuture, FutureExt};
use http::header::CONTENT_TYPE;
use http::{Request, Response};
use tower_service::Service;

use super::DroppedParameters;
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
        let record = RequestRecord::new(received_at, ctx.pool, ctx.key, route.class, None, false);
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
        record.dropped_parameters = parts
            .extensions
            .remove::<DroppedParameters>()
            .and_then(|dropped| dropped.joined());
        let Some(served) = parts.extensions.remove::<Served>() else {
            record.error_code = parts.extensions.get::<Refusal>().map(|refusal| refusal.0);
            close_record(
                record,
                RecordEnd::Rejected,
                self.clock.now(),
                self.sink.as_ref(),
            );
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
        record.error_code = served.error_code;
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use codex_pooler_core::clock::ManualClock;
    use codex_pooler_core::error::{ErrorCode, PoolerError};
    use codex_pooler_core::model::{AccountId, KeyId, PoolId};
    use codex_pooler_core::request::Classified;
    use http::Method;
    use http_body_util::BodyExt;
    use tower::{ServiceExt, service_fn};

    use super::*;
    use crate::records::refuse;
    use crate::respond::SlotHold;

    #[derive(Debug, Default)]
    struct Collect(Mutex<Vec<RequestRecord>>);

    impl RecordSink for Collect {
        fn submit(&self, record: RequestRecord) {
            self.0.lock().unwrap().push(record);
        }
    }

    /// A pooled request through [`Record`] over `answer`; the records it sent.
    async fn record(answer: fn() -> Response<PoolBody>) -> (Response<PoolBody>, Arc<Collect>) {
        let sink = Arc::new(Collect::default());
        let inner = service_fn(move |_: Request<()>| async move { Ok::<_, Infallible>(answer()) });
        let Classified::Pooled(route) =
            Route::classify(&Method::POST, "/backend-api/codex/responses")
        else {
            panic!("responses is pooled");
        };
        let mut request = Request::new(());
        request.extensions_mut().insert(PoolContext {
            pool: PoolId(1),
            key: KeyId(2),
        });
        request.extensions_mut().insert(route);
        let clock = Arc::new(ManualClock::at_unix(1_000));
        request.extensions_mut().insert(ReceivedAt(clock.now()));
        let sink_dyn: Arc<dyn RecordSink> = sink.clone();
        let response = Record::new(inner, sink_dyn, Arc::new(LiveState::new()), clock)
            .oneshot(request)
            .await
            .unwrap();
        (response, sink)
    }

    #[tokio::test]
    async fn a_refusal_is_recorded_at_once() {
        let (response, sink) = record(|| refuse(&PoolerError::body_too_large(10))).await;
        assert_eq!(response.status().as_u16(), 413);
        let records = sink.0.lock().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].end, "rejected");
        assert_eq!(records[0].status, 413);
        assert_eq!(
            records[0].error_code.map(ErrorCode::as_str),
            Some("request_too_large")
        );
        assert_eq!((records[0].pool, records[0].key), (PoolId(1), KeyId(2)));
        assert_eq!(records[0].route, "responses");
        assert_eq!(records[0].model, None);
    }

    #[tokio::test]
    async fn a_served_answer_is_recorded_when_its_body_ends() {
        let (response, sink) = record(|| {
            let mut response = Response::new(codex_pooler_core::body::full("{}"));
            response.extensions_mut().insert(Served {
                model: Some("m".to_owned()),
                stream: false,
                account: Some(AccountId(3)),
                attempts: 2,
                error_code: None,
                exclusions: Arc::from(Vec::new()),
                slot: SlotHold::default(),
            });
            response
        })
        .await;
        assert!(
            sink.0.lock().unwrap().is_empty(),
            "open until the body ends"
        );
        response.into_body().collect().await.unwrap();
        let records = sink.0.lock().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].end, "completed");
        assert_eq!(records[0].model.as_deref(), Some("m"));
        assert_eq!(records[0].account, Some(AccountId(3)));
        assert_eq!(records[0].attempts, 2);
    }
}
