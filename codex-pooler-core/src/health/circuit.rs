//! The circuit breaker for one (account, model, route class).
//!
//! 1. **Closed**: requests flow. Consecutive failures (5xx, transport error, 401) are counted; a
//!    success resets the count. At [`failure_threshold`](super::HealthConfig::failure_threshold)
//!    the circuit opens for [`open_for`](super::HealthConfig::open_for).
//! 2. **Open** until that time: every request is refused.
//! 3. **Half-open** afterwards: exactly one request, the probe, is admitted; others are refused
//!    as if the circuit were open. The probe's success closes the circuit and resets the backoff;
//!    its failure reopens it for twice the previous duration, capped at
//!    [`max_open_for`](super::HealthConfig::max_open_for); a neutral outcome (or an attempt
//!    dropped without an outcome) frees the probe slot for the next request.
//! 4. A probe without an outcome after the current open duration is stale: the next request
//!    becomes the new probe, so a lost probe cannot wedge the circuit.
//!
//! 429s never count (unlike the reference, which opens circuits on quota exhaustion and per-account
//! rate caps); they are handled by demotion, the adaptive concurrency limit and the quota book.
//! Outcomes of ordinary attempts that finish while the circuit is open or half-open are ignored:
//! only the probe decides.

use std::time::{Duration, SystemTime};

use super::HealthConfig;
use super::outcome::{AttemptOutcome, CircuitSignal};

/// The phase of a circuit, for operators and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CircuitPhase {
    /// Requests flow.
    Closed,
    /// Requests are refused until the open duration ends.
    Open,
    /// One probe may go (or is in flight).
    HalfOpen,
}

impl CircuitPhase {
    /// Every phase, in order of severity.
    pub const ALL: [Self; 3] = [Self::Closed, Self::HalfOpen, Self::Open];

    /// Stable name for operators and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }

    /// How severe the phase is: closed 0, half-open 1, open 2 (an account's worst circuit
    /// stands for it).
    pub const fn severity(self) -> u8 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

/// How a breaker admitted one attempt; handed back when its outcome is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// An ordinary attempt through a closed circuit.
    Normal,
    /// The half-open probe.
    Probe(ProbeTicket),
}

/// Identifies one half-open probe, so the outcome of a stale probe cannot be mistaken for the
/// current one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProbeTicket(u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Probe {
    ticket: ProbeTicket,
    started_at: SystemTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open { until: SystemTime },
    HalfOpen { probe: Option<Probe> },
}

/// A circuit breaker: a pure state machine, driven by the caller's `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CircuitBreaker {
    state: State,
    failures: u32,
    open_for: Duration,
    next_ticket: u64,
}

impl CircuitBreaker {
    /// A closed breaker with no failures.
    pub(super) fn new(config: &HealthConfig) -> Self {
        Self {
            state: State::Closed,
            failures: 0,
            open_for: config.open_for,
            next_ticket: 0,
        }
    }

    /// Whether it is closed: it refuses nothing, whatever the time.
    pub(crate) fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The phase at `now`.
    pub(super) fn phase(&self, now: SystemTime) -> CircuitPhase {
        match self.state {
            State::Closed => CircuitPhase::Closed,
            State::Open { until } if !self.elapsed(until, now) => CircuitPhase::Open,
            State::Open { .. } | State::HalfOpen { .. } => CircuitPhase::HalfOpen,
        }
    }

    /// Consecutive failures counted since the last success.
    #[cfg(test)]
    pub(super) const fn consecutive_failures(&self) -> u32 {
        self.failures
    }

    /// The current open duration (the backoff the next reopening would double).
    #[cfg(test)]
    pub(super) const fn open_for(&self) -> Duration {
        self.open_for
    }

    /// Until when the breaker refuses requests at `now`, if it does: the end of the open
    /// period, or the moment the in-flight probe goes stale.
    pub(super) fn refused_until(&self, now: SystemTime) -> Option<SystemTime> {
        match self.state {
            State::Closed | State::HalfOpen { probe: None } => None,
            State::Open { until } => Some(until).filter(|u| !self.elapsed(*u, now)),
            State::HalfOpen { probe: Some(p) } => {
                Some(after(p.started_at, self.open_for)).filter(|u| !self.elapsed(*u, now))
            }
        }
    }

    /// Whether a request may go at `now`, without claiming anything.
    pub(super) fn permits(&self, now: SystemTime) -> Result<(), SystemTime> {
        self.refused_until(now).map_or(Ok(()), Err)
    }

