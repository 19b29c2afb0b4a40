//! [`DispatchLayer`]: applies [`Dispatch`] to an upstream service.

use std::sync::Arc;

use tower_layer::Layer;

use super::Dispatch;
use crate::clock::Clock;
use crate::live::LiveState;

/// Wraps an upstream service in [`Dispatch`].
#[derive(Debug, Clone)]
pub struct DispatchLayer {
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
}

impl DispatchLayer {
    /// A layer recording evidence into `live`.
    pub fn new(live: Arc<LiveState>, clock: Arc<dyn Clock>) -> Self {
        Self { live, clock }
    }
}

impl<S> Layer<S> for DispatchLayer {
    type Service = Dispatch<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Dispatch::new(inner, Arc::clone(&self.live), Arc::clone(&self.clock))
    }
}
