//! Where a piece of quota evidence came from, and how two pieces are weighed against each other.

use std::fmt;
use std::time::{Duration, SystemTime};

/// Two observations closer than this in time count as simultaneous: precedence decides.
pub const SIMULTANEOUS: Duration = Duration::from_secs(1);

/// How much a reading without a reset time is trusted less than one with it.
const NO_RESET_PENALTY: u8 = 20;

/// The channel a piece of quota evidence arrived on.
///
/// Sources differ in how close they are to the upstream's own accounting: a `codex.rate_limits`
/// stream event is emitted by the turn that consumed the quota, response headers and error
/// bodies come with the answer, and the usage API is polled on the side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EvidenceSource {
    /// A `codex.rate_limits` event inside an SSE stream or websocket (precedence 90).
    StreamEvent,
    /// `x-codex-*` response headers (precedence 80).
    ResponseHeaders,
    /// A `usage_limit_reached` error body (precedence 80).
    ErrorBody,
    /// The `GET /backend-api/wham/usage` probe (precedence 60).
    UsageApi,
}

impl EvidenceSource {
    /// Every source, strongest first.
    pub const ALL: [Self; 4] = [
        Self::StreamEvent,
        Self::ResponseHeaders,
        Self::ErrorBody,
        Self::UsageApi,
    ];

    /// Merge precedence: of two simultaneous readings, the higher one wins.
    pub(crate) const fn precedence(self) -> u8 {
        match self {
            Self::StreamEvent => 90,
            Self::ResponseHeaders | Self::ErrorBody => 80,
            Self::UsageApi => 60,
        }
    }

    /// Stable name for records and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::StreamEvent => "stream_event",
            Self::ResponseHeaders => "response_headers",
            Self::ErrorBody => "error_body",
            Self::UsageApi => "usage_api",
        }
    }

    /// Parses the stable name [`as_str`](Self::as_str) gives.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for EvidenceSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of evidence: a value, where it came from and when it was seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence<T> {
    /// What was observed.
    pub value: T,
    /// Where it came from.
    pub source: EvidenceSource,
    /// When it was observed.
    pub observed_at: SystemTime,
}

impl<T> Evidence<T> {
    /// Evidence of `value` from `source`, observed at `observed_at`.
    pub fn new(value: T, source: EvidenceSource, observed_at: SystemTime) -> Self {
        Self {
            value,
            source,
            observed_at,
        }
    }

    /// How long ago it was observed (zero when it is stamped in the future).
    pub(crate) fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.observed_at).unwrap_or_default()
    }

    /// Whether it is no older than `freshness` at `now`.
    pub(crate) fn is_fresh(&self, now: SystemTime, freshness: Duration) -> bool {
        self.age(now) <= freshness
    }
}

/// A reading's precedence, less [`NO_RESET_PENALTY`] when it carries no reset time.
pub(crate) fn effective_precedence(source: EvidenceSource, has_reset: bool) -> u8 {
    if has_reset {
        source.precedence()
    } else {
        source.precedence().saturating_sub(NO_RESET_PENALTY)
    }
}

/// Whether a new reading replaces an old one that still counts.
///
/// Readings further apart than [`SIMULTANEOUS`] are ordered by time: the newer wins whatever its
/// source. Simultaneous readings are ordered by precedence; on a tie the new one wins.
pub(crate) fn supersedes(
    new_at: SystemTime,
    new_precedence: u8,
    old_at: SystemTime,
    old_precedence: u8,
) -> bool {
    let gap = match new_at.duration_since(old_at) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if gap < SIMULTANEOUS {
        new_precedence >= old_precedence
    } else {
        new_at > old_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_seconds;

    #[test]
    fn precedence_order() {
        let p: Vec<u8> = EvidenceSource::ALL.iter().map(|s| s.precedence()).collect();
        assert_eq!(p, [90, 80, 80, 60]);
        assert_eq!(EvidenceSource::UsageApi.to_string(), "usage_api");
        assert_eq!(effective_precedence(EvidenceSource::StreamEvent, false), 70);
        for source in EvidenceSource::ALL {
            assert_eq!(EvidenceSource::parse(source.as_str()), Some(source));
        }
        assert_eq!(EvidenceSource::parse("headers"), None);
    }

    #[test]
    fn newer_wins_unless_simultaneous() {
        let t = from_unix_seconds(1_000);
        let half = Duration::from_millis(500);
        // Simultaneous: precedence decides, ties go to the new reading.
        assert!(!supersedes(t + half, 60, t, 90));
        assert!(supersedes(t, 90, t + half, 60));
        assert!(supersedes(t, 80, t, 80));
        // Apart: time decides.
        assert!(supersedes(t + Duration::from_secs(2), 60, t, 90));
        assert!(!supersedes(t, 90, t + Duration::from_secs(2), 60));
    }
}
