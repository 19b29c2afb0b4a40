//! A [`PoolStore`] test double: [`HookedStore`] forwards every call to a real store after asking
//! a [`StoreHook`], which can count calls or fail them.
//!
//! Two hooks come ready-made: [`CountCalls`] counts calls per method and [`FailNext`] fails the
//! next few calls of one method; a pair of hooks `(A, B)` asks `A`, then `B`.
//!
//! Behind the `testing` feature; the test kit (`codex-pooler-test-kit`) re-exports it.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::sync::atomic::{AtomicUsize, Ordering};
//!
//! use codex_pooler_core::store::testing::{HookedStore, StoreCall, StoreHook};
//! use codex_pooler_core::store::{MemoryStore, PoolStore, StoreError};
//!
//! /// Fails every write of secrets, counts the rest.
//! #[derive(Debug, Default)]
//! struct NoSecretWrites(AtomicUsize);
//!
//! impl StoreHook for NoSecretWrites {
//!     fn before(&self, call: StoreCall) -> Result<(), StoreError> {
//!         self.0.fetch_add(1, Ordering::SeqCst);
//!         match call {
//!             StoreCall::ReplaceSecrets => Err(StoreError::Backend("injected".to_owned())),
//!             _ => Ok(()),
//!         }
//!     }
//! }
//!
//! let store = HookedStore::new(MemoryStore::new(), NoSecretWrites::default());
//! store.create_pool("team").await.unwrap();
//! assert_eq!(store.hook().0.load(Ordering::SeqCst), 1);
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use super::{KeyRotation, NewAccount, NewKey, PoolStore, SealedSecret, StoreError, StoreState};
use crate::model::{
    AccountId, KeyId, KeyPolicy, KeyStatus, Lifecycle, Pool, PoolApiKey, PoolId, PoolStatus,
    PoolWaits, UpstreamAccount,
};
use crate::quota::AccountEvidence;
use crate::record::RequestRecord;

/// One [`PoolStore`] method, as a [`StoreHook`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreCall {
    /// [`PoolStore::create_pool`].
    CreatePool,
    /// [`PoolStore::set_pool_status`].
    SetPoolStatus,
    /// [`PoolStore::set_pool_strategy`].
    SetPoolStrategy,
    /// [`PoolStore::set_pool_v1_enabled`].
    SetPoolV1Enabled,
    /// [`PoolStore::pool_by_slug`].
    PoolBySlug,
    /// [`PoolStore::create_account`].
    CreateAccount,
    /// [`PoolStore::set_account_lifecycle`].
    SetAccountLifecycle,
    /// [`PoolStore::set_account_base_url`].
    SetAccountBaseUrl,
    /// [`PoolStore::replace_secrets`].
    ReplaceSecrets,
    /// [`PoolStore::secrets`].
    Secrets,
    /// [`PoolStore::assign`].
    Assign,
    /// [`PoolStore::create_key`].
    CreateKey,
    /// [`PoolStore::set_key_status`].
    SetKeyStatus,
    /// [`PoolStore::set_key_policy`].
    SetKeyPolicy,
    /// [`PoolStore::unassign`].
    Unassign,
    /// [`PoolStore::remove_account`].
    RemoveAccount,
    /// [`PoolStore::rotate_key`].
    RotateKey,
    /// [`PoolStore::set_pool_waits`].
    SetPoolWaits,
    /// [`PoolStore::version`].
    Version,
    /// [`PoolStore::load_state`].
    LoadState,
    /// [`PoolStore::insert_records`].
    InsertRecords,
    /// [`PoolStore::recent_records`].
    RecentRecords,
    // Quota evidence.
    /// [`PoolStore::save_quota_evidence`].
    SaveQuotaEvidence,
    /// [`PoolStore::load_quota_evidence`].
    LoadQuotaEvidence,
}

/// What a [`HookedStore`] asks before each call.
pub trait StoreHook: Send + Sync + fmt::Debug + 'static {
    /// Runs before `call` reaches the inner store; an error is returned in place of the call's
    /// answer and the inner store is not called. The default lets every call through.
    fn before(&self, call: StoreCall) -> Result<(), StoreError> {
        let _ = call;
        Ok(())
    }
}

/// Lets every call through: a plain forwarder.
impl StoreHook for () {}

/// Asks `A`, then (if `A` let the call through) `B`.
impl<A: StoreHook, B: StoreHook> StoreHook for (A, B) {
    fn before(&self, call: StoreCall) -> Result<(), StoreError> {
        self.0.before(call)?;
        self.1.before(call)
    }
}

