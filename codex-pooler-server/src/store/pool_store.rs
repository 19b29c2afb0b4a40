//! `impl PoolStore for SqlStore`, delegating to one module per kind of row.

use async_trait::async_trait;
use codex_pooler_core::model::{
    AccountId, KeyId, KeyPolicy, KeyStatus, Lifecycle, Pool, PoolApiKey, PoolId, PoolStatus,
    PoolWaits, UpstreamAccount,
};
use codex_pooler_core::quota::AccountEvidence;
use codex_pooler_core::record::RequestRecord;
use codex_pooler_core::store::{
    KeyRotation, NewAccount, NewKey, PoolStore, SealedSecret, StoreError, StoreState,
};

use super::{SqlStore, accounts, assignments, keys, pools, quota_evidence, records, state, txn};

#[async_trait]
impl PoolStore for SqlStore {
    async fn create_pool(&self, slug: &str) -> Result<Pool, StoreError> {
        pools::create(&self.db, slug).await
    }

    async fn set_pool_status(&self, pool: PoolId, status: PoolStatus) -> Result<(), StoreError> {
        pools::set_status(&self.db, pool, status).await
    }

    async fn set_pool_strategy(
        &self,
        pool: PoolId,
        strategy: Option<&str>,
    ) -> Result<(), StoreError> {
        pools::set_strategy(&self.db, pool, strategy).await
    }

    async fn set_pool_v1_enabled(&self, pool: PoolId, enabled: bool) -> Result<(), StoreError> {
        pools::set_v1_enabled(&self.db, pool, enabled).await
    }

    async fn pool_by_slug(&self, slug: &str) -> Result<Option<Pool>, StoreError> {
        pools::by_slug(&self.db, slug).await
    }

    async fn create_account(&self, account: NewAccount) -> Result<UpstreamAccount, StoreError> {
        accounts::create(&self.db, account).await
    }

    async fn set_account_lifecycle(
        &self,
        account: AccountId,
        lifecycle: Lifecycle,
    ) -> Result<(), StoreError> {
        accounts::set_lifecycle(&self.db, account, lifecycle).await
    }

    async fn set_account_base_url(
        &self,
        account: AccountId,
        base_url: Option<&str>,
    ) -> Result<(), StoreError> {
        accounts::set_base_url(&self.db, account, base_url).await
    }

    async fn replace_secrets(
        &self,
        account: AccountId,
        secrets: Vec<SealedSecret>,
    ) -> Result<(), StoreError> {
        accounts::replace_secrets(&self.db, account, secrets).await
    }

    async fn secrets(&self, account: AccountId) -> Result<Vec<SealedSecret>, StoreError> {
        accounts::secrets(&self.db, account).await
    }

    async fn assign(&self, pool: PoolId, account: AccountId) -> Result<(), StoreError> {
        assignments::assign(&self.db, pool, account).await
    }

    async fn create_key(&self, key: NewKey) -> Result<PoolApiKey, StoreError> {
        keys::create(&self.db, key).await
    }

    async fn set_key_status(&self, key: KeyId, status: KeyStatus) -> Result<(), StoreError> {
        keys::set_status(&self.db, key, status).await
    }

    async fn set_key_policy(&self, key: KeyId, policy: KeyPolicy) -> Result<(), StoreError> {
        keys::set_policy(&self.db, key, &policy).await
    }

    async fn unassign(&self, pool: PoolId, account: AccountId) -> Result<(), StoreError> {
        assignments::unassign(&self.db, pool, account).await
    }

    async fn remove_account(&self, account: AccountId) -> Result<(), StoreError> {
        accounts::remove(&self.db, account).await
    }

    async fn rotate_key(
        &self,
        key: KeyId,
        rotation: KeyRotation,
    ) -> Result<PoolApiKey, StoreError> {
        keys::rotate(&self.db, key, rotation).await
    }

    async fn set_pool_waits(&self, pool: PoolId, waits: PoolWaits) -> Result<(), StoreError> {
        pools::set_waits(&self.db, pool, waits).await
    }

    async fn version(&self) -> Result<u64, StoreError> {
        txn::version(&self.db).await
    }

    async fn load_state(&self) -> Result<StoreState, StoreError> {
        state::load(&self.db).await
    }

    async fn insert_records(&self, records: &[RequestRecord]) -> Result<(), StoreError> {
        records::insert(&self.db, records).await
    }

    async fn recent_records(&self, limit: usize) -> Result<Vec<RequestRecord>, StoreError> {
        records::recent(&self.db, limit).await
    }

    // Quota evidence.

    async fn save_quota_evidence(&self, evidence: &[AccountEvidence]) -> Result<(), StoreError> {
        quota_evidence::save(&self.db, evidence).await
    }

    async fn load_quota_evidence(&self) -> Result<Vec<AccountEvidence>, StoreError> {
        quota_evidence::load(&self.db).await
    }
}
