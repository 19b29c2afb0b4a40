//! [`RecordLayer`]: applies [`Record`].

use std::sync::Arc;

use codex_pooler_core::clock::Clock;
use codex_pooler_core::live::LiveState;
use tower_layer::Layer;

use super::RecordSink;
use super::service::Record;

/// Wraps a service in [`Record`]: records go to `sink`; streamed answers teach `live`.
#[derive(Debug, Clone)]
pub(crate) struct RecordLayer {
    sink: Arc<dyn RecordSink>,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
}

impl RecordLayer {
    /// A layer sending records to `sink`.
    pub(crate) fn new(
        sink: Arc<dyn RecordSink>,
        live: Arc<LiveState>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { sink, live, clock }
    }
}

impl<S> Layer<S> for RecordLayer {
    type Service = Record<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Record::new(
            inner,
            Arc::clone(&self.sink),
            Arc::clone(&self.live),
            Arc::clone(&self.clock),
        )
    }
}
