//! The many-to-many link between pools and upstream accounts.

use serde::{Deserialize, Serialize};

use super::{AccountId, PoolId};

/// An upstream account assigned to a pool. An account may serve several pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Assignment {
    /// The pool.
    pub pool: PoolId,
    /// The account.
    pub account: AccountId,
}
