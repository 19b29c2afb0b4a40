//! [`PlanLayer`]: applies [`Plan`] to an inner service.

use std::sync::Arc;

use tower_layer::Layer;

use super::{Plan, Planner};
use crate::clock::Clock;
use crate::live::LiveState;
use crate::model::SnapshotHandle;

/// Wraps a service in [`Plan`].
#[derive(Debug, Clone)]
pub struct PlanLayer {
    planner: Planner,
    snapshot: SnapshotHandle,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
}

impl PlanLayer {
    /// A layer planning with `planner` over the given state.
    pub fn new(
        planner: Planner,
        snapshot: SnapshotHandle,
        live: Arc<LiveState>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            planner,
            snapshot,
            live,
            clock,
        }
    }
}

impl<S> Layer<S> for PlanLayer {
    type Service = Plan<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Plan::new(
            inner,
            self.planner.clone(),
            self.snapshot.clone(),
            Arc::clone(&self.live),
            Arc::clone(&self.clock),
        )
    }
}
