//! [`PlannedRequest`]: a request with its routing plan, as [`Plan`](super::Plan) hands it on.

use super::RoutePlan;
use crate::model::PoolWaits;
use crate::request::PoolRequest;

/// A request with its routing plan. `Debug` redacts the request as [`PoolRequest`] does.
#[derive(Debug)]
pub struct PlannedRequest {
    /// The request.
    pub request: PoolRequest,
    /// The ordered candidates.
    pub plan: RoutePlan,
    /// The pool's own waits for busy accounts, from the snapshot the plan was made on
    /// (applied over the [`DispatchConfig`](crate::dispatch::DispatchConfig)).
    pub waits: PoolWaits,
}
