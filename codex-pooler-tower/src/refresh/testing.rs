//! Test helpers: a memory store whose secret writes can fail.

use std::sync::atomic::{AtomicUsize, Ordering};

use codex_pooler_core::store::testing::{HookedStore, StoreCall, StoreHook};
use codex_pooler_core::store::{MemoryStore, StoreError};

/// A memory store with the [`Flaky`] hook.
pub(crate) type FlakyStore = HookedStore<MemoryStore, Flaky>;

/// Fails `replace_secrets` the next `fail_writes` times; counts the credential calls
/// (lifecycle, base URL and secret reads and writes).
#[derive(Debug, Default)]
pub(crate) struct Flaky {
    pub(crate) fail_writes: AtomicUsize,
    pub(crate) calls: AtomicUsize,
}

impl StoreHook for Flaky {
    fn before(&self, call: StoreCall) -> Result<(), StoreError> {
        match call {
            StoreCall::SetAccountLifecycle | StoreCall::SetAccountBaseUrl | StoreCall::Secrets => {
                self.calls.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
            StoreCall::ReplaceSecrets => {
                self.calls.fetch_add(1, Ordering::SeqCst);
                let failing = self
                    .fail_writes
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if failing {
                    return Err(StoreError::Backend("injected write failure".to_owned()));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
