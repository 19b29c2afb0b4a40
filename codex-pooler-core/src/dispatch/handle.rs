//! [`AccountHandles`]: the opaque account handles the routing receipt shows clients.

use std::fmt::{self, Write};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::AccountId;

/// Makes the handle of an account (`acct_` and 12 hex digits) shown in the routing receipt
/// and by `codex-pooler upstreams list`: HMAC-SHA256 of the store id under a per-deployment
/// key, cut to 48 bits. Without the key a handle tells nothing about the account, and the same
/// id gives different handles in different deployments. `Debug` never shows the key.
///
/// ```
/// use codex_pooler_core::dispatch::AccountHandles;
/// use codex_pooler_core::model::AccountId;
///
/// let handles = AccountHandles::new([7; 32]);
/// let handle = handles.handle(AccountId(1));
/// assert_eq!(handle.len(), "acct_".len() + 12);
/// assert_ne!(handle, AccountHandles::new([8; 32]).handle(AccountId(1)));
/// ```
#[derive(Clone)]
pub struct AccountHandles {
    /// HMAC keyed once; each handle starts from a clone of it.
    keyed: Hmac<Sha256>,
}

impl AccountHandles {
    /// Handles under `key`, a secret of the deployment (the reference server derives it from
    /// its first hashing key, so handles outlive secret-key rotation).
    pub fn new(key: [u8; 32]) -> Self {
        // HMAC takes keys of any length; `new_from_slice` never fails for it.
        let keyed = Hmac::<Sha256>::new_from_slice(&key)
            .unwrap_or_else(|_| unreachable!("hmac accepts any key length"));
        Self { keyed }
    }

    /// The handle of `account`: stable for this key, distinct per account.
    pub fn handle(&self, account: AccountId) -> String {
        let mut mac = self.keyed.clone();
        mac.update(b"codex-pooler account-handle v1:");
        mac.update(&account.0.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(17);
        out.push_str("acct_");
        for byte in &digest[..6] {
            let _ = write!(out, "{byte:02x}");
        }
        out
    }
}

impl fmt::Debug for AccountHandles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccountHandles { key: <redacted> }")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn handles_are_stable_distinct_opaque_and_keyed() {
        let handles = AccountHandles::new([1; 32]);
        let other = AccountHandles::new([2; 32]);
        assert_eq!(handles.handle(AccountId(7)), handles.handle(AccountId(7)));
        let all: HashSet<String> = (1..=1000).map(|id| handles.handle(AccountId(id))).collect();
        assert_eq!(all.len(), 1000, "two accounts share a handle");
        for id in 1..=1000_i64 {
            let handle = handles.handle(AccountId(id));
            let hex = handle.strip_prefix("acct_").expect("acct_ prefix");
            assert_eq!(hex.len(), 12, "{handle}");
            assert!(
                hex.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{handle}"
            );
            assert_ne!(hex, format!("{id:012x}"));
            // Keyed: another deployment's handle of the same id differs.
            assert_ne!(handle, other.handle(AccountId(id)));
        }
        assert!(!format!("{handles:?}").contains("1, 1"));
    }
}
