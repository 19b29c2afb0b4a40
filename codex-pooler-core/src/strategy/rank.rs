//! Ordering by a precomputed rank: the engine under every scored strategy.
//!
//! A scored strategy maps each candidate to an integer rank (higher is better). Scores that are
//! floats are bucketed first, so that practically equal accounts tie and the tie is broken by
//! rendezvous weight (sticky per thread) and then by load
//! ([`p2c_tie_break`](super::p2c_tie_break)), instead of by float noise.

use std::time::SystemTime;

use super::{Candidate, Rendezvous, StrategyInput};

/// How many mantissa bits [`relative_bucket`] keeps: scores within about 1/64 (1.6 %) of each
/// other share a bucket.
const BUCKET_MANTISSA_BITS: u32 = 6;

/// Orders `candidates` by `rank` (descending), ties by rendezvous weight on the request's
/// affinity, then lets the less loaded of two tied leaders go first. Only the first `top`
/// positions are guaranteed; pass the slice length for a full order.
pub(crate) fn order_ranked(
    input: &StrategyInput<'_>,
    candidates: &mut [Candidate],
    top: usize,
    mut rank: impl FnMut(&Candidate) -> u32,
) {
    let affinity = input.affinity();
    arrange(candidates, top, Some(affinity), |c| {
        (rank(c), Rendezvous::weight(affinity, c.account.id))
    });
}

/// The low bits of a packed sort key: the candidate's input index.
const INDEX_MASK: u128 = u32::MAX as u128;

/// Arranges `candidates` best first by `(rank, weight)`, both descending (equal keys keep their
/// input order), then, with a `p2c_seed`, applies [`p2c_tie_break`](super::p2c_tie_break) to the
/// group tied on the top rank.
///
/// Only the first `top` positions are put in that order; the rest of the slice is left in an
/// unspecified order. The first `top` are the same as in a full arrangement.
///
/// Each key is computed once and packed with the input index into one `u128`
/// (`!rank | !weight | index`, so an ascending integer sort puts the best first). Only those
/// integers are sorted, or for a short `top` selected in O(n), and only the first `top`
/// candidates are then moved into place with swaps, so nothing is cloned.
pub(crate) fn arrange(
    candidates: &mut [Candidate],
    top: usize,
    p2c_seed: Option<u64>,
    mut key: impl FnMut(&Candidate) -> (u32, u64),
) {
    let len = candidates.len();
    if len < 2 || top == 0 {
        return;
    }
    // Indices fit in 32 bits: a slice of 2^32 candidates (over 300 GB) cannot be planned.
    let mut keys: Vec<u128> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (rank, weight) = key(c);
            pack(rank, weight, i as u32)
        })
        .collect();
    let top = top.min(len);
    arrange_keys(&mut keys, top, p2c_seed, |i| candidates[i].in_flight);
    let index = |k: u128| (k & INDEX_MASK) as usize;

    // Move the wanted candidates into the first `top` slots (as `slice::sort_by_cached_key`
    // does): the candidate for slot `i` is at the index packed in `keys[i]`, unless an earlier
    // swap moved it; follow the chain of earlier slots to find it.
    for i in 0..top {
        let mut from = index(keys[i]);
        while from < i {
            from = index(keys[from]);
        }
        keys[i] = (keys[i] & !INDEX_MASK) | from as u128;
        candidates.swap(i, from);
    }
}

/// Packs a sort key: ascending integer order is `rank` descending, then `weight` descending,
/// then `index` ascending.
pub(crate) fn pack(rank: u32, weight: u64, index: u32) -> u128 {
    let order = !((u128::from(rank) << 96) | (u128::from(weight) << 32));
    (order & !INDEX_MASK) | u128::from(index)
}

/// The rank packed in a key by [`pack`].
pub(crate) fn rank_of(key: u128) -> u32 {
    !((key >> 96) as u32)
}

/// The weight packed in a key by [`pack`].
pub(crate) fn weight_of_packed(key: u128) -> u64 {
    !((key >> 32) as u64)
}

