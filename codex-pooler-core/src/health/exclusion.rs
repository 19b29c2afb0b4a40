//! Why account health keeps an account out of a request.

use std::time::SystemTime;

use crate::plan::ExclusionReason;

/// The reason the health book refused an account (at planning, or in
/// [`LiveState::begin_attempt`](crate::live::LiveState::begin_attempt)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HealthExclusion {
    /// The circuit for this account, model and route class is open, or half-open with its one
    /// probe already in flight.
    #[error("circuit open for this account and model")]
    CircuitOpen {
        /// When a request may be tried again (the next probe, or when an in-flight probe goes
        /// stale).
        until: SystemTime,
    },
    /// The account already carries as many requests as its adaptive concurrency limit allows.
    #[error("account busy at its concurrency limit of {limit}")]
    Busy {
        /// The limit in force.
        limit: u32,
    },
}

impl HealthExclusion {
    /// Stable, low-cardinality reason for records and metrics.
    pub const fn reason(&self) -> ExclusionReason {
        match self {
            Self::CircuitOpen { .. } => ExclusionReason::CircuitOpen,
            Self::Busy { .. } => ExclusionReason::AccountBusy,
        }
    }

    /// When the account may be admitted again, if known (a busy account frees up whenever one
    /// of its requests ends, so that is unknown).
    pub const fn retry_at(&self) -> Option<SystemTime> {
        match self {
            Self::CircuitOpen { until } => Some(*until),
            Self::Busy { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_seconds;

    #[test]
    fn codes_and_retry_times() {
        let until = from_unix_seconds(42);
        let open = HealthExclusion::CircuitOpen { until };
        assert_eq!(open.reason(), "circuit_open");
        assert_eq!(open.retry_at(), Some(until));
        let busy = HealthExclusion::Busy { limit: 4 };
        assert_eq!(busy.reason(), "account_busy");
        assert_eq!(busy.retry_at(), None);
        assert_eq!(
            busy.to_string(),
            "account busy at its concurrency limit of 4"
        );
    }
}
