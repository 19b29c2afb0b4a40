//! [`MemoryStore`]: a [`PoolStore`] held in process memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{KeyRotation, NewAccount, NewKey, PoolStore, SealedSecret, StoreError, StoreState};
use crate::model::{
    AccountId, Assignment, KeyId, KeyPolicy, KeyStatus, Lifecycle, Pool, PoolApiKey, PoolId,
    PoolStatus, PoolWaits, PreviousSecret, UpstreamAccount,
};
use crate::quota::AccountEvidence;
use crate::record::RequestRecord;

/// The most records a memory store keeps; older ones are dropped first.
const RECORD_CAPACITY: usize = 10_000;

/// A [`PoolStore`] in process memory: nothing survives a restart.
///
/// For embedders that configure pools in code, and for tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    version: u64,
    next_id: i64,
    pools: Vec<Pool>,
    accounts: Vec<UpstreamAccount>,
    secrets: HashMap<AccountId, Vec<SealedSecret>>,
    assignments: Vec<Assignment>,
    keys: Vec<PoolApiKey>,
    records: Vec<RequestRecord>,
    evidence: BTreeMap<AccountId, AccountEvidence>,
}

impl Inner {
    fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn bump(&mut self) {
        self.version += 1;
    }

    /// Changes account `id` with `change` and bumps the version; unknown is not found, a
    /// tombstone removed.
    fn update_account(
        &mut self,
        id: AccountId,
        change: impl FnOnce(&mut UpstreamAccount),
    ) -> Result<(), StoreError> {
        self.live_account(id)?;
        if let Some(account) = self.accounts.iter_mut().find(|a| a.id == id) {
            change(account);
        }
        self.bump();
        Ok(())
    }

    /// Checks that account `id` exists and is not a tombstone.
    fn live_account(&self, id: AccountId) -> Result<(), StoreError> {
        match self.accounts.iter().find(|a| a.id == id) {
            None => Err(StoreError::NotFound(format!("account {id}"))),
            Some(a) if a.lifecycle == Lifecycle::Removed => {
                Err(StoreError::Removed(format!("account {id}")))
            }
            Some(_) => Ok(()),
        }
    }

    /// Changes pool `id` with `change` and bumps the version; an unknown pool is not found.
    fn update_pool(
        &mut self,
        id: PoolId,
        change: impl FnOnce(&mut Pool),
    ) -> Result<(), StoreError> {
        let pool = self
            .pools
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("pool {id}")))?;
        change(pool);
        self.bump();
        Ok(())
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes one key with `edit` and bumps the version; an unknown key is not found.
    fn edit_key(&self, key: KeyId, edit: impl FnOnce(&mut PoolApiKey)) -> Result<(), StoreError> {
        let mut s = self.lock();
        let k = s
            .keys
            .iter_mut()
            .find(|k| k.id == key)
            .ok_or_else(|| StoreError::NotFound(format!("key {key}")))?;
        edit(k);
        s.bump();
        Ok(())
    }
}

#[async_trait]
impl PoolStore for MemoryStore {
    async fn create_pool(&self, slug: &str) -> Result<Pool, StoreError> {
        let mut s = self.lock();
        if s.pools.iter().any(|p| p.slug == slug) {
            return Err(StoreError::Conflict(format!("pool {slug}")));
        }
        let pool = Pool {
            id: PoolId(s.next_id()),
            slug: slug.to_owned(),
            status: PoolStatus::Active,
            strategy: None,
            v1_enabled: true,
            waits: PoolWaits::default(),
        };
        s.pools.push(pool.clone());
        s.bump();
        Ok(pool)
    }

    async fn set_pool_status(&self, pool: PoolId, status: PoolStatus) -> Result<(), StoreError> {
        let mut s = self.lock();
        let archived = s
            .pools
            .iter()
            .find(|p| p.id == pool)
            .is_some_and(|p| p.status == PoolStatus::Archived);
        if archived && status != PoolStatus::Archived {
            return Err(StoreError::Archived(format!("pool {pool}")));
        }
        s.update_pool(pool, |p| p.status = status)
    }

    async fn set_pool_strategy(
        &self,
        pool: PoolId,
        strategy: Option<&str>,
    ) -> Result<(), StoreError> {
        self.lock()
            .update_pool(pool, |p| p.strategy = strategy.map(str::to_owned))
    }

    async fn set_pool_v1_enabled(&self, pool: PoolId, enabled: bool) -> Result<(), StoreError> {
        self.lock().update_pool(pool, |p| p.v1_enabled = enabled)
    }

    async fn pool_by_slug(&self, slug: &str) -> Result<Option<Pool>, StoreError> {
        Ok(self.lock().pools.iter().find(|p| p.slug == slug).cloned())
    }

    async fn create_account(&self, new: NewAccount) -> Result<UpstreamAccount, StoreError> {
        let mut s = self.lock();
        let mut account = UpstreamAccount::new(AccountId(s.next_id()), new.label)
            .with_chatgpt_account_id(new.chatgpt_account_id)
            .with_base_url(new.base_url)
            .with_lifecycle(Lifecycle::Active)
            .with_models(new.models);
        account.user_id = new.user_id;
        account.email = new.email;
        account.plan_type = new.plan_type;
        s.secrets.insert(account.id, new.secrets);
        s.accounts.push(account.clone());
        s.bump();
        Ok(account)
    }

    async fn set_account_base_url(
        &self,
        account: AccountId,
        base_url: Option<&str>,
    ) -> Result<(), StoreError> {
        self.lock()
            .update_account(account, |a| a.base_url = base_url.map(str::to_owned))
    }

