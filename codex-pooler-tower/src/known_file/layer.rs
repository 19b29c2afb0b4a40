//! [`KnownFileLayer`]: applies [`KnownFile`].

use std::sync::Arc;

use codex_pooler_core::clock::Clock;
use codex_pooler_core::live::LiveState;
use tower_layer::Layer;

use super::service::KnownFile;

/// Wraps a service in [`KnownFile`], looking files up in `live`'s continuity book.
#[derive(Debug, Clone)]
pub(crate) struct KnownFileLayer {
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
}

impl KnownFileLayer {
    /// A layer checking finalized files against `live`.
    pub(crate) fn new(live: Arc<LiveState>, clock: Arc<dyn Clock>) -> Self {
        Self { live, clock }
    }
}

impl<S> Layer<S> for KnownFileLayer {
    type Service = KnownFile<S>;

    fn layer(&self, inner: S) -> Self::Service {
        KnownFile::new(inner, Arc::clone(&self.live), Arc::clone(&self.clock))
    }
}
