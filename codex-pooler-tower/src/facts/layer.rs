//! [`FactsLayer`]: applies [`Facts`].

use std::sync::Arc;

use codex_pooler_core::clock::Clock;
use tower_layer::Layer;

use super::service::Facts;

/// Wraps a [`PoolRequest`](codex_pooler_core::request::PoolRequest) service in [`Facts`].
#[derive(Debug, Clone)]
pub(crate) struct FactsLayer {
    clock: Arc<dyn Clock>,
}

impl FactsLayer {
    /// A layer whose requests without an arrival stamp arrive at `clock`'s now.
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Self {
        Self { clock }
    }
}

impl<S> Layer<S> for FactsLayer {
    type Service = Facts<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Facts::new(inner, Arc::clone(&self.clock))
    }
}
