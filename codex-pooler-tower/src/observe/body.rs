//! [`ObservedBody`]: a response body that reports on itself when it ends.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use codex_pooler_core::BoxError;
use codex_pooler_core::body::PoolBody;
use codex_pooler_core::clock::Clock;
use codex_pooler_core::health::AttemptGuard;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::AccountId;
use codex_pooler_core::quota::EvidenceSource;
use codex_pooler_core::record::{RecordEnd, RequestRecord, TokenUsage};
use http_body::{Body, Frame, SizeHint};

use super::{SseScanner, SseSignal};
use crate::records::{RecordSink, close_record};

/// A request record waiting for its response body to finish.
#[derive(Debug)]
pub struct RecordDraft {
    /// The record so far; latency, usage and end are filled in when the body ends.
    pub record: RequestRecord,
    /// Where to send it.
    pub sink: Arc<dyn RecordSink>,
}

pin_project_lite::pin_project! {
    /// Forwards every frame of the inner body untouched while scanning SSE for usage and quota
    /// events; emits the request record exactly once, when the body ends, fails or is dropped.
    pub struct ObservedBody {
        #[pin]
        inner: PoolBody,
        scanner: Option<SseScanner>,
        account: Option<AccountId>,
        live: Arc<LiveState>,
        clock: Arc<dyn Clock>,
        usage: Option<TokenUsage>,
        completed: bool,
        failed: bool,
        draft: Option<RecordDraft>,
        // The serving account's concurrency slot, released when the body ends.
        guard: Option<AttemptGuard>,
    }

    impl PinnedDrop for ObservedBody {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let end = if *this.completed {
                RecordEnd::Completed
            } else {
                RecordEnd::ClientClosed
            };
            finish(this.draft, this.clock.as_ref(), *this.usage, end);
        }
    }
}

impl std::fmt::Debug for ObservedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservedBody")
            .field("account", &self.account)
            .field("sse", &self.scanner.is_some())
            .finish_non_exhaustive()
    }
}

impl ObservedBody {
    /// Wraps `inner`. `sse` turns on event scanning; `account` is the account answering.
    pub fn new(
        inner: PoolBody,
        sse: bool,
        account: Option<AccountId>,
        live: Arc<LiveState>,
        clock: Arc<dyn Clock>,
        draft: RecordDraft,
        guard: Option<AttemptGuard>,
    ) -> Self {
        Self {
            inner,
            scanner: sse.then(SseScanner::new),
            account,
            live,
            clock,
            usage: None,
            completed: false,
            failed: false,
            draft: Some(draft),
            guard,
        }
    }
}

impl Body for ObservedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(scanner), Some(data)) = (this.scanner.as_mut(), frame.data_ref()) {
                    for signal in scanner.feed(data, this.clock.now()) {
                        match signal {
                            SseSignal::Completed(usage) => {
                                *this.completed = true;
                                *this.usage = usage;
                            }
                            SseSignal::Failed => *this.failed = true,
                            SseSignal::RateLimits(windows) => {
                                if let Some(account) = *this.account {
                                    this.live.observe_windows(
                                        account,
                                        EvidenceSource::StreamEvent,
                                        &windows,
                                        this.clock.now(),
                                    );
                                }
                            }
                            SseSignal::Created(id) => {
                                // Later requests naming this id as previous_response_id must
                                // reach the account that holds it.
                                let pool = this.draft.as_ref().map(|d| d.record.pool);
                                if let (Some(account), Some(pool)) = (*this.account, pool) {
                                    this.live.learn_response_id(
                                        pool,
                                        &id,
                                        account,
                                        this.clock.now(),
                                    );
                                }
                            }
                        }
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => {
                *this.guard = None;
                finish(
                    this.draft,
                    this.clock.as_ref(),
                    *this.usage,
                    RecordEnd::UpstreamError,
                );
            }
            Poll::Ready(None) => {
                *this.guard = None;
                let end = if this.scanner.is_none() || *this.completed {
                    RecordEnd::Completed
                } else if *this.failed {
                    RecordEnd::ResponseFailed
                } else {
                    RecordEnd::Incomplete
                };
                finish(this.draft, this.clock.as_ref(), *this.usage, end);
            }
            Poll::Pending => {}
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

fn finish(
    draft: &mut Option<RecordDraft>,
    clock: &dyn Clock,
    usage: Option<TokenUsage>,
    end: RecordEnd,
) {
    if let Some(RecordDraft { mut record, sink }) = draft.take() {
        record.usage = usage;
        close_record(record, end, clock.now(), sink.as_ref());
    }
}
#[cfg(test)]
mod tests {
    use codex_pooler_core::body::boxed;
    use codex_pooler_core::clock::SystemClock;
    use codex_pooler_core::model::{KeyId, PoolId};
    use codex_pooler_core::request::RouteClass;
    use http_body_util::{BodyExt, StreamBody};

    use super::*;
    use crate::testing::CollectingSink;

    fn record() -> RequestRecord {
        let mut record = RequestRecord::new(
            std::time::SystemTime::now(),
            PoolId(1),
            KeyId(1),
            RouteClass::Responses,
            None,
            true,
        );
        record.account = Some(AccountId(1));
        record.status = 200;
        record.attempts = 1;
        record
    }

    const EVENTS: [&str; 3] = [
        "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\"}}\n\n",
        "event: response.output_text.delta\ndata: {\"delta\":\"hi\"}\n\n",
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":2}}}\n\n",
    ];

    #[tokio::test]
    async fn passes_bytes_through_and_records_once() {
        let frames: Vec<Result<Frame<Bytes>, BoxError>> = EVENTS
            .iter()
            .map(|e| Ok(Frame::data(Bytes::from_static(e.as_bytes()))))
            .collect();
        let inner = boxed(StreamBody::new(futures_util::stream::iter(frames)));
        let sink = Arc::new(CollectingSink::new());
        let live = Arc::new(LiveState::new());
        let body = ObservedBody::new(
            inner,
            true,
            Some(AccountId(1)),
            Arc::clone(&live),
            Arc::new(SystemClock),
            RecordDraft {
                record: record(),
                sink: sink.clone(),
            },
            None,
        );
        // Byte for byte, frame by frame.
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(collected, EVENTS.concat().as_bytes());
        let records = sink.records();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].end, "completed");
        assert_eq!(records[0].usage.unwrap().output_tokens, 2);
        // The response id was learned for continuity.
        let keys = codex_pooler_core::live::ContinuityKeys {
            previous_response_id: Some("r1".into()),
            ..Default::default()
        };
        assert!(
            live.pin(PoolId(1), &keys, std::time::SystemTime::now())
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_broken_stream_is_recorded_as_such() {
        let frames: Vec<Result<Frame<Bytes>, BoxError>> = vec![
            Ok(Frame::data(Bytes::from_static(EVENTS[0].as_bytes()))),
            Err("connection reset".into()),
        ];
        let inner = boxed(StreamBody::new(futures_util::stream::iter(frames)));
        let sink = Arc::new(CollectingSink::new());
        let body = ObservedBody::new(
            inner,
            true,
            Some(AccountId(1)),
            Arc::new(LiveState::new()),
            Arc::new(SystemClock),
            RecordDraft {
                record: record(),
                sink: sink.clone(),
            },
            None,
        );
        let mut body = std::pin::pin!(body);
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, EVENTS[0].as_bytes());
        assert!(body.frame().await.unwrap().is_err());
        let records = sink.records();
        assert_eq!(records.len(), 1, "recorded exactly once");
        assert_eq!(records[0].end, "upstream_error");
    }
}
