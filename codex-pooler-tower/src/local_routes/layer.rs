//! [`LocalRoutesLayer`]: applies [`LocalRoutes`].

use std::sync::Arc;

use tower_layer::Layer;

use super::service::LocalRoutes;
use crate::pooler::Shared;

/// Wraps a service in [`LocalRoutes`], answering from the pooler's shared state.
#[derive(Debug, Clone)]
pub(crate) struct LocalRoutesLayer {
    shared: Arc<Shared>,
}

impl LocalRoutesLayer {
    /// A layer answering local routes from `shared`.
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl<S> Layer<S> for LocalRoutesLayer {
    type Service = LocalRoutes<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LocalRoutes::new(inner, Arc::clone(&self.shared))
    }
}
