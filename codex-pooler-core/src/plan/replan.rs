//! [`Replanner`]: the planner handle [`Dispatch`](crate::dispatch::Dispatch) owns to plan a
//! request again while it waits.

use std::sync::Arc;

use super::{Planner, RoutePlan};
use crate::clock::Clock;
use crate::live::LiveState;
use crate::model::SnapshotHandle;
use crate::request::PoolRequest;

/// Plans a request again with the configuration and live state of the moment. Given to
/// [`DispatchLayer`](crate::dispatch::DispatchLayer) when the stack is built; the dispatcher
/// asks it before it waits for accounts upstream refused for concurrency, in case other
/// accounts have room by now. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Replanner(Arc<PlanFn>);

/// What a [`Replanner`] calls.
type PlanFn = dyn Fn(&PoolRequest) -> Option<RoutePlan> + Send + Sync;

impl Replanner {
    /// Plans with `planner` over `snapshot` and `live` at `clock`'s time. A fresh plan reaches
    /// twice as deep as the first: its best accounts are usually the ones just tried.
    pub fn new(
        planner: &Planner,
        snapshot: SnapshotHandle,
        live: Arc<LiveState>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let deeper = planner.max_attempts().saturating_mul(2);
        let planner = planner.clone().with_max_attempts(deeper);
        Self::from_fn(move |request| {
            planner
                .plan(&snapshot.load(), &live, request, clock.now())
                .ok()
        })
    }

    /// Plans with `plan`, which answers `None` when the request cannot be planned now.
    pub(crate) fn from_fn(
        plan: impl Fn(&PoolRequest) -> Option<RoutePlan> + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(plan))
    }

    /// A fresh plan for `request`, if it can be planned now.
    pub fn plan(&self, request: &PoolRequest) -> Option<RoutePlan> {
        (self.0)(request)
    }
}

impl std::fmt::Debug for Replanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Replanner")
    }
}
