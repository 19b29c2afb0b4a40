//! What dispatching a request produced.

use std::sync::Arc;
use std::time::Duration;

use crate::body::PoolBody;
use crate::eligibility::Exclusion;
use crate::health::AttemptGuard;
use crate::model::{AccountId, UpstreamAccount};
use crate::plan::Rejection;

use super::RouteReceipt;

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    /// Upstream answered and the answer went to the client.
    Answered(u16),
    /// Upstream answered with a retryable status; the next candidate was tried.
    Retried(u16),
    /// The connection or transport failed.
    TransportError,
}

/// One upstream attempt (metadata only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The account tried.
    pub account: AccountId,
    /// How it ended.
    pub result: AttemptResult,
    /// Time to the response head (or the error).
    pub latency: Duration,
}

/// The answer to a pooled request plus what routing did to produce it.
#[derive(Debug)]
pub struct Outcome {
    /// The response to send to the client.
    pub response: http::Response<PoolBody>,
    /// The account whose answer is being sent, if any.
    pub served_by: Option<Arc<UpstreamAccount>>,
    /// The attempts made, in order.
    pub attempts: Vec<Attempt>,
    /// Accounts excluded by the eligibility checks.
    pub exclusions: Vec<(AccountId, Exclusion)>,
    /// How the request was routed, when planning succeeded.
    pub receipt: Option<RouteReceipt>,
    /// The pooler's own error code, when the pooler (not upstream) produced the response.
    pub error_code: Option<&'static str>,
    /// The serving account's concurrency slot: hold it until the response body ends, then drop
    /// it.
    pub guard: Option<AttemptGuard>,
}

impl Outcome {
    /// The outcome of a request that could not be planned.
    pub fn rejected(rejection: Rejection) -> Self {
        Self {
            response: rejection.error.to_response(),
            served_by: None,
            attempts: Vec::new(),
            exclusions: rejection.exclusions,
            receipt: None,
            error_code: Some(rejection.error.code()),
            guard: None,
        }
    }

    /// Attaches the serving account's concurrency slot.
    #[must_use]
    pub fn with_guard(mut self, guard: AttemptGuard) -> Self {
        self.guard = Some(guard);
        self
    }
}
