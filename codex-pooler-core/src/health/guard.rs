//! The RAII claim of one attempt on an account.

use std::sync::Arc;
use std::time::SystemTime;

use super::AttemptOutcome;
use super::book::Shared;
use super::circuit::Admission;
use crate::model::AccountId;
use crate::request::RouteClass;

/// One attempt's claim on an account: a concurrency slot, and the half-open probe slot when it
/// is the probe. Returned by
/// [`LiveState::begin_attempt`](crate::live::LiveState::begin_attempt).
///
/// Record the outcome with [`record`](Self::record) as soon as it is known (usually at the
/// response head); keep the guard until the response body ends, because the slot is what the
/// concurrency limit counts. Dropping the guard frees the slot; dropped without an outcome, the
/// attempt is neutral and a probe gives its probe slot back.
///
/// The guard owns an `Arc` of the book's state, so it is `Send + 'static` and can travel inside
/// a response body.
#[derive(Debug)]
#[must_use = "dropping the guard ends the attempt at once"]
pub struct AttemptGuard {
    shared: Arc<Shared>,
    account: AccountId,
    model: String,
    class: RouteClass,
    admission: Admission,
    outcome: Option<AttemptOutcome>,
}

impl AttemptGuard {
    pub(super) fn new(
        shared: Arc<Shared>,
        account: AccountId,
        model: String,
        class: RouteClass,
        admission: Admission,
    ) -> Self {
        Self {
            shared,
            account,
            model,
            class,
            admission,
            outcome: None,
        }
    }

    /// Records the attempt's outcome at `now` for the circuit breaker, the concurrency limit and
    /// demotion, keeping the slot. Only the first call counts; later ones are ignored, so one
    /// attempt never counts twice.
    pub fn record(&mut self, outcome: AttemptOutcome, now: SystemTime) {
        if self.outcome.is_some() {
            return;
        }
        self.outcome = Some(outcome);
        self.shared.record(
            self.account,
            &self.model,
            self.class,
            self.admission,
            outcome,
            now,
        );
    }

    /// The account this attempt claimed.
    pub const fn account(&self) -> AccountId {
        self.account
    }

    /// The model of the attempt.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The route class of the attempt.
    pub const fn class(&self) -> RouteClass {
        self.class
    }

    /// Whether this attempt is the half-open probe of its circuit.
    #[cfg(test)]
    pub(crate) const fn is_probe(&self) -> bool {
        matches!(self.admission, Admission::Probe(_))
    }

    /// The outcome recorded so far, if any.
    pub const fn outcome(&self) -> Option<AttemptOutcome> {
        self.outcome
    }
}

impl Drop for AttemptGuard {
    fn drop(&mut self) {
        self.shared.release(
            self.account,
            &self.model,
            self.class,
            self.admission,
            self.outcome.is_some(),
        );
    }
}
