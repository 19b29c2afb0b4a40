//! [`LearnFileLayer`]: applies [`LearnFile`].

use std::sync::Arc;

use codex_pooler_core::clock::Clock;
use codex_pooler_core::live::LiveState;
use tower_layer::Layer;

use super::service::LearnFile;

/// Wraps an outcome-producing service in [`LearnFile`], teaching `live`'s continuity book.
#[derive(Debug, Clone)]
pub(crate) struct LearnFileLayer {
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
}

impl LearnFileLayer {
    /// A layer learning created files into `live`.
    pub(crate) fn new(live: Arc<LiveState>, clock: Arc<dyn Clock>) -> Self {
        Self { live, clock }
    }
}

impl<S> Layer<S> for LearnFileLayer {
    type Service = LearnFile<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LearnFile::new(inner, Arc::clone(&self.live), Arc::clone(&self.clock))
    }
}
