//! Deterministic rotation of the pool order.

use super::rendezvous::splitmix;
use super::{Candidate, RoutingStrategy, StrategyInput};

/// Rotates the candidates, in the order the planner hands them over (the pool's account order),
/// by a hash of the request's affinity.
///
/// 1. Take the request's [`affinity`](StrategyInput::affinity) (continuity key hash, else the
///    random seed).
/// 2. `offset = splitmix(affinity) % n` for `n` candidates.
/// 3. Rotate the list left by `offset`: the candidate at `offset` goes first, and the cyclic order
///    in between is kept, so failover walks the pool order from a per-request starting point.
///
/// No scores and no load tie-break: the order is a pure function of the input order and the
/// affinity, which makes this strategy easy to reason about and cheap (O(n), no sort). A thread
/// keeps its account while the pool is unchanged, but unlike [`Rendezvous`](super::Rendezvous)
/// most threads move when an account joins or leaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rotation;

impl RoutingStrategy for Rotation {
    fn name(&self) -> &'static str {
        "rotation"
    }

    fn order(&self, input: &StrategyInput<'_>, candidates: &mut [Candidate]) {
        let len = candidates.len();
        if len < 2 {
            return;
        }
        // The remainder is below `len`, so it fits back into usize.
        let offset = (splitmix(input.affinity()) % len as u64) as usize;
        candidates.rotate_left(offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::tests::{candidates, ids, input};

    #[test]
    fn rotates_keeping_the_cyclic_order() {
        let input = input(None, 42);
        let mut c = candidates(5);
        Rotation.order(&input.get(), &mut c);
        let got = ids(&c);
        let start = got[0];
        let expected: Vec<i64> = (0..5).map(|k| (start - 1 + k) % 5 + 1).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn keyed_requests_start_at_the_same_place_and_keyless_ones_spread() {
        let keyed = input(Some("session-id:r"), 1);
        let mut a = candidates(5);
        Rotation.order(&keyed.get(), &mut a);
        let keyed_again = input(Some("session-id:r"), 2);
        let mut b = candidates(5);
        Rotation.order(&keyed_again.get(), &mut b);
        assert_eq!(ids(&a), ids(&b));

        let mut starts = [0u32; 5];
        for seed in 0..5000u64 {
            let mut c = candidates(5);
            Rotation.order(&input(None, splitmix(seed)).get(), &mut c);
            starts[(c[0].account.id.0 - 1) as usize] += 1;
        }
        assert!(
            starts.iter().all(|&s| (850..1150).contains(&s)),
            "{starts:?}"
        );
    }
}
