//! Pool scope: which pools' rows an operator may read.

use codex_pooler_core::model::PoolId;

/// The pools whose rows a query may return.
///
/// An owner sees [`PoolScope::All`]; an admin scoped to pools sees [`PoolScope::Pools`] (an
/// empty set sees nothing). Rows outside the scope are never returned, so a handler can
/// answer 404 for them without leaking that they exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PoolScope {
    /// Every pool.
    #[default]
    All,
    /// Only these pools.
    Pools(Vec<PoolId>),
}

impl PoolScope {
    /// Whether rows of `pool` are visible.
    pub fn allows(&self, pool: PoolId) -> bool {
        match self {
            Self::All => true,
            Self::Pools(pools) => pools.contains(&pool),
        }
    }
}
