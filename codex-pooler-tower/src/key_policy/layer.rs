//! [`KeyPolicyLayer`]: applies [`KeyPolicy`](super::service::KeyPolicy).

use std::sync::Arc;

use codex_pooler_core::clock::Clock;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::SnapshotHandle;
use tower_layer::Layer;

use super::service::KeyPolicy;

/// Wraps a decoded-request service in [`KeyPolicy`].
#[derive(Debug, Clone)]
pub(crate) struct KeyPolicyLayer {
    snapshot: SnapshotHandle,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
}

impl KeyPolicyLayer {
    /// Rules come from `snapshot`; limits are metered in `live` at `clock`'s now.
    pub(crate) fn new(
        snapshot: SnapshotHandle,
        live: Arc<LiveState>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            snapshot,
            live,
            clock,
        }
    }
}

impl<S> Layer<S> for KeyPolicyLayer {
    type Service = KeyPolicy<S>;

    fn layer(&self, inner: S) -> Self::Service {
        KeyPolicy::new(
            inner,
            self.snapshot.clone(),
            Arc::clone(&self.live),
            Arc::clone(&self.clock),
        )
    }
}
