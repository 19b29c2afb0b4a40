//! Reset-aware ordering: spend first the quota that would otherwise be refilled unused.

use std::time::{Duration, SystemTime};

use super::rank::{order_ranked, relative_bucket};
use super::{Candidate, RankedStrategy, RoutingStrategy, StrategyInput};
use crate::quota::{QuotaView, WindowKind, WindowView};

/// Rank tiers, best first, above the score bucket (below 2^18).
const TIER_HEADROOM: u32 = 4 << 24;
const TIER_ALLOWED: u32 = 3 << 24;
const TIER_UNKNOWN: u32 = 2 << 24;
const TIER_SCARCE: u32 = 1 << 24;
const TIER_EXHAUSTED: u32 = 0;
/// Mantissa bits dropped from the shared score bucket: 2 of 6 remain, so scores within roughly
/// 20-25 % of each other share a bucket.
const COARSE_SHIFT: u32 = 4;

/// Spends first the quota that resets soonest, weighing what is left by the time until it is
/// refilled anyway. The recommended strategy when quota evidence flows.
///
/// 1. Sort every candidate into a tier, best first:
///    1. *headroom*: fresh windows, every one below [`NEARLY_EXHAUSTED_PERCENT`](Self::NEARLY_EXHAUSTED_PERCENT) (98 %) used;
///    2. *allowed*: evidence but no window figures (`known` without windows: upstream said the
///       account may be used, not how much);
///    3. *unknown*: no evidence either way;
///    4. *scarce*: some window at 98 % used or more (including a full window carried by
///       credits);
///    5. *exhausted*: `exhausted_until` is later than `now` (the planner excludes those; the rule
///       only keeps the order total).
/// 2. Score each window `remaining percent / max(hours until it resets, 0.25)` (the floor is
///    [`RESET_FLOOR`](Self::RESET_FLOOR)): the rate, in
///    percent per hour, at which the account would have to be used for that window's capacity
///    not to be refilled unused. A window without a reset time is assumed to have just started
///    (5 h short, 168 h weekly, 720 h monthly), the conservative guess.
/// 3. An account's score is its lowest window score: every request spends from all its windows,
///    so a short window that refills soon must not hide a weekly window that does not.
/// 4. Within *headroom* and *scarce*, sort by score, highest first; scores within about a fifth
///    of each other tie, so new threads spread over the nearly-best accounts.
/// 5. Ties by [`Rendezvous::weight`](super::Rendezvous::weight) on the request's
///    [`affinity`](StrategyInput::affinity), so a thread keeps its account among equals.
/// 6. [`p2c_tie_break`](super::p2c_tie_break) among the leading tie group: the less loaded of
///    two tied leaders goes first.
///
/// So an account whose weekly window resets in two hours with 40 % left (score 20) is used before
/// a fresh one with 90 % left for the next six days (score 0.6), and an account at 98 % used or
/// more never precedes one with real headroom, whatever its reset time.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResetAware;

impl ResetAware {
    /// Used percent from which an account counts as nearly exhausted: it goes after every
    /// account with real headroom and after accounts without evidence.
    pub const NEARLY_EXHAUSTED_PERCENT: f64 = 98.0;

    /// The least time until reset a window is credited with, so a window about to reset does not
    /// get an unbounded score (15 minutes).
    pub const RESET_FLOOR: Duration = Duration::from_secs(15 * 60);

    /// The score of step 3 (percent per hour; higher is spent first), or `None` for an account
    /// without any fresh window.
    #[cfg(test)]
    pub(crate) fn score(quota: &QuotaView, now: SystemTime) -> Option<f64> {
        quota
            .windows
            .iter()
            .map(|w| window_score(w, now))
            .reduce(f64::min)
    }

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
        // One pass over the windows for the score and the highest used percent.
        let (score, max_used) = quota
            .windows
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(score, used), w| {
                (score.min(window_score(w, now)), used.max(w.used_percent))
            });
        let tier = if max_used >= Self::NEARLY_EXHAUSTED_PERCENT {
            TIER_SCARCE
        } else {
            TIER_HEADROOM
        };
        // Coarse buckets (scores within about a fifth of each other tie) so new threads spread
        // over the accounts that are nearly as good instead of herding onto the single best one.
        // Buckets stay below 2^18: no overlap with the tier bits.
        tier | (relative_bucket(score) >> COARSE_SHIFT)
    }
}

