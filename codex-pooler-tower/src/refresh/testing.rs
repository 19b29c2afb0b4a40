//! Test helpers: unsigned JWTs and a store whose writes can fail.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use codex_pooler_core::model::{
    AccountId, KeyId, KeyStatus, Lifecycle, Pool, PoolApiKey, PoolId, PoolStatus, UpstreamAccount,
};
use codex_pooler_core::record::RequestRecord;
use codex_pooler_core::store::{
    MemoryStore, NewAccount, NewKey, PoolStore, SealedSecret, StoreError, StoreState,
};
use serde_json::Value;

/// An unsigned JWT around `claims`.
pub(crate) fn fake_jwt(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.fakesig")
}

/// A memory store whose `replace_secrets` fails the next `fail_writes` times.
#[derive(Debug, Default)]
pub(crate) struct Flaky {
    pub(crate) inner: MemoryStore,
    pub(crate) fail_writes: AtomicUsize,
    pub(crate) calls: AtomicUsize,
}

impl Flaky {
    fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl PoolStore for Flaky {
    async fn create_pool(&self, slug: &str) -> Result<Pool, StoreError> {
        self.inner.create_pool(slug).await
    }
    async fn set_pool_status(&self, p: PoolId, s: PoolStatus) -> Result<(), StoreError> {
        self.inner.set_pool_status(p, s).await
    }
    async fn set_pool_strategy(&self, p: PoolId, s: Option<&str>) -> Result<(), StoreError> {
        self.inner.set_pool_strategy(p, s).await
    }
    async fn pool_by_slug(&self, slug: &str) -> Result<Option<Pool>, StoreError> {
        self.inner.pool_by_slug(slug).await
    }
    async fn create_account(&self, a: NewAccount) -> Result<UpstreamAccount, StoreError> {
        self.inner.create_account(a).await
    }
    async fn set_account_lifecycle(&self, a: AccountId, l: Lifecycle) -> Result<(), StoreError> {
        self.count();
        self.inner.set_account_lifecycle(a, l).await
    }
    async fn set_account_base_url(&self, a: AccountId, u: Option<&str>) -> Result<(), StoreError> {
        self.count();
        self.inner.set_account_base_url(a, u).await
    }
    async fn replace_secrets(&self, a: AccountId, s: Vec<SealedSecret>) -> Result<(), StoreError> {
        self.count();
        let failing = self
            .fail_writes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(StoreError::Backend("injected write failure".to_owned()));
        }
        self.inner.replace_secrets(a, s).await
    }
    async fn secrets(&self, a: AccountId) -> Result<Vec<SealedSecret>, StoreError> {
        self.count();
        self.inner.secrets(a).await
    }
    async fn assign(&self, p: PoolId, a: AccountId) -> Result<(), StoreError> {
        self.inner.assign(p, a).await
    }
    async fn create_key(&self, k: NewKey) -> Result<PoolApiKey, StoreError> {
        self.inner.create_key(k).await
    }
    async fn set_key_status(&self, k: KeyId, s: KeyStatus) -> Result<(), StoreError> {
        self.inner.set_key_status(k, s).await
    }
    async fn version(&self) -> Result<u64, StoreError> {
        self.inner.version().await
    }
    async fn load_state(&self) -> Result<StoreState, StoreError> {
        self.inner.load_state().await
    }
    async fn insert_records(&self, r: &[RequestRecord]) -> Result<(), StoreError> {
        self.inner.insert_records(r).await
    }
    async fn recent_records(&self, limit: usize) -> Result<Vec<RequestRecord>, StoreError> {
        self.inner.recent_records(limit).await
    }
}
