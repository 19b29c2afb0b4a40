//! The request types passed between the pooler's services.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, Method};

use crate::facts::RequestFacts;
use crate::model::{KeyId, PoolId, UpstreamAccount};
use crate::plan::RoutePlan;
use crate::route::Route;

/// Who is asking: the authenticated key and its pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolContext {
    /// The key's pool.
    pub pool: PoolId,
    /// The key.
    pub key: KeyId,
}

/// An authenticated, classified request with its (decoded) body held for replay on failover.
#[derive(Debug, Clone)]
pub struct PoolRequest {
    /// Who is asking.
    pub ctx: PoolContext,
    /// The route it addresses.
    pub route: Route,
    /// What routing needs to know.
    pub facts: RequestFacts,
    /// HTTP method.
    pub method: Method,
    /// The client's request headers (credentials are dropped before forwarding).
    pub headers: HeaderMap,
    /// The decoded request body.
    pub body: Bytes,
    /// A per-request random seed, used when the request carries no continuity key.
    pub seed: u64,
    /// When the gateway received it.
    pub received_at: SystemTime,
    /// The upstream path when it depends on the request (a file id in the path); `None` uses
    /// the route class's fixed path.
    pub upstream_path: Option<String>,
}

impl PoolRequest {
    /// The path, relative to the account's origin, to send this request to.
    pub fn upstream_path(&self) -> &str {
        self.upstream_path
            .as_deref()
            .unwrap_or_else(|| self.route.class.upstream_path())
    }
}

/// A request with its routing plan.
#[derive(Debug)]
pub struct PlannedRequest {
    /// The request.
    pub request: PoolRequest,
    /// The ordered candidates.
    pub plan: RoutePlan,
    /// How to plan the request again with the live state of the moment, when the planner is
    /// at hand ([`Plan`](crate::plan::Plan) sets it). The dispatcher asks before it waits for
    /// accounts upstream refused for concurrency, in case other accounts have room by now.
    pub replan: Option<Replanner>,
}

/// Plans a request again: the planner, configuration snapshot and live state behind a
/// [`PlannedRequest`]. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Replanner(Arc<PlanFn>);

/// What a [`Replanner`] calls.
type PlanFn = dyn Fn(&PoolRequest) -> Option<RoutePlan> + Send + Sync;

impl Replanner {
    /// Wraps `plan`, which answers `None` when the request cannot be planned now.
    pub fn new(plan: impl Fn(&PoolRequest) -> Option<RoutePlan> + Send + Sync + 'static) -> Self {
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

/// One attempt to serve a request on one upstream account.
#[derive(Debug, Clone)]
pub struct UpstreamCall {
    /// The account to use.
    pub account: Arc<UpstreamAccount>,
    /// The request, shared across attempts.
    pub request: Arc<PoolRequest>,
    /// 1 for the first attempt, 2 for the first failover, ...
    pub attempt: u32,
}
