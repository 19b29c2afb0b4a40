//! Routing strategies: how the eligible accounts of a pool are ordered for one request.
//!
//! A strategy sees only accounts that passed every hard check; it cannot make an ineligible
//! account eligible. Write your own by implementing [`RoutingStrategy`] and handing it to
//! [`Planner::new`](crate::plan::Planner::new).
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

mod rendezvous;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::facts::RequestFacts;
use crate::model::{KeyId, PoolId, UpstreamAccount};
use crate::quota::QuotaView;

pub use rendezvous::Rendezvous;

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

/// Orders eligible accounts for one request; the first is tried first.
pub trait RoutingStrategy: Send + Sync + fmt::Debug + 'static {
    /// A stable name, shown in records and routing receipts.
    fn name(&self) -> &'static str;

    /// Reorders `candidates` in place, best first. Must be deterministic for a given input.
    fn order(&self, input: &StrategyInput<'_>, candidates: &mut [Candidate]);
}