    /// Admits one attempt at `now`: ordinary when closed, the probe when half-open (replacing a
    /// stale probe). Refused with the retry time otherwise.
    pub(super) fn admit(&mut self, now: SystemTime) -> Result<Admission, SystemTime> {
        self.permits(now)?;
        if self.state == State::Closed {
            return Ok(Admission::Normal);
        }
        let ticket = ProbeTicket(self.next_ticket);
        self.next_ticket = self.next_ticket.wrapping_add(1);
        self.state = State::HalfOpen {
            probe: Some(Probe {
                ticket,
                started_at: now,
            }),
        };
        Ok(Admission::Probe(ticket))
    }

    /// Records the outcome of an attempt admitted as `admission`.
    pub(super) fn record(
        &mut self,
        config: &HealthConfig,
        admission: Admission,
        outcome: AttemptOutcome,
        now: SystemTime,
    ) {
        let signal = outcome.circuit_signal();
        if let Admission::Probe(ticket) = admission
            && self.is_current_probe(ticket)
        {
            match signal {
                CircuitSignal::Success => self.close(config),
                CircuitSignal::Failure => {
                    self.failures = self.failures.saturating_add(1);
                    self.open_for = self.open_for.saturating_mul(2).min(config.max_open_for);
                    self.state = State::Open {
                        until: after(now, self.open_for),
                    };
                }
                CircuitSignal::Neutral => self.state = State::HalfOpen { probe: None },
            }
            return;
        }
        // An ordinary attempt, or a stale probe: only a closed circuit listens.
        if self.state != State::Closed {
            return;
        }
        match signal {
            CircuitSignal::Success => self.failures = 0,
            CircuitSignal::Failure => {
                self.failures = self.failures.saturating_add(1);
                if self.failures >= config.failure_threshold {
                    self.open_for = config.open_for;
                    self.state = State::Open {
                        until: after(now, self.open_for),
                    };
                }
            }
            CircuitSignal::Neutral => {}
        }
    }

    /// Forgets an attempt that ended without an outcome: a probe's slot is freed.
    pub(super) fn abandon(&mut self, admission: Admission) {
        if let Admission::Probe(ticket) = admission
            && self.is_current_probe(ticket)
        {
            self.state = State::HalfOpen { probe: None };
        }
    }

    fn is_current_probe(&self, ticket: ProbeTicket) -> bool {
        matches!(self.state, State::HalfOpen { probe: Some(p) } if p.ticket == ticket)
    }

    fn close(&mut self, config: &HealthConfig) {
        self.state = State::Closed;
        self.failures = 0;
        self.open_for = config.open_for;
    }

    /// Whether `deadline` has passed at `now`. A deadline further away than the open duration
    /// can only come from a clock that stepped backwards; it counts as passed so the circuit
    /// cannot stay shut for the size of the step.
    fn elapsed(&self, deadline: SystemTime, now: SystemTime) -> bool {
        deadline
            .duration_since(now)
            .map_or(true, |left| left.is_zero() || left > self.open_for)
    }
}