/// Counts calls per [`StoreCall`] (including calls another hook then failed, when it comes
/// first in a pair).
#[derive(Debug, Default)]
pub struct CountCalls(Mutex<HashMap<StoreCall, usize>>);

impl CountCalls {
    /// No calls counted yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls of `call` so far.
    pub fn count(&self, call: StoreCall) -> usize {
        self.counts().get(&call).copied().unwrap_or(0)
    }

    /// Calls of any method so far.
    pub fn total(&self) -> usize {
        self.counts().values().sum()
    }

    /// Calls of any method but `call` so far.
    pub fn total_except(&self, call: StoreCall) -> usize {
        self.total() - self.count(call)
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<StoreCall, usize>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl StoreHook for CountCalls {
    fn before(&self, call: StoreCall) -> Result<(), StoreError> {
        *self.counts().entry(call).or_default() += 1;
        Ok(())
    }
}

/// Fails the next [`FailNext::fail_next`] calls of one method with
/// [`StoreError::Backend`]`(message)`; lets everything else through.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use codex_pooler_core::store::testing::{CountCalls, FailNext, HookedStore, StoreCall};
/// use codex_pooler_core::store::{MemoryStore, PoolStore};
///
/// let hook = (CountCalls::new(), FailNext::new(StoreCall::CreatePool, "disk full"));
/// let store = HookedStore::new(MemoryStore::new(), hook);
/// store.hook().1.fail_next(1);
/// assert!(store.create_pool("a").await.is_err());
/// assert!(store.create_pool("a").await.is_ok());
/// assert_eq!(store.hook().0.count(StoreCall::CreatePool), 2);
/// assert_eq!(store.inner().version().await.unwrap(), 1);
/// # }
/// ```
#[derive(Debug)]
pub struct FailNext {
    call: StoreCall,
    message: String,
    remaining: AtomicUsize,
}

impl FailNext {
    /// Fails nothing until [`FailNext::fail_next`] arms it for `call`.
    pub fn new(call: StoreCall, message: impl Into<String>) -> Self {
        Self {
            call,
            message: message.into(),
            remaining: AtomicUsize::new(0),
        }
    }

    /// Fails the next `n` calls of the method (replacing any count left).
    pub fn fail_next(&self, n: usize) {
        self.remaining.store(n, Ordering::SeqCst);
    }

    /// Failures still to come.
    pub fn remaining(&self) -> usize {
        self.remaining.load(Ordering::SeqCst)
    }
}

impl StoreHook for FailNext {
    fn before(&self, call: StoreCall) -> Result<(), StoreError> {
        let failing = call == self.call
            && self
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
        if failing {
            return Err(StoreError::Backend(self.message.clone()));
        }
        Ok(())
    }
}

/// A [`PoolStore`] that forwards every call to `inner` once its [`StoreHook`] allows it.
#[derive(Debug, Default)]
pub struct HookedStore<S, H> {
    inner: S,
    hook: H,
}

impl<S: PoolStore, H: StoreHook> HookedStore<S, H> {
    /// Forwards to `inner`, asking `hook` first.
    pub fn new(inner: S, hook: H) -> Self {
        Self { inner, hook }
    }

    /// The store calls are forwarded to (calls on it bypass the hook).
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The hook.
    pub fn hook(&self) -> &H {
        &self.hook
    }

    /// The inner store and the hook.
    pub fn into_parts(self) -> (S, H) {
        (self.inner, self.hook)
    }
}

#[async_trait]
impl<S: PoolStore, H: StoreHook> PoolStore for HookedStore<S, H> {
    async fn create_pool(&self, slug: &str) -> Result<Pool, StoreError> {
        self.hook.before(StoreCall::CreatePool)?;
        self.inner.create_pool(slug).await
    }
    async fn set_pool_status(&self, p: PoolId, s: PoolStatus) -> Result<(), StoreError> {
        self.hook.before(StoreCall::SetPoolStatus)?;
        self.inner.set_pool_status(p, s).await
    }
    async fn set_pool_strategy(&self, p: PoolId, s: Option<&str>) -> Result<(), StoreError> {
        self.hook.before(StoreCall::SetPoolStrategy)?;
        self.inner.set_pool_strategy(p, s).await
    }
    async fn set_pool_v1_enabled(&self, p: PoolId, on: bool) -> Result<(), StoreError> {
        self.hook.before(StoreCall::SetPoolV1Enabled)?;
        self.inner.set_pool_v1_enabled(p, on).await
    }
    async fn pool_by_slug(&self, slug: &str) -> Result<Option<Pool>, StoreError> {
        self.hook.before(StoreCall::PoolBySlug)?;
        self.inner.pool_by_slug(slug).await
    }
    async fn create_account(&self, a: NewAccount) -> Result<UpstreamAccount, StoreError> {
        self.hook.before(StoreCall::CreateAccount)?;
        self.inner.create_account(a).await
    }
    async fn set_account_lifecycle(&self, a: AccountId, l: Lifecycle) -> Result<(), StoreError> {
        self.hook.before(StoreCall::SetAccountLifecycle)?;
        self.inner.set_account_lifecycle(a, l).await
    }
    async fn set_account_base_url(&self, a: AccountId, u: Option<&str>) -> Result<(), StoreError> {
        self.hook.before(StoreCall::SetAccountBaseUrl)?;
        self.inner.set_account_base_url(a, u).await
    }
    async fn replace_secrets(&self, a: AccountId, s: Vec<SealedSecret>) -> Result<(), StoreError> {
        self.hook.before(StoreCall::ReplaceSecrets)?;
        self.inner.replace_secrets(a, s).await
    }
    async fn secrets(&self, a: AccountId) -> Result<Vec<SealedSecret>, StoreError> {
        self.hook.before(StoreCall::Secrets)?;
        self.inner.secrets(a).await
    }
    async fn assign(&self, p: PoolId, a: AccountId) -> Result<(), StoreError> {
        self.hook.before(StoreCall::Assign)?;
        self.inner.assign(p, a).await
    }
    async fn create_key(&self, k: NewKey) -> Result<PoolApiKey, StoreError> {
        self.hook.before(StoreCall::CreateKey)?;
        self.inner.create_key(k).await
    }
    async fn set_key_status(&self, k: KeyId, s: KeyStatus) -> Result<(), StoreError> {
        self.hook.before(StoreCall::SetKeyStatus)?;
        self.inner.set_key_status(k, s).await
    }
    async fn set_key_policy(&self, k: KeyId, p: KeyPolicy) -> Result<(), StoreError> {
        self.hook.before(StoreCall::SetKeyPolicy)?;
        self.inner.set_key_policy(k, p).await
    }
    async fn unassign(&self, p: PoolId, a: AccountId) -> Result<(), StoreError> {
        self.hook.before(StoreCall::Unassign)?;
        self.inner.unassign(p, a).await
    }
    async fn remove_account(&self, a: AccountId) -> Result<(), StoreError> {
        self.hook.before(StoreCall::RemoveAccount)?;
        self.inner.remove_account(a).await
    }
    async fn rotate_key(&self, k: KeyId, r: KeyRotation) -> Result<PoolApiKey, StoreError> {
        self.hook.before(StoreCall::RotateKey)?;
        self.inner.rotate_key(k, r).await
    }
    async fn set_pool_waits(&self, p: PoolId, w: PoolWaits) -> Result<(), StoreError> {
        self.hook.before(StoreCall::SetPoolWaits)?;
        self.inner.set_pool_waits(p, w).await
    }
    async fn version(&self) -> Result<u64, StoreError> {
        self.hook.before(StoreCall::Version)?;
        self.inner.version().await
    }
    async fn load_state(&self) -> Result<StoreState, StoreError> {
        self.hook.before(StoreCall::LoadState)?;
        self.inner.load_state().await
    }
    async fn insert_records(&self, r: &[RequestRecord]) -> Result<(), StoreError> {
        self.hook.before(StoreCall::InsertRecords)?;
        self.inner.insert_records(r).await
    }
    async fn recent_records(&self, limit: usize) -> Result<Vec<RequestRecord>, StoreError> {
        self.hook.before(StoreCall::RecentRecords)?;
        self.inner.recent_records(limit).await
    }
    // Quota evidence.
    async fn save_quota_evidence(&self, e: &[AccountEvidence]) -> Result<(), StoreError> {
        self.hook.before(StoreCall::SaveQuotaEvidence)?;
        self.inner.save_quota_evidence(e).await
    }
    async fn load_quota_evidence(&self) -> Result<Vec<AccountEvidence>, StoreError> {
        self.hook.before(StoreCall::LoadQuotaEvidence)?;
        self.inner.load_quota_evidence().await
    }
}
