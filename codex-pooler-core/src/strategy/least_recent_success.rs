//! Least-recent-success ordering: the account idle longest goes first.

use super::rank::{epoch_seconds, order_ranked};
use super::{Candidate, RoutingStrategy, StrategyInput};

/// Orders accounts by when they last answered successfully, oldest first.
///
/// 1. Accounts that never succeeded (in this process) rank first.
/// 2. Then ascending by `last_success`, compared in whole seconds (successes within the same
///    second tie).
/// 3. Ties by [`Rendezvous::weight`](super::Rendezvous::weight) on the request's
///    [`affinity`](StrategyInput::affinity).
/// 4. [`p2c_tie_break`](super::p2c_tie_break) among the leading tie group: the less loaded of
///    two tied leaders goes first.
///
/// This spreads successful traffic evenly over time without any quota evidence. It ignores quota:
/// prefer [`ResetAware`](super::ResetAware) when evidence is available.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeastRecentSuccess;

impl RoutingStrategy for LeastRecentSuccess {
    fn name(&self) -> &'static str {
        "least_recent_success"
    }

    fn order(&self, input: &StrategyInput<'_>, candidates: &mut [Candidate]) {
        self.order_top(input, candidates, candidates.len());
    }

    fn order_top(&self, input: &StrategyInput<'_>, candidates: &mut [Candidate], k: usize) {
        order_ranked(input, candidates, k, |c| match c.last_success {
            None => u32::MAX,
            Some(at) => (u32::MAX - 1).saturating_sub(epoch_seconds(at)),
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::strategy::tests::{candidate, candidates, ids, input, now};

    #[test]
    fn never_succeeded_first_then_oldest_success() {
        let mut c = vec![
            Candidate {
                last_success: Some(now() - Duration::from_secs(10)),
                ..candidate(1)
            },
            Candidate {
                last_success: Some(now() - Duration::from_secs(500)),
                ..candidate(2)
            },
            candidate(3),
            Candidate {
                last_success: Some(now()),
                ..candidate(4)
            },
        ];
        LeastRecentSuccess.order(&input(None, 5).get(), &mut c);
        assert_eq!(ids(&c), [3, 2, 1, 4]);
    }

    #[test]
    fn ties_follow_rendezvous_for_a_thread() {
        let a = input(Some("session-id:l"), 1);
        let b = input(Some("session-id:l"), 2);
        let mut x = candidates(6);
        let mut y = candidates(6);
        LeastRecentSuccess.order(&a.get(), &mut x);
        LeastRecentSuccess.order(&b.get(), &mut y);
        assert_eq!(ids(&x), ids(&y));
        let mut r = candidates(6);
        crate::strategy::Rendezvous.order(&a.get(), &mut r);
        assert_eq!(ids(&x), ids(&r));
    }
}
