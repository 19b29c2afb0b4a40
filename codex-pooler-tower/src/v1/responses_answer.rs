//! The `/v1/responses` answer: events guarded for a streaming client, or one collected
//! `response` object.

use bytes::{Bytes, BytesMut};
use codex_pooler_core::body::PoolBody;
use codex_pooler_core::error::PoolerError;
use codex_pooler_core::translate::collect::{ResponseCollector, ResponsesStreamGuard};
use serde_json::Value;

use super::relay::{Translator, each_event, encode_json, relay};
use super::sse_blocks::encode;

impl Translator for ResponsesStreamGuard {
    fn event(&mut self, event: Value, out: &mut BytesMut) {
        if let Some(event) = self.on_event(event) {
            out.extend_from_slice(&encode(&event));
        }
    }

    fn end(&mut self, out: &mut BytesMut) {
        if let Some(error) = self.finish() {
            out.extend_from_slice(&encode(&error));
        }
    }
}

/// The upstream events for a streaming client, in order, through a [`ResponsesStreamGuard`].
pub(super) fn streamed(body: PoolBody) -> PoolBody {
    relay(body, ResponsesStreamGuard::new())
}

/// The whole upstream stream as one `response` object (or the typed error to answer).
pub(super) async fn collected(body: PoolBody) -> Result<Bytes, PoolerError> {
    let mut collector = ResponseCollector::new();
    each_event(body, |event| collector.on_event(event)).await?;
    encode_json(&collector.finish()?)
}
