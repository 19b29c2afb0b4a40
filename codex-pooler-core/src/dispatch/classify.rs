//! Learning from upstream's answers, below the failover decision: each attempt's answer is
//! recorded as evidence (quota headers, the usage limit of a `usage_limit_reached` 429, the
//! health outcome, success and continuity) and classified for the [policy](super::policy).
//!
//! The shape of linkerd's `http/classify` and tower-http's `classify`: the classifier sees
//! every answer once, the way it came, and says what kind of answer it was; what to do about
//! it is the policy's to decide.

use std::sync::Arc;

use http::StatusCode;

use super::answer::{is_retryable, read_error_body};
use crate::BoxError;
use crate::body::{PoolBody, full};
use crate::clock::Clock;
use crate::health::{AttemptGuard, AttemptOutcome};
use crate::live::LiveState;
use crate::model::AccountId;
use crate::quota::parse_usage_limit;
use crate::request::PoolRequest;

/// What kind of answer one attempt got.
pub(super) enum Class {
    /// An answer for the client: a success, an upgrade (`101`) or a refusal another account
    /// would give too. The slot is held until its body (or socket) ends.
    Final {
        /// The answer, untouched.
        response: http::Response<PoolBody>,
        /// The account's concurrency slot.
        guard: AttemptGuard,
    },
    /// A 429 or a 5xx: another account may do better.
    Retryable {
        /// The answer, its (small) body read.
        response: http::Response<PoolBody>,
        /// Whether it was a `usage_limit_reached` 429.
        usage_limited: bool,
        /// Set for a code-less 429 while the account's other streams ran, to this many: its
        /// concurrency cap, worth trying again once fewer run.
        busy_below: Option<u32>,
    },
    /// The connection or transport failed.
    Transport,
}

/// Records what each answer tells about its account and classifies it.
pub(super) struct Classifier {
    pub(super) live: Arc<LiveState>,
    pub(super) clock: Arc<dyn Clock>,
    /// The plan's [`soft_owner`](crate::plan::RoutePlan::soft_owner): the account that keeps
    /// the thread when another one serves.
    pub(super) soft_owner: Option<AccountId>,
}

impl Classifier {
    /// Learns from `result`, upstream's answer to `request` on `account`, and classifies it.
    /// `guard` is the attempt's slot: it goes with a final answer, and is released otherwise.
    pub(super) async fn classify(
        &self,
        account: AccountId,
        request: &PoolRequest,
        mut guard: AttemptGuard,
        result: Result<http::Response<PoolBody>, BoxError>,
    ) -> Class {
        let response = match result {
            Ok(response) => response,
            Err(err) => {
                tracing::debug!(account = %account, error = %err, "upstream attempt failed");
                guard.record(AttemptOutcome::TransportError, self.clock.now());
                return Class::Transport;
            }
        };
        let now = self.clock.now();
        let status = response.status();
        self.live
            .quota
            .observe_headers(account, response.headers(), now);
        if !is_retryable(status) {
            self.learn_final(account, request, &mut guard, &response, now);
            return Class::Final { response, guard };
        }
        let (parts, body) = response.into_parts();
        let body = read_error_body(body).await;
        let limit = (status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| parse_usage_limit(&body, now))
            .flatten();
        guard.record(AttemptOutcome::from_status(status, limit.is_some()), now);
        let usage_limited = limit.is_some();
        if let Some(limit) = limit {
            self.live.quota.observe_limit(account, limit, now);
        }
        drop(guard);
        // A code-less 429 while the account's other streams run is its concurrency cap.
        // Without other streams it is something else.
        let others = self.live.health.in_flight(account);
        let busy_below = (status == StatusCode::TOO_MANY_REQUESTS && !usage_limited && others > 0)
            .then_some(others);
        Class::Retryable {
            response: http::Response::from_parts(parts, full(body)),
            usage_limited,
            busy_below,
        }
    }

    /// A final answer: its health outcome, and for a success (or an opened websocket) the
    /// account's success and the continuity it now holds.
    fn learn_final(
        &self,
        account: AccountId,
        request: &PoolRequest,
        guard: &mut AttemptGuard,
        response: &http::Response<PoolBody>,
        now: std::time::SystemTime,
    ) {
        let status = response.status();
        let upgraded = status == StatusCode::SWITCHING_PROTOCOLS;
        // An opened websocket's slot outcome is its session's, not the handshake's.
        if !upgraded {
            guard.record(AttemptOutcome::from_status(status, false), now);
        }
        if status.is_success() || upgraded {
            self.live.record_success(account, now);
            self.live
                .learn_continuity(request, account, self.soft_owner, response.headers(), now);
        }
    }
}
