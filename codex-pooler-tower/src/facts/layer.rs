//! [`FactsLayer`]: applies [`Facts`].

use std::sync::Arc;

use codex_pooler_core::clock::Clock;
use codex_pooler_core::live::SessionIds;
use tower_layer::Layer;

use super::service::Facts;

/// Wraps a [`PoolRequest`](codex_pooler_core::request::PoolRequest) service in [`Facts`].
#[derive(Debug, Clone)]
pub(crate) struct FactsLayer {
    clock: Arc<dyn Clock>,
    sessions: Arc<SessionIds>,
}

impl FactsLayer {
    /// A layer whose requests without an arrival stamp arrive at `clock`'s now, and whose
    /// requests without a session id get one derived by `sessions`.
    pub(crate) fn new(clock: Arc<dyn Clock>, sessions: SessionIds) -> Self {
        Self {
            clock,
            sessions: Arc::new(sessions),
        }
    }
}

impl<S> Layer<S> for FactsLayer {
    type Service = Facts<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Facts::new(inner, Arc::clone(&self.clock), Arc::clone(&self.sessions))
    }
}