/// The index packed in a key by [`pack`].
pub(crate) fn index_of(key: u128) -> usize {
    (key & INDEX_MASK) as usize
}

/// The key-level part of [`arrange`]: puts the best `top` of `keys` first, in order, then, with
/// a `p2c_seed`, lets the challenger of the group tied on the best rank go first when
/// `in_flight` (by packed index) says it is less loaded.
///
/// `keys` must hold every key tied on the best rank (the challenger is drawn among them); the
/// planner passes a subset of a pool's keys that holds them and the best `top`, and gets the same
/// first `top` as for the whole pool.
pub(crate) fn arrange_keys(
    keys: &mut [u128],
    top: usize,
    p2c_seed: Option<u64>,
    in_flight: impl Fn(usize) -> u32,
) {
    let len = keys.len();
    let top = top.min(len);
    if top == 0 {
        return;
    }
    if top == len {
        keys.sort_unstable();
    } else {
        keys.select_nth_unstable(top - 1);
        keys[..top].sort_unstable();
    }
    // Power of two choices among the top tie, on the keys, so it works on a partial order.
    if let Some(seed) = p2c_seed {
        let best = keys[0] >> 96;
        let tied = keys.iter().filter(|k| *k >> 96 == best).count();
        if let Some(c) = super::p2c::challenger(tied, seed) {
            if c >= top {
                // Bring the `c`-th best into position `c` (the slice beyond `top` is unsorted).
                keys[top..].select_nth_unstable(c - top);
            }
            if in_flight(index_of(keys[c])) < in_flight(index_of(keys[0])) {
                keys[..=c].rotate_right(1);
            }
        }
    }
}

/// A monotonic integer bucket for a non-negative score, below 2^18: equal buckets mean the scores
/// agree to within about 1.6 % (relative). Negative and NaN scores fall in bucket 0.
pub(crate) fn relative_bucket(score: f64) -> u32 {
    if score.is_nan() || score <= 0.0 {
        return 0;
    }
    // For positive floats the IEEE-754 bit pattern orders like the value; dropping low mantissa
    // bits groups neighbours. What is left is the 11-bit exponent and 6 mantissa bits.
    (score.to_bits() >> (f64::MANTISSA_DIGITS - 1 - BUCKET_MANTISSA_BITS)) as u32
}

/// Whole seconds since the Unix epoch: 0 before it, saturating in 2106.
pub(crate) fn epoch_seconds(t: SystemTime) -> u32 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::rendezvous::splitmix;
    use crate::strategy::tests::{candidates, ids};

    #[test]
    fn a_partial_arrangement_matches_the_full_one_even_when_the_challenger_is_far() {
        let mut far = 0;
        for seed in 0..500u64 {
            let mut base = candidates(40);
            for (i, c) in base.iter_mut().enumerate() {
                c.in_flight = (splitmix(seed ^ i as u64) % 3) as u32;
            }
            let key = |c: &Candidate| (0, splitmix(c.account.id.0 as u64 ^ seed));
            let mut full = base.clone();
            arrange(&mut full, 40, Some(seed), key);
            for top in [1, 2, 3] {
                let mut part = base.clone();
                arrange(&mut part, top, Some(seed), key);
                assert_eq!(
                    ids(&full)[..top],
                    ids(&part)[..top],
                    "seed {seed} top {top}"
                );
            }
            far += usize::from(crate::strategy::p2c::challenger(40, seed) >= Some(3));
        }
        assert!(far > 400, "{far}");
    }

    #[test]
    fn buckets_are_monotonic_and_group_neighbours() {
        let xs = [0.0, 1e-6, 0.3, 0.31, 1.0, 1.01, 2.0, 20.0, 400.0];
        for w in xs.windows(2) {
            assert!(relative_bucket(w[0]) <= relative_bucket(w[1]), "{w:?}");
        }
        assert_eq!(relative_bucket(1.0), relative_bucket(1.01));
        assert!(relative_bucket(1.0) < relative_bucket(1.05));
        assert_eq!(relative_bucket(-1.0), 0);
        assert_eq!(relative_bucket(f64::NAN), 0);
    }
}