/// `at + by`, saturating at `at` when the sum is not representable.
pub(crate) fn after(at: SystemTime, by: Duration) -> SystemTime {
    at.checked_add(by).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_seconds;

    const FAIL: AttemptOutcome = AttemptOutcome::ServerError;
    const OK: AttemptOutcome = AttemptOutcome::Success;

    fn t(secs: i64) -> SystemTime {
        from_unix_seconds(secs)
    }

    fn tripped(config: &HealthConfig, at: SystemTime) -> CircuitBreaker {
        let mut b = CircuitBreaker::new(config);
        for _ in 0..config.failure_threshold {
            let a = b.admit(at).unwrap();
            b.record(config, a, FAIL, at);
        }
        b
    }

    #[test]
    fn opens_after_threshold_consecutive_failures() {
        let c = HealthConfig::default();
        let mut b = CircuitBreaker::new(&c);
        for _ in 0..2 {
            b.record(&c, Admission::Normal, FAIL, t(100));
        }
        assert_eq!(b.phase(t(100)), CircuitPhase::Closed);
        assert_eq!(b.consecutive_failures(), 2);
        b.record(&c, Admission::Normal, AttemptOutcome::Unauthorized, t(100));
        assert_eq!(b.phase(t(100)), CircuitPhase::Open);
        assert_eq!(b.admit(t(110)), Err(t(130)));
        assert_eq!(b.permits(t(129)), Err(t(130)));
    }

    #[test]
    fn success_resets_the_count() {
        let c = HealthConfig::default();
        let mut b = CircuitBreaker::new(&c);
        for outcome in [FAIL, AttemptOutcome::TransportError, OK, FAIL, FAIL] {
            b.record(&c, Admission::Normal, outcome, t(0));
        }
        assert_eq!(b.phase(t(0)), CircuitPhase::Closed);
        assert_eq!(b.consecutive_failures(), 2);
    }

    #[test]
    fn neutral_outcomes_neither_count_nor_reset() {
        let c = HealthConfig::default();
        let mut b = CircuitBreaker::new(&c);
        b.record(&c, Admission::Normal, FAIL, t(0));
        b.record(&c, Admission::Normal, FAIL, t(0));
        for _ in 0..50 {
            for o in [
                AttemptOutcome::RateLimited,
                AttemptOutcome::UsageLimited,
                AttemptOutcome::ClientError,
            ] {
                b.record(&c, Admission::Normal, o, t(0));
            }
        }
        assert_eq!(b.phase(t(0)), CircuitPhase::Closed);
        assert_eq!(b.consecutive_failures(), 2);
    }

    #[test]
    fn half_open_admits_exactly_one_probe() {
        let c = HealthConfig::default();
        let mut b = tripped(&c, t(0));
        assert_eq!(b.phase(t(30)), CircuitPhase::HalfOpen);
        assert_eq!(b.permits(t(30)), Ok(()));
        let probe = b.admit(t(30)).unwrap();
        assert!(matches!(probe, Admission::Probe(_)));
        // Everyone else sees it open until the probe would go stale.
        assert_eq!(b.admit(t(31)), Err(t(60)));
        assert_eq!(b.permits(t(59)), Err(t(60)));
        b.record(&c, probe, OK, t(32));
        assert_eq!(b.phase(t(32)), CircuitPhase::Closed);
        assert_eq!(b.consecutive_failures(), 0);
        assert_eq!(b.admit(t(32)), Ok(Admission::Normal));
    }

    #[test]
    fn probe_failure_reopens_with_doubling_capped_backoff() {
        let c = HealthConfig::default();
        let mut b = tripped(&c, t(0));
        let mut now = t(0);
        for expected in [60, 120, 240, 300, 300] {
            now = b.refused_until(now).unwrap();
            let probe = b.admit(now).unwrap();
            b.record(&c, probe, FAIL, now);
            assert_eq!(b.open_for(), Duration::from_secs(expected));
            assert_eq!(b.permits(now), Err(after(now, b.open_for())));
        }
        // A success closes and resets the backoff: the next trip opens for 30 s again.
        now = b.refused_until(now).unwrap();
        let probe = b.admit(now).unwrap();
        b.record(&c, probe, OK, now);
        for _ in 0..3 {
            b.record(&c, Admission::Normal, FAIL, now);
        }
        assert_eq!(b.open_for(), Duration::from_secs(30));
    }

    #[test]
    fn neutral_or_abandoned_probe_frees_the_slot() {
        let c = HealthConfig::default();
        let mut b = tripped(&c, t(0));
        let probe = b.admit(t(30)).unwrap();
        b.record(&c, probe, AttemptOutcome::RateLimited, t(31));
        assert_eq!(b.phase(t(31)), CircuitPhase::HalfOpen);
        let probe = b.admit(t(31)).unwrap();
        b.abandon(probe);
        assert!(matches!(b.admit(t(32)), Ok(Admission::Probe(_))));
    }

    #[test]
    fn stale_probe_does_not_wedge_and_its_late_outcome_is_ignored() {
        let c = HealthConfig::default();
        let mut b = tripped(&c, t(0));
        let stale = b.admit(t(30)).unwrap();
        assert_eq!(b.admit(t(59)), Err(t(60)));
        let fresh = b.admit(t(60)).unwrap();
        assert_ne!(stale, fresh);
        b.record(&c, stale, OK, t(61));
        b.abandon(stale);
        assert_eq!(
            b.admit(t(61)),
            Err(t(90)),
            "the fresh probe still holds the slot"
        );
        b.record(&c, fresh, FAIL, t(62));
        assert_eq!(b.permits(t(62)), Err(t(122)));
    }

    #[test]
    fn ordinary_outcomes_while_open_are_ignored() {
        let c = HealthConfig::default();
        let mut b = tripped(&c, t(0));
        b.record(&c, Admission::Normal, OK, t(1));
        assert_eq!(b.phase(t(1)), CircuitPhase::Open);
        b.record(&c, Admission::Normal, FAIL, t(1));
        assert_eq!(b.permits(t(1)), Err(t(30)));
    }

    #[test]
    fn a_clock_stepping_backwards_does_not_extend_the_open_period() {
        let c = HealthConfig::default();
        let b = tripped(&c, t(10_000));
        assert_eq!(b.phase(t(10_010)), CircuitPhase::Open);
        assert_eq!(b.phase(t(5_000)), CircuitPhase::HalfOpen);
    }
}
