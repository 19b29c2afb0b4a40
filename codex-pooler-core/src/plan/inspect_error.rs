//! [`InspectError`]: what an operator's routing question can name that does not exist.

use crate::model::{AccountId, PoolId};

/// A routing explanation, dry run or runway asked about something the configuration does not
/// hold. Its [`code`](Self::code) is stable; an API answers it as a 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// No pool has this id.
    #[error("no pool with id {0}")]
    UnknownPool(PoolId),
    /// No account has this id.
    #[error("no upstream account with id {0}")]
    UnknownAccount(AccountId),
}

impl InspectError {
    /// The stable code: `unknown_pool` or `unknown_account`.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::UnknownPool(_) => "unknown_pool",
            Self::UnknownAccount(_) => "unknown_account",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages() {
        let pool = InspectError::UnknownPool(PoolId(7));
        assert_eq!(pool.code(), "unknown_pool");
        assert_eq!(pool.to_string(), "no pool with id 7");
        let account = InspectError::UnknownAccount(AccountId(3));
        assert_eq!(account.code(), "unknown_account");
        assert_eq!(account.to_string(), "no upstream account with id 3");
    }
}
