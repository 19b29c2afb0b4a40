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
use codex_pooler_core::record::{RequestRecord, TokenUsage};
use http_body::{Body, Frame, SizeHint};

use super::{SseScanner, SseSignal};
use crate::records::RecordSink;

/// A request record waiting for its response body to finish.
#[derive(Debug)]
pub struct RecordDraft {
    /// The record so far; latency, usage and end are filled in when the body ends.
    pub record: RequestRecord,
    /// Where to send it.
    pub sink: Arc<dyn RecordSink>,
}

/// Data frames already waiting in the inner body are sent on together, up to this many bytes:
/// an upstream burst of small SSE events then costs one write instead of one per event.
const COALESCE_LIMIT: usize = 16 * 1024;

/// What the body learns from the stream as it passes.
struct Tap {
    scanner: Option<SseScanner>,
    account: Option<AccountId>,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
    usage: Option<TokenUsage>,
    completed: bool,
    failed: bool,
}

impl Tap {
    /// Feeds one data chunk to the SSE scanner and records what it says.
    fn observe(&mut self, data: &Bytes, pool: Option<codex_pooler_core::model::PoolId>) {
        let Some(scanner) = self.scanner.as_mut() else {
            return;
        };
        for signal in scanner.feed(data, self.clock.now()) {
            match signal {
                SseSignal::Completed(usage) => {
                    self.completed = true;
                    self.usage = usage;
                }
                SseSignal::Failed => self.failed = true,
                SseSignal::RateLimits(windows) => {
                    if let Some(account) = self.account {
                        self.live.quota.observe(
                            account,
                            EvidenceSource::StreamEvent,
                            &windows,
                            self.clock.now(),
                        );
                    }
                }
                SseSignal::Created(id) => {
                    // Later requests naming this id as previous_response_id must reach the
                    // account that holds it.
                    if let (Some(account), Some(pool)) = (self.account, pool) {
                        self.live.continuity.learn_response_id(
                            pool,
                            &id,
                            account,
                            self.clock.now(),
                        );
                    }
                }
            }
        }
    }

    /// How the stream ended, once the inner body is done.
    fn end(&self) -> &'static str {
        if self.scanner.is_none() || self.completed {
            "completed"
        } else if self.failed {
            "response_failed"
        } else {
            "incomplete"
        }
    }
}

pin_project_lite::pin_project! {
    /// Forwards the inner body's bytes unchanged (data frames already waiting are joined into
    /// one, so a burst of events is one write) while scanning SSE for usage and quota events;
    /// emits the request record exactly once, when the body ends, fails or is dropped.
    pub struct ObservedBody {
        #[pin]
        inner: PoolBody,
        tap: Tap,
        // What the inner body answered after the frames coalesced into the last one: sent next.
        held: Option<Option<Result<Frame<Bytes>, BoxError>>>,
        draft: Option<RecordDraft>,
        // The serving account's concurrency slot, released when the body ends.
        guard: Option<AttemptGuard>,
    }

    impl PinnedDrop for ObservedBody {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let end = if this.tap.completed { "completed" } else { "client_closed" };
            finish(this.draft, this.tap.clock.as_ref(), this.tap.usage, end);
        }
    }
}

impl std::fmt::Debug for ObservedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservedBody")
            .field("account", &self.tap.account)
            .field("sse", &self.tap.scanner.is_some())
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
            tap: Tap {
                scanner: sse.then(SseScanner::new),
                account,
                live,
                clock,
                usage: None,
                completed: false,
                failed: false,
            },
            held: None,
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
        let mut this = self.project();
        let pool = this.draft.as_ref().map(|d| d.record.pool);
        let polled = match this.held.take() {
            Some(held) => held,
            None => match this.inner.as_mut().poll_frame(cx) {
                Poll::Ready(polled) => polled,
                Poll::Pending => return Poll::Pending,
            },
        };
        match polled {
            Some(Ok(frame)) => {
                let first = match frame.into_data() {
                    Ok(data) => data,
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                };
                this.tap.observe(&first, pool);
                // Join the data frames that are ready now; stop at the first that is not.
                let mut joined: Option<bytes::BytesMut> = None;
                let mut size = first.len();
                while size < COALESCE_LIMIT {
                    match this.inner.as_mut().poll_frame(cx) {
                        Poll::Ready(Some(Ok(next))) if next.is_data() => {
                            if let Ok(data) = next.into_data() {
                                this.tap.observe(&data, pool);
                                size += data.len();
                                joined
                                    .get_or_insert_with(|| {
                                        let mut buf =
                                            bytes::BytesMut::with_capacity(COALESCE_LIMIT);
                                        buf.extend_from_slice(&first);
                                        buf
                                    })
                                    .extend_from_slice(&data);
                            }
                        }
                        Poll::Ready(other) => {
                            *this.held = Some(other);
                            break;
                        }
                        Poll::Pending => break,
                    }
                }
                let data = joined.map_or(first, bytes::BytesMut::freeze);
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Some(Err(err)) => {
                *this.guard = None;
                finish(
                    this.draft,
                    this.tap.clock.as_ref(),
                    this.tap.usage,
                    "upstream_error",
                );
                Poll::Ready(Some(Err(err)))
            }
            None => {
                *this.guard = None;
                let end = this.tap.end();
                finish(this.draft, this.tap.clock.as_ref(), this.tap.usage, end);
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        // Something held back is still to be sent (and the end still to be recorded).
        self.held.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn finish(
    draft: &mut Option<RecordDraft>,
    clock: &dyn Clock,
    usage: Option<TokenUsage>,
    end: &str,
) {
    if let Some(RecordDraft { mut record, sink }) = draft.take() {
        let elapsed = clock
            .now()
            .duration_since(record.received_at)
            .unwrap_or_default();
        record.latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        record.usage = usage;
        end.clone_into(&mut record.end);
        tracing::info!(
            pool = %record.pool,
            key = %record.key,
            account = record.account.map(|a| a.0),
            route = %record.route,
            model = record.model.as_deref().unwrap_or("-"),
            status = record.status,
            attempts = record.attempts,
            latency_ms = record.latency_ms,
            output_tokens = record.usage.map(|u| u.output_tokens),
            end = %record.end,
            "request finished"
        );
        sink.submit(record);
    }
}
