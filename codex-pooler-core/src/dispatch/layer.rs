//! [`DispatchLayer`]: applies [`Dispatch`] to an upstream service.

use std::sync::Arc;

use tower_layer::Layer;

use super::{Dispatch, DispatchConfig};
use crate::clock::Clock;
use crate::live::LiveState;
use crate::plan::Replanner;

/// Wraps an upstream service in [`Dispatch`].
#[derive(Debug, Clone)]
pub struct DispatchLayer {
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
    config: DispatchConfig,
    replanner: Option<Replanner>,
}

impl DispatchLayer {
    /// A layer recording evidence into `live`, with the default [`DispatchConfig`].
    pub fn new(live: Arc<LiveState>, clock: Arc<dyn Clock>) -> Self {
        Self {
            live,
            clock,
            config: DispatchConfig::default(),
            replanner: None,
        }
    }

    /// Uses `config` for busy accounts.
    #[must_use]
    pub fn with_config(mut self, config: DispatchConfig) -> Self {
        self.config = config;
        self
    }

    /// Plans requests again with `replanner`, the planner handle Dispatch owns (see
    /// [`Dispatch::with_replanner`]).
    #[must_use]
    pub fn with_replanner(mut self, replanner: Replanner) -> Self {
        self.replanner = Some(replanner);
        self
    }
}

impl<S> Layer<S> for DispatchLayer {
    type Service = Dispatch<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let dispatch = Dispatch::new(inner, Arc::clone(&self.live), Arc::clone(&self.clock))
            .with_config(self.config);
        match &self.replanner {
            Some(replanner) => dispatch.with_replanner(replanner.clone()),
            None => dispatch,
        }
    }
}
