//! [`AuthenticateLayer`]: applies [`Authenticate`].

use std::sync::Arc;

use codex_pooler_core::clock::Clock;
use codex_pooler_core::model::SnapshotHandle;
use tower_layer::Layer;

use super::service::Authenticate;
use crate::keys::KeyHasher;

/// Wraps a service in [`Authenticate`]: keys are checked against `snapshot` with `hasher`, expiry
/// against `clock`.
#[derive(Debug, Clone)]
pub(crate) struct AuthenticateLayer {
    snapshot: SnapshotHandle,
    hasher: KeyHasher,
    clock: Arc<dyn Clock>,
}

impl AuthenticateLayer {
    /// A layer checking keys in `snapshot`.
    pub(crate) fn new(snapshot: SnapshotHandle, hasher: KeyHasher, clock: Arc<dyn Clock>) -> Self {
        Self {
            snapshot,
            hasher,
            clock,
        }
    }
}

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate::new(
            inner,
            self.snapshot.clone(),
            self.hasher.clone(),
            Arc::clone(&self.clock),
        )
    }
}
