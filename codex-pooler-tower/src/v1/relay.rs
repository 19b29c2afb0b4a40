//! Reading an upstream SSE body event by event, for both `/v1` dialects.
//!
//! [`relay`] turns the upstream body into the client's streamed body through a
//! [`Translator`]; [`each_event`] reads a whole body for a collector. Both read upstream to
//! its end, past the terminal event, so the record layer below sees the stream finish.

use bytes::{Bytes, BytesMut};
use codex_pooler_core::BoxError;
use codex_pooler_core::body::PoolBody;
use codex_pooler_core::error::PoolerError;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use serde_json::Value;

use super::sse_blocks::SseBlocks;

/// What one dialect sends a streaming client.
pub(super) trait Translator: Send + 'static {
    /// The client's bytes for one upstream event (nothing once the turn ended).
    fn event(&mut self, event: Value, out: &mut BytesMut);
    /// The client's last bytes when upstream ended, cleanly or not (a synthetic error when
    /// the turn never reached its terminal event).
    fn end(&mut self, out: &mut BytesMut);
}

/// What the streaming relay holds between frames.
struct Relay<T> {
    body: PoolBody,
    blocks: SseBlocks,
    translator: T,
    done: bool,
}

impl<T: Translator> Relay<T> {
    fn forward(&mut self, events: Vec<Value>, out: &mut BytesMut) {
        for event in events {
            self.translator.event(event, out);
        }
    }

    /// The end of the stream: a last unterminated block, then the translator's ending.
    fn end(&mut self, out: &mut BytesMut) {
        self.done = true;
        if let Some(event) = self.blocks.finish() {
            self.forward(vec![event], out);
        }
        self.translator.end(out);
    }
}

/// The client's streamed body: each upstream event through `translator`, in order.
pub(super) fn relay<T: Translator>(body: PoolBody, translator: T) -> PoolBody {
    let relay = Relay {
        body,
        blocks: SseBlocks::new(),
        translator,
        done: false,
    };
    let frames = futures_util::stream::unfold(relay, |mut relay| async move {
        let mut out = BytesMut::new();
        while !relay.done && out.is_empty() {
            match relay.body.frame().await {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    match relay.blocks.feed(&data) {
                        Ok(events) => relay.forward(events, &mut out),
                        // A broken framing ends the turn like a cut stream.
                        Err(_) => relay.end(&mut out),
                    }
                }
                // Upstream broke or ended: close the turn for the client.
                Some(Err(_)) | None => relay.end(&mut out),
            }
        }
        if out.is_empty() {
            return None;
        }
        Some((Ok::<_, BoxError>(Frame::data(out.freeze())), relay))
    });
    StreamBody::new(frames).boxed_unsync()
}

/// Reads the whole upstream body, handing each event to `on_event`. A broken body or
/// framing is the typed error to answer (502 `upstream_error`).
pub(super) async fn each_event(
    mut body: PoolBody,
    mut on_event: impl FnMut(&Value),
) -> Result<(), PoolerError> {
    let mut blocks = SseBlocks::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(PoolerError::upstream_error(None));
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let events = blocks
            .feed(&data)
            .map_err(|_| PoolerError::upstream_error(None))?;
        events.iter().for_each(&mut on_event);
    }
    if let Some(event) = blocks.finish() {
        on_event(&event);
    }
    Ok(())
}

/// `value` as a JSON body.
pub(super) fn encode_json(value: &Value) -> Result<Bytes, PoolerError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| PoolerError::internal(format!("cannot encode the response: {e}")))
}
