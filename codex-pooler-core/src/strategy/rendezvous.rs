//! Rendezvous (highest-random-weight) ordering.

use super::rank::arrange;
use std::time::SystemTime;

use super::{Candidate, RankedStrategy, RoutingStrategy, StrategyInput};
use crate::model::AccountId;
use crate::quota::QuotaView;

/// Orders accounts by a rendezvous hash of the request's continuity key and the account id.
///
/// 1. Take the request's [`affinity`](StrategyInput::affinity): a hash of its continuity key
///    (session id, turn state, prompt cache key), or without one its random seed.
/// 2. Score each candidate [`Rendezvous::weight`]`(affinity, account id)`.
/// 3. Sort by descending weight.
/// 4. Only for a request without a continuity key, where every account is equally good:
///    [`p2c_tie_break`](super::p2c_tie_break) over the whole list, so a keyless request avoids the busier of two
///    random accounts.
///
/// A thread therefore stays on the same account while that account stays eligible, and when an
/// account leaves the pool only the threads it held move. Requests without any key spread
/// uniformly (and by load, once in-flight counts differ).
#[derive(Debug, Clone, Copy, Default)]
pub struct Rendezvous;

impl Rendezvous {
    /// The rendezvous weight of `account` for a request with `affinity`: a well-mixed 64-bit
    /// hash, higher is preferred.
    ///
    /// Every built-in strategy breaks ties with it, so equal accounts are ordered the same way
    /// for the same thread whichever strategy runs.
    pub fn weight(affinity: u64, account: AccountId) -> u64 {
        weight_of(affinity, id_hash(account))
    }
}

impl RoutingStrategy for Rendezvous {
    fn name(&self) -> &'static str {
        "rendezvous"
    }

    fn order(&self, input: &StrategyInput<'_>, candidates: &mut [Candidate]) {
        self.order_top(input, candidates, candidates.len());
    }

    fn order_top(&self, input: &StrategyInput<'_>, candidates: &mut [Candidate], k: usize) {
        let affinity = input.affinity();
        // Every candidate has rank 0, so without a key the whole list is the tie group.
        let p2c = input.facts.continuity_key.is_none().then_some(affinity);
        arrange(candidates, k, p2c, |c| {
            (0, Self::weight(affinity, c.account.id))
        });
    }

    fn ranked(&self) -> Option<&dyn RankedStrategy> {
        Some(self)
    }
}

impl RankedStrategy for Rendezvous {
    fn rank(&self, _quota: &QuotaView, _now: SystemTime) -> u32 {
        0
    }

    fn p2c(&self, input: &StrategyInput<'_>) -> bool {
        input.facts.continuity_key.is_none()
    }
}

/// The part of [`Rendezvous::weight`] that depends only on the account, for caches.
pub(crate) fn id_hash(account: AccountId) -> u64 {
    // The id's bit pattern is what is hashed; reinterpreting the sign is intended.
    splitmix(account.0 as u64)
}

/// [`Rendezvous::weight`] from the account's [`id_hash`].
pub(crate) fn weight_of(affinity: u64, id_hash: u64) -> u64 {
    splitmix(affinity ^ id_hash)
}

/// 64-bit FNV-1a.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The splitmix64 finaliser: a cheap, well-mixing 64-bit permutation.
pub(crate) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::from_unix_seconds;
    use crate::model::{AccountId, KeyId, PoolId, UpstreamAccount};
    use crate::request::RequestFacts;

    fn candidates(n: i64) -> Vec<Candidate> {
        (1..=n)
            .map(|i| {
                Candidate::new(Arc::new(UpstreamAccount::new(
                    AccountId(i),
                    format!("a{i}"),
                )))
            })
            .collect()
    }

    fn first(facts: &RequestFacts, seed: u64, c: &mut [Candidate]) -> i64 {
        let input = StrategyInput {
            facts,
            pool: PoolId(1),
            key: KeyId(1),
            seed,
            now: from_unix_seconds(0),
        };
        Rendezvous.order(&input, c);
        c[0].account.id.0
    }

    #[test]
    fn same_key_same_account_and_stable_when_others_leave() {
        let facts = RequestFacts {
            continuity_key: Some("session-id:t1".into()),
            ..RequestFacts::default()
        };
        let mut all = candidates(5);
        let chosen = first(&facts, 1, &mut all);
        assert_eq!(first(&facts, 2, &mut candidates(5)), chosen);
        // Removing a different account does not move the thread.
        let mut fewer: Vec<_> = candidates(5)
            .into_iter()
            .filter(|c| c.account.id.0 != (chosen % 5) + 1)
            .collect();
        assert_eq!(first(&facts, 3, &mut fewer), chosen);
    }

    #[test]
    fn keyless_requests_spread() {
        let facts = RequestFacts::default();
        let mut counts = [0u32; 4];
        for seed in 0..4000u64 {
            let id = first(&facts, splitmix(seed), &mut candidates(4));
            counts[(id - 1) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn keyless_requests_avoid_the_busier_of_two() {
        let facts = RequestFacts::default();
        let mut first_was_busy = 0;
        for seed in 0..400u64 {
            let mut c = candidates(4);
            c[0].in_flight = 5;
            first(&facts, splitmix(seed), &mut c);
            first_was_busy += u32::from(c[0].in_flight == 5);
        }
        assert_eq!(first_was_busy, 0);
    }

    #[test]
    fn keyed_requests_ignore_load() {
        let facts = RequestFacts {
            continuity_key: Some("session-id:t2".into()),
            ..RequestFacts::default()
        };
        let chosen = first(&facts, 1, &mut candidates(4));
        let mut busy = candidates(4);
        busy[(chosen - 1) as usize].in_flight = 9;
        assert_eq!(first(&facts, 1, &mut busy), chosen);
    }
}
