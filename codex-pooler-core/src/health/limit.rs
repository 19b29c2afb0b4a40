//! The adaptive concurrency limit of one account (AIMD).
//!
//! Upstream caps how many requests one account may have open, and answers the excess with a
//! code-less 429 (codex-lb #2239: 92 % of such rejected accounts served a success within ±3 s).
//! The cap is not published, so each account learns it:
//!
//! 1. Start at [`initial_limit`](super::HealthConfig::initial_limit).
//! 2. Additive increase: each success adds `1 / limit` (so +1 per `limit` successes), but only
//!    while the account is busy enough for the success to say something about the cap
//!    ([`growth_min_utilization`](super::HealthConfig::growth_min_utilization)).
//! 3. Multiplicative decrease: a code-less 429 multiplies the limit by
//!    [`decrease_factor`](super::HealthConfig::decrease_factor), at most once per
//!    [`decrease_window`](super::HealthConfig::decrease_window), so the 429s of one burst count
//!    once.
//! 4. The limit stays within `[min_limit, max_limit]`.
//!
//! The increase is kept as whole successes (a credit counter) rather than a fractional limit, so
//! "+1 per `limit` successes" holds exactly.

use std::time::{Duration, SystemTime};

use super::HealthConfig;

/// One account's learned concurrency limit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AdaptiveLimit {
    limit: u32,
    /// Successes counted toward the next +1.
    credit: u32,
    last_decrease: Option<SystemTime>,
}

impl AdaptiveLimit {
    /// The starting limit of `config`.
    pub(crate) fn new(config: &HealthConfig) -> Self {
        Self {
            limit: config.initial_limit,
            credit: 0,
            last_decrease: None,
        }
    }

    /// How many requests the account may have in flight.
    pub(crate) const fn current(&self) -> u32 {
        self.limit
    }

    /// Records a success seen while `in_flight` requests (this one included) were open.
    pub(crate) fn on_success(&mut self, config: &HealthConfig, in_flight: u32) {
        if f64::from(in_flight) < f64::from(self.limit) * config.growth_min_utilization {
            return;
        }
        self.credit = self.credit.saturating_add(1);
        if self.credit >= self.limit {
            self.credit = 0;
            self.limit = self.limit.saturating_add(1).min(config.max_limit);
        }
    }

    /// Records a code-less 429 at `now`; returns whether the limit was decreased (false inside
    /// the window of the previous decrease).
    pub(crate) fn on_rate_limited(&mut self, config: &HealthConfig, now: SystemTime) -> bool {
        if let Some(last) = self.last_decrease
            && within(last, now, config.decrease_window)
        {
            return false;
        }
        self.last_decrease = Some(now);
        // `as` saturates; the factor is in (0, 1), so the product is within u32 anyway.
        let decreased = (f64::from(self.limit) * config.decrease_factor).floor() as u32;
        self.limit = decreased.max(config.min_limit);
        self.credit = 0;
        true
    }
}

/// Whether `now` falls inside `window` after `start`. Records from concurrent threads may arrive
/// slightly out of order, so a `now` a little before `start` is inside too; one a whole window
/// before it means the clock stepped back, and counts as outside.
fn within(start: SystemTime, now: SystemTime, window: Duration) -> bool {
    match now.duration_since(start) {
        Ok(elapsed) => elapsed < window,
        Err(before) => before.duration() <= window,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_seconds;

    fn eager() -> HealthConfig {
        HealthConfig {
            growth_min_utilization: 0.0,
            ..HealthConfig::default()
        }
    }

    #[test]
    fn grows_by_one_per_limit_successes() {
        let c = eager();
        let mut l = AdaptiveLimit::new(&c);
        assert_eq!(l.current(), 8);
        for _ in 0..7 {
            l.on_success(&c, 1);
        }
        assert_eq!(l.current(), 8);
        l.on_success(&c, 1);
        assert_eq!(l.current(), 9);
        for _ in 0..10_000 {
            l.on_success(&c, 1);
        }
        assert_eq!(l.current(), 64, "capped at max_limit");
    }

    #[test]
    fn idle_successes_do_not_grow_by_default() {
        let c = HealthConfig::default();
        let mut l = AdaptiveLimit::new(&c);
        for _ in 0..100 {
            l.on_success(&c, 3);
        }
        assert_eq!(l.current(), 8);
        for _ in 0..8 {
            l.on_success(&c, 4);
        }
        assert_eq!(l.current(), 9);
    }

    #[test]
    fn halves_once_per_window_and_stops_at_min() {
        let c = HealthConfig::default();
        let mut l = AdaptiveLimit::new(&c);
        let t0 = from_unix_seconds(100);
        assert!(l.on_rate_limited(&c, t0));
        for ms in [0, 10, 500, 999] {
            assert!(!l.on_rate_limited(&c, t0 + Duration::from_millis(ms)));
        }
        // A burst recorded slightly out of order still counts once.
        assert!(!l.on_rate_limited(&c, t0 - Duration::from_millis(5)));
        assert_eq!(l.current(), 4);
        let mut now = t0;
        for expected in [2, 1, 1, 1] {
            now += Duration::from_secs(1);
            assert!(l.on_rate_limited(&c, now));
            assert_eq!(l.current(), expected);
        }
    }

    #[test]
    fn recovers_additively_after_a_decrease() {
        let c = eager();
        let mut l = AdaptiveLimit::new(&c);
        l.on_rate_limited(&c, from_unix_seconds(0));
        assert_eq!(l.current(), 4);
        for _ in 0..3 {
            l.on_success(&c, 4);
        }
        assert_eq!(l.current(), 4);
        l.on_success(&c, 4);
        assert_eq!(l.current(), 5);
    }
}
