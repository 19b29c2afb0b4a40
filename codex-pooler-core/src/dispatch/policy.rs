//! The failover policy: after each classified answer, whether the request moves on, and when
//! every candidate failed, which failure reaches the client.
//!
//! The shape of tower's `retry::Policy`: [`Failover::decide`] looks at one attempt's result
//! and says whether to retry elsewhere; [`Failover::serve`] and [`Failover::give_up`] turn the
//! attempts into the [`Outcome`]. Waiting and replanning are [`Run`](super::run)'s.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::classify::Class;
use super::{Attempt, AttemptResult, Outcome, RouteReceipt};
use crate::body::PoolBody;
use crate::clock::unix_seconds;
use crate::error::{ErrorCode, PoolerError};
use crate::health::AttemptGuard;
use crate::live::LiveState;
use crate::model::{AccountId, UpstreamAccount};
use crate::plan::Exclusion;
use crate::plan::RoutePlan;

/// What the request does after one attempt.
pub(super) enum Decision {
    /// Hand this answer to the client, holding the slot until its body ends.
    Serve {
        /// The answer.
        response: http::Response<PoolBody>,
        /// The serving account's slot.
        guard: AttemptGuard,
    },
    /// The account is done for this request; move on.
    Drop,
    /// Upstream refused the account for concurrency while this many other attempts ran: try
    /// it again once fewer do.
    RetryBelow(u32),
}

/// An upstream failure that may be handed to the client when nothing better comes.
struct Failure {
    /// Its position in the attempts.
    attempt: usize,
    /// Whether it was a `usage_limit_reached` 429.
    usage_limited: bool,
    /// The answer, its body read.
    response: http::Response<PoolBody>,
}

/// One request's failover bookkeeping: its attempts, and the failure to hand on.
#[derive(Default)]
pub(super) struct Failover {
    attempts: Vec<Attempt>,
    usage_limited: usize,
    last_failure: Option<Failure>,
}

impl Failover {
    /// The attempts made so far.
    pub(super) fn attempts(&self) -> usize {
        self.attempts.len()
    }

    /// The attempts answered `usage_limit_reached` so far.
    pub(super) fn usage_limited(&self) -> usize {
        self.usage_limited
    }

    /// Books the attempt on `account` that took `latency` and came to `class`, and decides.
    pub(super) fn decide(
        &mut self,
        account: AccountId,
        class: Class,
        latency: Duration,
    ) -> Decision {
        let (result, decision) = match class {
            Class::Transport => (AttemptResult::TransportError, Decision::Drop),
            Class::Final { response, guard } => (
                AttemptResult::Answered(response.status().as_u16()),
                Decision::Serve { response, guard },
            ),
            Class::Retryable {
                response,
                usage_limited,
                busy_below,
            } => {
                let code = response.status().as_u16();
                self.usage_limited += usize::from(usage_limited);
                // One account's usage limit is not the pool's: a transient failure (5xx,
                // code-less 429) from another account is the truer answer to hand on.
                if !usage_limited || self.last_failure.as_ref().is_none_or(|f| f.usage_limited) {
                    self.last_failure = Some(Failure {
                        attempt: self.attempts.len(),
                        usage_limited,
                        response,
                    });
                }
                let decision = busy_below.map_or(Decision::Drop, Decision::RetryBelow);
                (AttemptResult::Retried(code), decision)
            }
        };
        self.attempts.push(Attempt {
            account,
            result,
            latency,
        });
        decision
    }

    /// The outcome of an answer from `served`.
    pub(super) fn serve(
        self,
        plan: RoutePlan,
        served: Arc<UpstreamAccount>,
        response: http::Response<PoolBody>,
        guard: AttemptGuard,
        waited: Duration,
    ) -> Outcome {
        finish(plan, self.attempts, Some(served), response, None, waited).with_guard(guard)
    }

    /// Every candidate failed: the best error for the client.
    pub(super) fn give_up(
        mut self,
        live: &LiveState,
        now: SystemTime,
        plan: RoutePlan,
        candidates: &[Arc<UpstreamAccount>],
        waited: Duration,
    ) -> Outcome {
        // When each attempt answered usage_limit_reached, the pool is exhausted as far as this
        // request can tell: answer with the earliest reset we know.
        let exhausted = (self.usage_limited > 0 && self.usage_limited == self.attempts.len())
            .then(|| earliest_reset(live, candidates, &plan.exclusions, now))
            .flatten()
            .map(|at| {
                PoolerError::usage_limit_reached(
                    unix_seconds(at),
                    at.duration_since(now).unwrap_or(Duration::ZERO),
                )
            });
        let failure = match (exhausted, self.last_failure.take()) {
            (None, Some(failure)) => failure,
            // The pooler's own answer: the pool's exhaustion, or no upstream answer at all.
            (exhausted, _) => {
                let error = exhausted.unwrap_or_else(PoolerError::upstream_unavailable);
                let response = error.to_response();
                let mut outcome = finish(
                    plan,
                    self.attempts,
                    None,
                    response,
                    Some(error.code()),
                    waited,
                );
                outcome.error = Some(error);
                return outcome;
            }
        };
        // The chosen failure goes to the client: that attempt was answered, not retried.
        let served_by = match self.attempts.get_mut(failure.attempt) {
            Some(attempt) => match attempt.result {
                AttemptResult::Retried(code) => {
                    attempt.result = AttemptResult::Answered(code);
                    candidates.iter().find(|c| c.id == attempt.account).cloned()
                }
                _ => None,
            },
            None => None,
        };
        finish(
            plan,
            self.attempts,
            served_by,
            failure.response,
            None,
            waited,
        )
    }
}

/// The outcome of a planned request, with its routing receipt.
fn finish(
    plan: RoutePlan,
    attempts: Vec<Attempt>,
    served_by: Option<Arc<UpstreamAccount>>,
    response: http::Response<PoolBody>,
    error_code: Option<ErrorCode>,
    waited: Duration,
) -> Outcome {
    let receipt = RouteReceipt {
        strategy: plan.strategy,
        eligible: plan.eligible,
        pin: plan.pin.map(|p| p.kind),
        pin_skipped: plan.pin_skipped,
        served_by: served_by.as_ref().map(|a| a.id),
        failovers: RouteReceipt::failovers(&attempts),
        waited,
    };
    Outcome {
        response,
        served_by,
        attempts,
        exclusions: plan.exclusions,
        receipt: Some(receipt),
        error_code,
        error: None,
        guard: None,
    }
}

/// The earliest time a tried or excluded account's usage limit resets.
fn earliest_reset(
    live: &LiveState,
    candidates: &[Arc<UpstreamAccount>],
    exclusions: &[(AccountId, Exclusion)],
    now: SystemTime,
) -> Option<SystemTime> {
    let tried = candidates
        .iter()
        .filter_map(|c| live.quota.exhausted_until(c.id, now));
    let excluded = exclusions.iter().filter_map(|(_, e)| match e {
        Exclusion::QuotaExhausted { until } => Some(*until),
        _ => None,
    });
    tried.chain(excluded).min()
}
