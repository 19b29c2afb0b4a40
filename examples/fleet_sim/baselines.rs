//! Two naive strategies to measure the built-in ones against.
//!
//! Both plug into the real planner like any [`RoutingStrategy`], so the planner's own rules still
//! apply to them: exhausted and open-circuit accounts are excluded, busy and recently rate-limited
//! accounts go last, and a soft continuity pin is followed while its account is under 90 %.

use std::sync::atomic::{AtomicUsize, Ordering};

use codex_pooler_core::strategy::{Candidate, RoutingStrategy, StrategyInput};

use super::rng::SimRng;

/// A uniformly random order per request, from the request's seed; ignores every signal.
#[derive(Debug, Clone, Copy, Default)]
pub struct UniformRandom;

impl RoutingStrategy for UniformRandom {
    fn name(&self) -> &'static str {
        "uniform_random"
    }

    fn order(&self, input: &StrategyInput<'_>, candidates: &mut [Candidate]) {
        let mut rng = SimRng::new(input.seed);
        // Fisher-Yates.
        for i in (1..candidates.len()).rev() {
            let j = usize::try_from(rng.below(i as u64 + 1)).unwrap_or(0);
            candidates.swap(i, j);
        }
    }
}

/// The candidates in pool order, starting one further on each request; ignores every signal.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl RoutingStrategy for RoundRobin {
    fn name(&self) -> &'static str {
        "round_robin"
    }

    fn order(&self, _input: &StrategyInput<'_>, candidates: &mut [Candidate]) {
        if candidates.is_empty() {
            return;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % candidates.len();
        candidates.rotate_left(start);
    }
}
