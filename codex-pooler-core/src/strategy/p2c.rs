//! Power-of-two-choices on in-flight load, among candidates a strategy considers equal.

use super::Candidate;
use super::rendezvous::splitmix;

/// Lets the less loaded of two tied leaders go first (power of two choices).
///
/// `tied` is how many candidates at the front of `candidates` the strategy ranks equal (its
/// leading tie group). Algorithm:
///
/// 1. With fewer than two tied candidates, do nothing.
/// 2. First choice: the head of the tie group. The built-in strategies order ties by rendezvous
///    weight, so the head is already a seeded, uniform pick, and it is the one a thread keeps
///    while loads are equal.
/// 3. Second choice: the tied candidate at `1 + splitmix(seed) % (tied - 1)`.
/// 4. If the second has strictly fewer requests in flight, move it to the front; everything else
///    keeps its relative order.
///
/// Deterministic: the same candidates, `tied` and `seed` give the same order. Pass the request's
/// [`affinity`](super::StrategyInput::affinity) as `seed` so a thread draws the same challenger
/// every time. `tied` larger than the slice is clamped.
///
/// ```
/// # use std::sync::Arc;
/// # use codex_pooler_core::model::{AccountId, UpstreamAccount};
/// use codex_pooler_core::strategy::{Candidate, p2c_tie_break};
/// # let account = |id| Arc::new(UpstreamAccount::new(AccountId(id), format!("a{id}")));
/// let mut busy = Candidate::new(account(1));
/// busy.in_flight = 4;
/// let idle = Candidate::new(account(2));
/// let mut candidates = vec![busy, idle];
/// p2c_tie_break(&mut candidates, 2, 7);
/// assert_eq!(candidates[0].account.id, AccountId(2));
/// ```
pub fn p2c_tie_break(candidates: &mut [Candidate], tied: usize, seed: u64) {
    let Some(challenger) = challenger(tied.min(candidates.len()), seed) else {
        return;
    };
    if candidates[challenger].in_flight < candidates[0].in_flight {
        candidates[..=challenger].rotate_right(1);
    }
}

/// Step 3: the position of the second choice in a tie group of `tied`, if there is one.
pub(crate) fn challenger(tied: usize, seed: u64) -> Option<usize> {
    // `tied - 1` fits in u64 on every supported target; the remainder is below `tied`.
    (tied >= 2).then(|| 1 + (splitmix(seed ^ 0x7032_6321) % (tied as u64 - 1)) as usize)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{AccountId, UpstreamAccount};

    fn candidate(id: i64, in_flight: u32) -> Candidate {
        Candidate {
            in_flight,
            ..Candidate::new(Arc::new(UpstreamAccount::new(
                AccountId(id),
                format!("a{id}"),
            )))
        }
    }

    fn ids(c: &[Candidate]) -> Vec<i64> {
        c.iter().map(|c| c.account.id.0).collect()
    }

    #[test]
    fn equal_load_keeps_the_head() {
        for seed in 0..50 {
            let mut c: Vec<_> = (1..=5).map(|i| candidate(i, 2)).collect();
            p2c_tie_break(&mut c, 5, seed);
            assert_eq!(ids(&c), [1, 2, 3, 4, 5]);
        }
    }

    #[test]
    fn a_less_loaded_challenger_goes_first_and_others_keep_order() {
        let mut c = vec![candidate(1, 3), candidate(2, 0), candidate(3, 0)];
        p2c_tie_break(&mut c, 3, 11);
        // Whichever idle account was drawn leads; the displaced head comes right after it.
        assert!(
            ids(&c) == [2, 1, 3] || ids(&c) == [3, 1, 2],
            "{:?}",
            ids(&c)
        );
    }

    #[test]
    fn only_the_tie_group_is_considered() {
        let mut c = vec![candidate(1, 9), candidate(2, 0)];
        p2c_tie_break(&mut c, 1, 3);
        assert_eq!(ids(&c), [1, 2]);
        p2c_tie_break(&mut c, 99, 3);
        assert_eq!(ids(&c), [2, 1]);
    }

    #[test]
    fn challengers_spread_over_the_tie_group() {
        let mut wins = [0u32; 4];
        for seed in 0..3000u64 {
            let mut c = vec![
                candidate(1, 5),
                candidate(2, 0),
                candidate(3, 0),
                candidate(4, 0),
            ];
            p2c_tie_break(&mut c, 4, splitmix(seed));
            wins[(c[0].account.id.0 - 1) as usize] += 1;
        }
        assert_eq!(wins[0], 0);
        assert!(
            wins[1..].iter().all(|&w| (800..1200).contains(&w)),
            "{wins:?}"
        );
    }
}
