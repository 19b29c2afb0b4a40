//! [`PlannedRequest`]: a request with its routing plan, as [`Plan`](super::Plan) hands it on.

use super::RoutePlan;
use crate::request::PoolRequest;

/// A request with its routing plan. `Debug` redacts the request as [`PoolRequest`] does.
#[derive(Debug)]
pub struct PlannedRequest {
    /// The request.
    pub request: PoolRequest,
    /// The ordered candidates.
    pub plan: RoutePlan,
}
