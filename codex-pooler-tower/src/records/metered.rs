//! [`MeteredRecords`]: charges each finished record's tokens to its key before passing it on.

use std::sync::Arc;
use std::time::Duration;

use codex_pooler_core::live::LiveState;
use codex_pooler_core::record::RequestRecord;

use super::RecordSink;

/// A [`RecordSink`] in front of another that charges the tokens upstream reported for a
/// request to its key's day and week limits (in [`LiveState`]), at the request's end, and
/// adds the request to its key's totals (`GET /v1/usage`). Every
/// record passes through it, HTTP and websocket alike, so usage is charged in one place.
#[derive(Debug)]
pub(crate) struct MeteredRecords {
    inner: Arc<dyn RecordSink>,
    live: Arc<LiveState>,
}

impl MeteredRecords {
    /// Charges into `live`, then hands records to `inner`.
    pub(crate) fn new(inner: Arc<dyn RecordSink>, live: Arc<LiveState>) -> Self {
        Self { inner, live }
    }
}

impl RecordSink for MeteredRecords {
    fn submit(&self, record: RequestRecord) {
        self.live.add_key_request(record.key, record.usage.as_ref());
        if let Some(usage) = record.usage {
            let ended = record.received_at + Duration::from_millis(record.latency_ms);
            self.live.charge_key(record.key, usage.total_tokens, ended);
        }
        self.inner.submit(record);
    }
}
