//! What an operator may see and change.

use std::collections::BTreeSet;

use codex_pooler_core::model::PoolId;

/// The pools an operator's requests reach.
///
/// Anything outside the scope answers exactly as if it did not exist (404), so an admin cannot
/// learn that another pool, its accounts or its keys exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every pool (the owner).
    All,
    /// Only these pools (an admin).
    Pools(BTreeSet<PoolId>),
}

impl Scope {
    /// Whether `pool` is in scope.
    pub fn allows(&self, pool: PoolId) -> bool {
        match self {
            Self::All => true,
            Self::Pools(pools) => pools.contains(&pool),
        }
    }

    /// Whether every pool in `pools` is in scope.
    pub fn allows_all(&self, pools: &[PoolId]) -> bool {
        pools.iter().all(|p| self.allows(*p))
    }

    /// Whether any pool of `pools` is in scope (an account assigned to several pools is visible
    /// to an admin of any of them).
    pub fn allows_any(&self, pools: &[PoolId]) -> bool {
        match self {
            Self::All => true,
            Self::Pools(_) => pools.iter().any(|p| self.allows(*p)),
        }
    }

    /// The pools a query is limited to: `None` for every pool.
    pub fn pool_filter(&self) -> Option<Vec<PoolId>> {
        match self {
            Self::All => None,
            Self::Pools(pools) => Some(pools.iter().copied().collect()),
        }
    }
}
