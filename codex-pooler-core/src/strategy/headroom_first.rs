//! Headroom-first ordering: the account with the most quota left goes first.

use std::time::SystemTime;

use super::rank::order_ranked;
use super::{Candidate, RankedStrategy, RoutingStrategy, StrategyInput};
use crate::quota::QuotaView;

/// Rank tiers, best first, above the remaining percent (0-100) in the low byte.
const TIER_EVIDENCE: u32 = 4 << 8;
const TIER_ALLOWED: u32 = 3 << 8;
const TIER_UNKNOWN: u32 = 2 << 8;
const TIER_SPENT: u32 = 1 << 8;
const TIER_EXHAUSTED: u32 = 0;

/// Orders accounts by remaining quota, most first.
///
/// 1. Accounts with fresh quota windows and at least 1 % left rank first, by their remaining
///    percent (the least over their windows, see
///    [`QuotaView::remaining_percent`](crate::quota::QuotaView::remaining_percent)), rounded down
///    to a whole percent, most first.
/// 2. Then accounts with evidence but no window figures (`known`, no windows: upstream said they
///    may be used, not how much).
/// 3. Then accounts without evidence (unknown quota).
/// 4. Then accounts with fresh windows but less than 1 % left that are still routable (a full
///    weekly window carried by credits): spending them before an unknown account would spend
///    credits, or hit the limit, for nothing.
/// 5. Then accounts known to be exhausted at `now` (the planner excludes those; the rule only
///    keeps the order total).
/// 6. Ties by [`Rendezvous::weight`](super::Rendezvous::weight) on the request's
///    [`affinity`](StrategyInput::affinity).
/// 7. [`p2c_tie_break`](super::p2c_tie_break) among the leading tie group.
///
/// Simple and predictable, but blind to resets: it keeps a nearly refilled account idle while it
/// burns a weekly window that will not come back for days. [`ResetAware`](super::ResetAware)
/// weighs that.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeadroomFirst;

impl HeadroomFirst {
    fn rank(quota: &QuotaView, now: SystemTime) -> u32 {
        if quota.exhausted_until.is_some_and(|at| at > now) {
            return TIER_EXHAUSTED;
        }
        if quota.windows.is_empty() {
            return if quota.known {
                TIER_ALLOWED
            } else {
                TIER_UNKNOWN
            };
        }
        // 0..=100 after the clamp in `remaining_percent`, so the cast is exact.
        match quota.remaining_percent().floor() as u32 {
            0 => TIER_SPENT,
            remaining => TIER_EVIDENCE | remaining,
        }
    }
}

impl RoutingStrategy for HeadroomFirst {
    fn name(&self) -> &'static str {
        "headroom_first"
    }

    fn order(&self, input: &StrategyInput<'_>, candidates: &mut [Candidate]) {
        self.order_top(input, candidates, candidates.len());
    }

    fn order_top(&self, input: &StrategyInput<'_>, candidates: &mut [Candidate], k: usize) {
        order_ranked(input, candidates, k, |c| Self::rank(&c.quota, input.now));
    }

    fn ranked(&self) -> Option<&dyn RankedStrategy> {
        Some(self)
    }
}

impl RankedStrategy for HeadroomFirst {
    fn rank(&self, quota: &QuotaView, now: SystemTime) -> u32 {
        Self::rank(quota, now)
    }

    fn p2c(&self, _input: &StrategyInput<'_>) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::WindowKind::{Short, Weekly};
    use crate::strategy::tests::{candidate, ids, input, now, with_windows};

    #[test]
    fn most_headroom_first_then_allowed_unknown_spent_exhausted() {
        let mut exhausted = with_windows(7, &[(Short, 10.0, Some(1.0))]);
        exhausted.quota.exhausted_until = Some(now() + std::time::Duration::from_secs(60));
        let mut allowed = candidate(4);
        allowed.quota.known = true;
        let mut c = vec![
            candidate(5),
            with_windows(2, &[(Short, 70.0, Some(1.0)), (Weekly, 20.0, Some(100.0))]),
            with_windows(1, &[(Short, 10.0, Some(4.0)), (Weekly, 15.0, None)]),
            exhausted,
            with_windows(6, &[(Weekly, 100.0, Some(1.0))]),
            allowed,
            with_windows(3, &[(Weekly, 99.0, Some(1.0))]),
        ];
        HeadroomFirst.order(&input(Some("k"), 1).get(), &mut c);
        assert_eq!(ids(&c), [1, 2, 3, 4, 5, 6, 7]);
    }
}
