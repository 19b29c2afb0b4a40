//! The `/v1/chat/completions` answer: `chat.completion.chunk`s for a streaming client, or
//! one `chat.completion` object.

use bytes::{Bytes, BytesMut};
use codex_pooler_core::body::PoolBody;
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::translate::chat::{ChatCollector, ChatStream};
use serde_json::Value;

use super::relay::{Translator, each_event, encode_json, relay};

impl Translator for ChatStream {
    fn event(&mut self, event: Value, out: &mut BytesMut) {
        for frame in self.on_event(&event) {
            out.extend_from_slice(&frame.to_sse());
        }
    }

    fn end(&mut self, out: &mut BytesMut) {
        for frame in self.finish() {
            out.extend_from_slice(&frame.to_sse());
        }
    }
}

/// The upstream events for a streaming chat client, as chunks ending in `[DONE]` (or in one
/// error chunk).
pub(super) fn streamed(body: PoolBody, model: &str, include_usage: bool) -> PoolBody {
    relay(body, ChatStream::new(model, include_usage))
}

/// The whole upstream stream as one `chat.completion` (or the typed error to answer).
pub(super) async fn collected(body: PoolBody, model: &str) -> Result<Bytes, PoolerError> {
    let mut collector = ChatCollector::new(model);
    each_event(body, |event| collector.on_event(event)).await?;
    encode_json(&collector.finish()?)
}
