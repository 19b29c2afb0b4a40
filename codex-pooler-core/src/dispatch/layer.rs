//! [`DispatchLayer`]: applies [`Dispatch`] to an upstream service.

use std::sync::Arc;

use tower_layer::Layer;

use super::{Dispatch, DispatchConfig};
use crate::clock::Clock;
use crate::live::LiveState;

/// Wraps an upstream service in [`Dispatch`].
#[derive(Debug, Clone)]
pub struct DispatchLayer {
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
    config: DispatchConfig,
}

impl DispatchLayer {
    /// A layer recording evidence into `live`, with the default [`DispatchConfig`].
    pub fn new(live: Arc<LiveState>, clock: Arc<dyn Clock>) -> Self {
        Self {
            live,
            clock,
            config: DispatchConfig::default(),
        }
    }

    /// Uses `config` for busy accounts.
    #[must_use]
    pub fn with_config(mut self, config: DispatchConfig) -> Self {
        self.config = config;
        self
    }
}

impl<S> Layer<S> for DispatchLayer {
    type Service = Dispatch<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Dispatch::new(inner, Arc::clone(&self.live), Arc::clone(&self.clock))
            .with_config(self.config)
    }
}