/// Step 2 for one window.
fn window_score(window: &WindowView, now: SystemTime) -> f64 {
    let until_reset = match window.resets_at {
        Some(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
        None => nominal_length(window.kind),
    };
    // Whole seconds are precise enough and spare the division inside `as_secs_f64`.
    let seconds = until_reset.max(ResetAware::RESET_FLOOR).as_secs() as f64;
    window.remaining_percent() * 3600.0 / seconds
}

/// A window's full length, assumed when upstream did not say when it resets.
fn nominal_length(kind: WindowKind) -> Duration {
    const HOUR: u64 = 3600;
    Duration::from_secs(match kind {
        WindowKind::Short => 5 * HOUR,
        WindowKind::Weekly => 7 * 24 * HOUR,
        WindowKind::Monthly => 30 * 24 * HOUR,
    })
}

impl RoutingStrategy for ResetAware {
    fn name(&self) -> &'static str {
        "reset_aware"
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

impl RankedStrategy for ResetAware {
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
    use crate::quota::WindowKind::{Monthly, Short, Weekly};
    use crate::strategy::tests::{candidate, candidates, ids, input, now, with_windows};

    fn order(mut c: Vec<Candidate>) -> Vec<i64> {
        ResetAware.order(&input(Some("session-id:r"), 3).get(), &mut c);
        ids(&c)
    }

    #[test]
    fn soon_refilled_capacity_goes_first() {
        assert_eq!(
            order(vec![
                // 90 % left for six days: 0.6 %/h.
                with_windows(1, &[(Weekly, 10.0, Some(150.0))]),
                // 40 % left, refilled in 2 h: 20 %/h.
                with_windows(2, &[(Weekly, 60.0, Some(2.0))]),
                // 80 % left over a 5 h window of unknown reset: 16 %/h.
                with_windows(3, &[(Short, 20.0, None)]),
            ]),
            [2, 3, 1]
        );
    }

    #[test]
    fn the_scarcest_window_sets_the_score() {
        // A short window refilling in 15 minutes does not hide a weekly window far from reset.
        assert_eq!(
            order(vec![
                with_windows(1, &[(Short, 50.0, Some(0.25)), (Weekly, 49.0, Some(160.0))]),
                with_windows(2, &[(Short, 0.0, Some(5.0)), (Weekly, 45.0, Some(2.0))]),
            ]),
            [2, 1]
        );
    }

    #[test]
    fn tiers_headroom_allowed_unknown_scarce_exhausted() {
        let mut exhausted = with_windows(7, &[(Short, 10.0, Some(1.0))]);
        exhausted.quota.exhausted_until = Some(now() + Duration::from_secs(60));
        let mut allowed = candidate(3);
        allowed.quota.known = true;
        assert_eq!(
            order(vec![
                exhausted,
                // 98.5 % used, resetting in a minute: a huge score, still after real headroom.
                with_windows(5, &[(Short, 98.5, Some(0.02))]),
                // A full weekly window carried by credits: a zero score.
                with_windows(6, &[(Short, 10.0, Some(1.0)), (Weekly, 100.0, Some(9.0))]),
                candidate(4),
                allowed,
                with_windows(2, &[(Monthly, 94.0, None)]),
                with_windows(1, &[(Weekly, 30.0, Some(100.0))]),
            ]),
            [1, 2, 3, 4, 5, 6, 7]
        );
    }

    #[test]
    fn the_floor_caps_imminent_resets() {
        let quota = with_windows(1, &[(Short, 50.0, Some(0.0001))]).quota;
        assert_eq!(ResetAware::score(&quota, now()), Some(200.0));
        assert_eq!(ResetAware::score(&candidate(2).quota, now()), None);
    }

    #[test]
    fn without_evidence_it_is_rendezvous() {
        let i = input(Some("session-id:z"), 9);
        let mut a = candidates(7);
        let mut b = candidates(7);
        ResetAware.order(&i.get(), &mut a);
        crate::strategy::Rendezvous.order(&i.get(), &mut b);
        assert_eq!(ids(&a), ids(&b));
    }
}
