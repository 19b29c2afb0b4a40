//! [`UpgradeLayer`]: applies [`Upgrade`].

use std::sync::Arc;

use tower_layer::Layer;

use super::service::Upgrade;
use crate::pooler::Shared;

/// Wraps a service in [`Upgrade`], opening sessions with the pooler's shared state.
#[derive(Debug, Clone)]
pub(crate) struct UpgradeLayer {
    shared: Arc<Shared>,
}

impl UpgradeLayer {
    /// A layer opening websocket sessions with `shared`.
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl<S> Layer<S> for UpgradeLayer {
    type Service = Upgrade<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Upgrade::new(inner, Arc::clone(&self.shared))
    }
}
