//! [`PoolerLayer`]: wraps a service so the pooler answers its pooled paths.

use tower_layer::Layer;

use super::{Pooler, PoolerService};

/// Wraps an inner service (an axum `Router`, a hyper service, ...) in [`PoolerService`].
#[derive(Debug, Clone)]
pub struct PoolerLayer {
    pooler: Pooler,
}

impl PoolerLayer {
    /// A layer serving pooled paths with `pooler`.
    pub fn new(pooler: Pooler) -> Self {
        Self { pooler }
    }
}

impl<S> Layer<S> for PoolerLayer {
    type Service = PoolerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PoolerService::new(inner, self.pooler.clone())
    }
}
