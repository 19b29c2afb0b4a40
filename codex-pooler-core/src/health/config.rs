//! The tunables of account health: breaker thresholds, demotion and concurrency bounds.

use std::time::Duration;

/// How the [`HealthBook`](super::HealthBook) judges accounts.
///
/// Out-of-range values are clamped when the book is built (see [`HealthConfig::normalized`]), so
/// a configuration read from the environment can never wedge routing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HealthConfig {
    /// Consecutive failures (5xx, transport error, 401) that open a circuit. At least 1.
    pub(crate) failure_threshold: u32,
    /// How long a circuit stays open after it trips, before a half-open probe may go. Also the
    /// age after which an unanswered probe is considered stale.
    pub(crate) open_for: Duration,
    /// The cap of the doubling backoff applied each time a half-open probe fails.
    pub(crate) max_open_for: Duration,
    /// How long a 429 ranks the account last for that model.
    pub(crate) demote_for: Duration,
    /// The concurrency limit an account starts with.
    pub(crate) initial_limit: u32,
    /// The lowest concurrency limit (at least 1).
    pub(crate) min_limit: u32,
    /// The highest concurrency limit.
    pub(crate) max_limit: u32,
    /// What a code-less 429 multiplies the limit by (in `(0, 1)`).
    pub(crate) decrease_factor: f64,
    /// At most one decrease per account per this window, so one burst of 429s halves once.
    pub(crate) decrease_window: Duration,
    /// A success grows the limit only while at least this share of it is in flight (0 grows on
    /// every success). Without it, an account used one request at a time would drift to
    /// [`max_limit`](Self::max_limit) and the next burst would meet a stale, too-high limit.
    pub(crate) growth_min_utilization: f64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 3,
            open_for: Duration::from_secs(30),
            max_open_for: Duration::from_secs(300),
            demote_for: Duration::from_secs(10),
            initial_limit: 8,
            min_limit: 1,
            max_limit: 64,
            decrease_factor: 0.5,
            decrease_window: Duration::from_secs(1),
            growth_min_utilization: 0.5,
        }
    }
}

impl HealthConfig {
    /// This configuration with every value brought into its valid range: thresholds and limits
    /// of at least 1, `min_limit <= initial_limit <= max_limit`, `open_for <= max_open_for`, a
    /// non-zero open duration, a decrease factor in `[0.05, 0.95]` (0.5 when not a number) and a
    /// utilization in `[0, 1]`.
    pub(crate) fn normalized(mut self) -> Self {
        let defaults = Self::default();
        self.failure_threshold = self.failure_threshold.max(1);
        if self.open_for.is_zero() {
            self.open_for = defaults.open_for;
        }
        self.max_open_for = self.max_open_for.max(self.open_for);
        self.min_limit = self.min_limit.max(1);
        self.max_limit = self.max_limit.max(self.min_limit);
        self.initial_limit = self.initial_limit.clamp(self.min_limit, self.max_limit);
        self.decrease_factor = if self.decrease_factor.is_nan() {
            defaults.decrease_factor
        } else {
            self.decrease_factor.clamp(0.05, 0.95)
        };
        self.growth_min_utilization = if self.growth_min_utilization.is_nan() {
            defaults.growth_min_utilization
        } else {
            self.growth_min_utilization.clamp(0.0, 1.0)
        };
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_already_normal() {
        assert_eq!(
            HealthConfig::default().normalized(),
            HealthConfig::default()
        );
    }

    #[test]
    fn clamps_nonsense() {
        let c = HealthConfig {
            failure_threshold: 0,
            open_for: Duration::ZERO,
            max_open_for: Duration::from_secs(1),
            min_limit: 0,
            initial_limit: 500,
            max_limit: 0,
            decrease_factor: f64::NAN,
            growth_min_utilization: 7.0,
            ..HealthConfig::default()
        }
        .normalized();
        assert_eq!(c.failure_threshold, 1);
        assert_eq!(c.open_for, Duration::from_secs(30));
        assert_eq!(c.max_open_for, Duration::from_secs(30));
        assert_eq!((c.min_limit, c.initial_limit, c.max_limit), (1, 1, 1));
        assert_eq!(c.decrease_factor, 0.5);
        assert_eq!(c.growth_min_utilization, 1.0);
    }
}