    async fn set_account_lifecycle(
        &self,
        account: AccountId,
        lifecycle: Lifecycle,
    ) -> Result<(), StoreError> {
        if lifecycle == Lifecycle::Removed {
            return self.remove_account(account).await;
        }
        self.lock()
            .update_account(account, |a| a.lifecycle = lifecycle)
    }

    async fn replace_secrets(
        &self,
        account: AccountId,
        secrets: Vec<SealedSecret>,
    ) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.live_account(account)?;
        let held = s.secrets.entry(account).or_default();
        held.retain(|old| !secrets.iter().any(|new| new.kind == old.kind));
        held.extend(secrets);
        s.bump();
        Ok(())
    }

    async fn secrets(&self, account: AccountId) -> Result<Vec<SealedSecret>, StoreError> {
        Ok(self
            .lock()
            .secrets
            .get(&account)
            .cloned()
            .unwrap_or_default())
    }

    async fn assign(&self, pool: PoolId, account: AccountId) -> Result<(), StoreError> {
        let mut s = self.lock();
        if !s.pools.iter().any(|p| p.id == pool) {
            return Err(StoreError::NotFound(format!("pool {pool}")));
        }
        s.live_account(account)?;
        let link = Assignment { pool, account };
        if !s.assignments.contains(&link) {
            s.assignments.push(link);
            s.bump();
        }
        Ok(())
    }

    async fn create_key(&self, new: NewKey) -> Result<PoolApiKey, StoreError> {
        let mut s = self.lock();
        if !s.pools.iter().any(|p| p.id == new.pool) {
            return Err(StoreError::NotFound(format!("pool {}", new.pool)));
        }
        if s.keys.iter().any(|k| k.prefix == new.prefix) {
            return Err(StoreError::Conflict(format!("key prefix {}", new.prefix)));
        }
        let key = PoolApiKey {
            id: KeyId(s.next_id()),
            pool: new.pool,
            name: new.name,
            prefix: new.prefix,
            hash: new.hash,
            key_version: new.key_version,
            status: KeyStatus::Active,
            expires_at: new.expires_at,
            policy: new.policy,
            previous: None,
        };
        s.keys.push(key.clone());
        s.bump();
        Ok(key)
    }

    async fn set_key_status(&self, key: KeyId, status: KeyStatus) -> Result<(), StoreError> {
        self.edit_key(key, |k| k.status = status)
    }

    async fn set_key_policy(&self, key: KeyId, policy: KeyPolicy) -> Result<(), StoreError> {
        self.edit_key(key, |k| k.policy = policy)
    }

    async fn unassign(&self, pool: PoolId, account: AccountId) -> Result<(), StoreError> {
        let mut s = self.lock();
        if !s.pools.iter().any(|p| p.id == pool) {
            return Err(StoreError::NotFound(format!("pool {pool}")));
        }
        if !s.accounts.iter().any(|a| a.id == account) {
            return Err(StoreError::NotFound(format!("account {account}")));
        }
        let link = Assignment { pool, account };
        let before = s.assignments.len();
        s.assignments.retain(|a| *a != link);
        if s.assignments.len() == before {
            return Err(StoreError::NotFound(format!(
                "assignment of account {account} to pool {pool}"
            )));
        }
        s.bump();
        Ok(())
    }

    async fn remove_account(&self, account: AccountId) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.live_account(account)?;
        s.secrets.remove(&account);
        s.assignments.retain(|a| a.account != account);
        s.update_account(account, |a| a.lifecycle = Lifecycle::Removed)
    }

    async fn rotate_key(
        &self,
        key: KeyId,
        rotation: KeyRotation,
    ) -> Result<PoolApiKey, StoreError> {
        let mut rotated = None;
        self.edit_key(key, |k| {
            k.previous = rotation.grace_until.map(|until| PreviousSecret {
                hash: k.hash,
                key_version: k.key_version,
                until,
            });
            k.hash = rotation.hash;
            k.key_version = rotation.key_version;
            rotated = Some(k.clone());
        })?;
        rotated.ok_or_else(|| StoreError::NotFound(format!("key {key}")))
    }

    async fn set_pool_waits(&self, pool: PoolId, waits: PoolWaits) -> Result<(), StoreError> {
        self.lock().update_pool(pool, |p| p.waits = waits)
    }

    async fn version(&self) -> Result<u64, StoreError> {
        Ok(self.lock().version)
    }

    async fn load_state(&self) -> Result<StoreState, StoreError> {
        let s = self.lock();
        Ok(StoreState {
            version: s.version,
            pools: s.pools.clone(),
            accounts: s.accounts.clone(),
            assignments: s.assignments.clone(),
            keys: s.keys.clone(),
        })
    }

    async fn insert_records(&self, records: &[RequestRecord]) -> Result<(), StoreError> {
        let mut s = self.lock();
        s.records.extend_from_slice(records);
        let excess = s.records.len().saturating_sub(RECORD_CAPACITY);
        s.records.drain(..excess);
        Ok(())
    }

    async fn recent_records(&self, limit: usize) -> Result<Vec<RequestRecord>, StoreError> {
        Ok(self
            .lock()
            .records
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect())
    }

    // Quota evidence.

    async fn save_quota_evidence(&self, evidence: &[AccountEvidence]) -> Result<(), StoreError> {
        let mut s = self.lock();
        for e in evidence {
            if !s.accounts.iter().any(|a| a.id == e.account) {
                continue;
            }
            if e.is_empty() {
                s.evidence.remove(&e.account);
            } else {
                s.evidence.insert(e.account, e.clone());
            }
        }
        Ok(())
    }

    async fn load_quota_evidence(&self) -> Result<Vec<AccountEvidence>, StoreError> {
        Ok(self.lock().evidence.values().cloned().collect())
    }
}
