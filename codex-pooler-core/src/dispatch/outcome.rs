//! What dispatching a request produced.

use std::sync::Arc;
use std::time::Duration;

use crate::body::PoolBody;
use crate::error::{ErrorCode, PoolerError};
use crate::health::AttemptGuard;
use crate::model::{AccountId, UpstreamAccount};
use crate::plan::Exclusion;
use crate::plan::Rejection;
use crate::request::HeaderNames;

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
///
/// Built with [`Outcome::new`] and the `with_*` methods (other crates cannot write it as a
/// literal). Its `Debug` output shows the response's status and header names, never header
/// values.
#[non_exhaustive]
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
    pub error_code: Option<ErrorCode>,
    /// The pooler's own error, when the pooler (not upstream) produced the response.
    pub error: Option<PoolerError>,
    /// The serving account's concurrency slot: hold it until the response body ends, then drop
    /// it.
    pub guard: Option<AttemptGuard>,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("status", &self.response.status())
            .field("headers", &HeaderNames(self.response.headers()))
            .field("served_by", &self.served_by.as_ref().map(|a| a.id))
            .field("attempts", &self.attempts)
            .field("exclusions", &self.exclusions)
            .field("receipt", &self.receipt)
            .field("error_code", &self.error_code)
            .field("error", &self.error)
            .field("guard", &self.guard)
            .finish()
    }
}

impl From<Rejection> for Outcome {
    fn from(rejection: Rejection) -> Self {
        Self::rejected(rejection)
    }
}

impl Outcome {
    /// The outcome that answers `response`, with nothing routed yet: no serving account, no
    /// attempts, exclusions, receipt, error or slot.
    pub fn new(response: http::Response<PoolBody>) -> Self {
        Self {
            response,
            served_by: None,
            attempts: Vec::new(),
            exclusions: Vec::new(),
            receipt: None,
            error_code: None,
            error: None,
            guard: None,
        }
    }

    /// Sets the accounts the eligibility checks excluded.
    #[must_use]
    pub fn with_exclusions(mut self, exclusions: Vec<(AccountId, Exclusion)>) -> Self {
        self.exclusions = exclusions;
        self
    }

    /// Sets the pooler's own error code, without the error itself.
    #[must_use]
    pub fn with_error_code(mut self, code: ErrorCode) -> Self {
        self.error_code = Some(code);
        self
    }

    /// The outcome of a request that could not be planned.
    pub fn rejected(rejection: Rejection) -> Self {
        Self {
            response: rejection.error.to_response(),
            served_by: None,
            attempts: Vec::new(),
            exclusions: rejection.exclusions,
            receipt: None,
            error_code: Some(rejection.error.code()),
            error: Some(rejection.error),
            guard: None,
        }
    }

    /// Attaches the serving account's concurrency slot.
    #[must_use]
    pub(crate) fn with_guard(mut self, guard: AttemptGuard) -> Self {
        self.guard = Some(guard);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_header_names_only() {
        let mut response =
            http::Response::new(crate::body::full(bytes::Bytes::from_static(b"BODY-MARKER")));
        response
            .headers_mut()
            .insert("set-cookie", "sid=UPSTREAM-SECRET".parse().unwrap());
        let outcome = Outcome::new(response);
        let shown = format!("{outcome:?}");
        assert!(shown.contains("set-cookie"), "{shown}");
        assert!(!shown.contains("UPSTREAM-SECRET") && !shown.contains("BODY-MARKER"));
    }
}
