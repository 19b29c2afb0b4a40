//! Routing strategies: how the eligible accounts of a pool are ordered for one request.
//!
//! A strategy sees only accounts that passed every hard check; it cannot make an ineligible
//! account eligible. The built-in strategies, selectable per pool by name through
//! [`StrategyKind`]:
//!
//! | name | strategy | first choice |
//! | --- | --- | --- |
//! | `rendezvous` | [`Rendezvous`] | a stable hash of the continuity key (sticky threads) |
//! | `rotation` | [`Rotation`] | the pool order, rotated by a hash of the key or seed |
//! | `least_recent_success` | [`LeastRecentSuccess`] | the account idle longest |
//! | `headroom_first` | [`HeadroomFirst`] | the most quota left |
//! | `reset_aware` | [`ResetAware`] | the quota that resets soonest, weighed by what is left |
//!
//! Every scored strategy breaks ties the same way: by rendezvous weight on the continuity key,
//! then [`p2c_tie_break`] on in-flight load among the leading tie group.
//!
//! Write your own by implementing [`RoutingStrategy`] and handing it to
//! [`Planner::new`](crate::plan::Planner::new). The planner builds a [`Candidate`] for every
//! eligible account and calls [`order_top`](RoutingStrategy::order_top). A strategy whose order
//! is a rank per account with the built-in tie-breaks can also return itself from
//! [`RoutingStrategy::ranked`] as a [`RankedStrategy`]; the planner then keeps ranks between
//! requests and, in large pools, looks only at the accounts that can come first.
//!
//! ```
//! use codex_pooler_core::strategy::{Candidate, RoutingStrategy, StrategyInput};
//!
//! /// Prefers the account with the most quota headroom left.
//! #[derive(Debug)]
//! struct MostHeadroom;
//!
//! impl RoutingStrategy for MostHeadroom {
//!     fn name(&self) -> &'static str {
//!         "most_headroom"
//!     }
//!     fn order(&self, _input: &StrategyInput<'_>, candidates: &mut [Candidate]) {
//!         candidates.sort_by(|a, b| {
//!             b.quota.remaining_percent().total_cmp(&a.quota.remaining_percent())
//!         });
//!     }
//! }
//! ```

mod headroom_first;
mod kind;
mod least_recent_success;
mod p2c;
mod rank;
mod ranked;
mod rendezvous;
mod reset_aware;
mod rotation;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::model::{KeyId, PoolId, UpstreamAccount};
use crate::quota::QuotaView;
use crate::request::RequestFacts;

pub use headroom_first::HeadroomFirst;
pub use kind::StrategyKind;
pub use least_recent_success::LeastRecentSuccess;
pub use p2c::p2c_tie_break;
pub(crate) use rank::{arrange_keys, index_of, pack, rank_of, weight_of_packed};
pub use ranked::RankedStrategy;
pub use rendezvous::Rendezvous;
pub(crate) use rendezvous::{id_hash, weight_of};
pub use reset_aware::ResetAware;
pub use rotation::Rotation;

/// One eligible account, with what a strategy may weigh.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The account.
    pub account: Arc<UpstreamAccount>,
    /// Its quota, as far as fresh evidence tells.
    pub quota: QuotaView,
    /// Requests in flight on it now (in this process).
    pub in_flight: u32,
    /// When it last answered successfully (in this process).
    pub last_success: Option<SystemTime>,
}

impl Candidate {
    /// A candidate with no evidence, nothing in flight and no success yet.
    pub fn new(account: Arc<UpstreamAccount>) -> Self {
        Self {
            account,
            quota: QuotaView::unknown(),
            in_flight: 0,
            last_success: None,
        }
    }
}

/// What a strategy knows about the request it orders candidates for.
#[derive(Debug, Clone, Copy)]
pub struct StrategyInput<'a> {
    /// The request's facts (model, continuity key).
    pub facts: &'a RequestFacts,
    /// The pool.
    pub pool: PoolId,
    /// The Pool API key.
    pub key: KeyId,
    /// A per-request random seed (use it when there is no continuity key).
    pub seed: u64,
    /// The current time.
    pub now: SystemTime,
}

impl StrategyInput<'_> {
    /// The request's affinity: a hash of its continuity key, or its random seed when it has
    /// none.
    ///
    /// Strategies derive every deterministic choice from it, so a thread is ordered the same way
    /// on every request while keyless requests spread.
    pub fn affinity(&self) -> u64 {
        match &self.facts.continuity_key {
            Some(key) => rendezvous::fnv1a(key.as_bytes()),
            None => self.seed,
        }
    }
}

/// Orders eligible accounts for one request; the first is tried first.
pub trait RoutingStrategy: Send + Sync + fmt::Debug + 'static {
    /// A stable name, shown in records and routing receipts.
    fn name(&self) -> &'static str;

    /// Reorders `candidates` in place, best first. Must be deterministic for a given input.
    fn order(&self, input: &StrategyInput<'_>, candidates: &mut [Candidate]);

    /// Puts the `k` best candidates first, in the order [`order`](Self::order) gives them; the
    /// rest of the slice may be left in any order (it stays a permutation).
    ///
    /// A planner that tries at most `k` accounts needs no more. The built-in strategies select
    /// the first `k` in O(n) instead of sorting; the default orders everything.
    fn order_top(&self, input: &StrategyInput<'_>, candidates: &mut [Candidate], k: usize) {
        let _ = k;
        self.order(input, candidates);
    }

    /// This strategy as a [`RankedStrategy`], if its order is one: then the planner may order a
    /// large pool from cached ranks without calling [`order_top`](Self::order_top). The default
    /// is `None`, which is always correct.
    fn ranked(&self) -> Option<&dyn RankedStrategy> {
        None
    }
}

#[cfg(test)]
pub(crate) mod tests;
