//! What one upstream attempt told us about the account's health.

use http::StatusCode;

/// The result of one upstream attempt, as far as account health is concerned.
///
/// Recorded once per attempt through [`AttemptGuard::record`](super::AttemptGuard::record),
/// normally when the response head arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// Upstream accepted the request (2xx). Resets the failure count, closes a half-open circuit
    /// and grows the concurrency limit.
    Success,
    /// Upstream answered 5xx. Counts toward opening the circuit.
    ServerError,
    /// No answer: connect, TLS or read failure, or a timeout. Counts toward opening the circuit.
    TransportError,
    /// Upstream answered 401. Counts toward opening the circuit (the lifecycle handles re-auth).
    Unauthorized,
    /// A 429 without `usage_limit_reached`: upstream's per-account rate or concurrency cap.
    /// Never opens the circuit; halves the concurrency limit and demotes the account briefly.
    RateLimited,
    /// A 429 with `usage_limit_reached`: quota evidence, handled by the quota book. No breaker
    /// and no concurrency effect; the account is demoted briefly like any 429.
    UsageLimited,
    /// Any other 4xx: the request's fault, not the account's. Neutral.
    ClientError,
}

/// What an outcome does to a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CircuitSignal {
    /// The account works.
    Success,
    /// The account failed in a way that should open the circuit if repeated.
    Failure,
    /// Says nothing about the account's health.
    Neutral,
}

impl AttemptOutcome {
    /// Classifies an upstream status. `usage_limited` says whether a 429 body carried
    /// `usage_limit_reached`. Informational and redirect statuses are neutral.
    pub(crate) fn from_status(status: StatusCode, usage_limited: bool) -> Self {
        match status.as_u16() {
            200..=299 => Self::Success,
            401 => Self::Unauthorized,
            429 if usage_limited => Self::UsageLimited,
            429 => Self::RateLimited,
            500..=599 => Self::ServerError,
            _ => Self::ClientError,
        }
    }

    /// Stable label for records and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::ServerError => "server_error",
            Self::TransportError => "transport_error",
            Self::Unauthorized => "unauthorized",
            Self::RateLimited => "rate_limited",
            Self::UsageLimited => "usage_limited",
            Self::ClientError => "client_error",
        }
    }

    pub(crate) const fn circuit_signal(self) -> CircuitSignal {
        match self {
            Self::Success => CircuitSignal::Success,
            Self::ServerError | Self::TransportError | Self::Unauthorized => CircuitSignal::Failure,
            Self::RateLimited | Self::UsageLimited | Self::ClientError => CircuitSignal::Neutral,
        }
    }

    /// Whether this outcome demotes the account for the model (any 429).
    pub(crate) const fn demotes(self) -> bool {
        matches!(self, Self::RateLimited | Self::UsageLimited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_statuses() {
        let of = |code: u16, limited| {
            AttemptOutcome::from_status(StatusCode::from_u16(code).unwrap(), limited)
        };
        assert_eq!(of(200, false), AttemptOutcome::Success);
        assert_eq!(of(401, false), AttemptOutcome::Unauthorized);
        assert_eq!(of(429, false), AttemptOutcome::RateLimited);
        assert_eq!(of(429, true), AttemptOutcome::UsageLimited);
        assert_eq!(of(503, false), AttemptOutcome::ServerError);
        assert_eq!(of(400, false), AttemptOutcome::ClientError);
        assert_eq!(of(302, false), AttemptOutcome::ClientError);
    }

    #[test]
    fn only_429s_demote_and_429s_never_fail_the_circuit() {
        for o in [AttemptOutcome::RateLimited, AttemptOutcome::UsageLimited] {
            assert!(o.demotes());
            assert_eq!(o.circuit_signal(), CircuitSignal::Neutral);
        }
        for o in [
            AttemptOutcome::ServerError,
            AttemptOutcome::TransportError,
            AttemptOutcome::Unauthorized,
        ] {
            assert!(!o.demotes());
            assert_eq!(o.circuit_signal(), CircuitSignal::Failure);
        }
    }
}
