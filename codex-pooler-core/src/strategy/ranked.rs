//! [`RankedStrategy`]: the contract that lets the planner order a large pool without building a
//! candidate for every account.

use std::time::SystemTime;

use super::StrategyInput;
use crate::quota::QuotaView;

/// A strategy whose order is a rank per account, with the built-in tie-breaks.
///
/// A strategy that returns itself from
/// [`RoutingStrategy::ranked`](super::RoutingStrategy::ranked) promises that its
/// [`order_top`](super::RoutingStrategy::order_top) is exactly:
///
/// 1. by [`rank`](Self::rank) of each candidate's quota at the request's `now`, highest first;
/// 2. ties by [`Rendezvous::weight`](super::Rendezvous::weight) on the request's
///    [`affinity`](StrategyInput::affinity), highest first, then by position in the input;
/// 3. when [`p2c`](Self::p2c) says so for the request, [`p2c_tie_break`](super::p2c_tie_break)
///    with the affinity as seed over the group tied on the leading rank.
///
/// And that `rank`, for a fixed quota view, never decreases as `now` grows.
///
/// The planner then keeps each account's rank between requests, bounded over the time its
/// quota view holds, and looks only at the accounts that can reach the first places (see
/// `docs/routing.md`, "Plan benchmark"). The built-in [`ResetAware`](super::ResetAware),
/// [`HeadroomFirst`](super::HeadroomFirst) and [`Rendezvous`](super::Rendezvous) are ranked.
pub trait RankedStrategy: Send + Sync {
    /// The rank of an account whose quota is `quota` at `now`; higher goes first.
    fn rank(&self, quota: &QuotaView, now: SystemTime) -> u32;

    /// Whether step 3 applies to this request.
    fn p2c(&self, input: &StrategyInput<'_>) -> bool;
}
