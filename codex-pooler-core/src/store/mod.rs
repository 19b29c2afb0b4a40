//! Storage: the [`PoolStore`] trait the pooler persists its configuration and records through.
//!
//! The request path never calls the store. Configuration is read into a
//! [`Snapshot`](crate::model::Snapshot) when it changes, and records are written in batches in
//! the background. [`MemoryStore`] is the in-process implementation for embedders and tests; the
//! reference server brings a SQL one (SQLite or PostgreSQL).

mod memory;
#[cfg(feature = "testing")]
pub mod testing;

use std::time::SystemTime;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::model::{
    AccountId, Assignment, KeyId, KeyPolicy, KeyStatus, Lifecycle, Pool, PoolApiKey, PoolId,
    PoolStatus, PoolWaits, UpstreamAccount,
};
use crate::quota::AccountEvidence;
use crate::record::RequestRecord;

pub use memory::MemoryStore;

/// Everything needed to build a snapshot.
#[derive(Debug, Clone, Default)]
pub struct StoreState {
    /// Configuration version (bumped by every configuration write).
    pub version: u64,
    /// All pools.
    pub pools: Vec<Pool>,
    /// All upstream accounts.
    pub accounts: Vec<UpstreamAccount>,
    /// All pool-account links.
    pub assignments: Vec<Assignment>,
    /// All Pool API keys.
    pub keys: Vec<PoolApiKey>,
}

/// The kind of a sealed upstream secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    /// The OAuth access token.
    AccessToken,
    /// The OAuth refresh token.
    RefreshToken,
    /// The OpenID id token.
    IdToken,
}

impl SecretKind {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
            Self::IdToken => "id_token",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::AccessToken, Self::RefreshToken, Self::IdToken]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// An encrypted upstream secret as stored: never the plaintext.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    /// What it is.
    pub kind: SecretKind,
    /// Which sealing key encrypted it.
    pub key_version: u32,
    /// The AEAD nonce.
    pub nonce: Vec<u8>,
    /// Ciphertext with its authentication tag.
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSecret")
            .field("kind", &self.kind)
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

/// A new upstream account to store.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Operator label.
    pub label: String,
    /// ChatGPT account id.
    pub chatgpt_account_id: String,
    /// ChatGPT user id.
    pub user_id: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Plan type.
    pub plan_type: Option<String>,
    /// Per-account upstream origin.
    pub base_url: Option<String>,
    /// Models it serves.
    pub models: Vec<String>,
    /// Its sealed secrets.
    pub secrets: Vec<SealedSecret>,
}

/// A new Pool API key to store (the plaintext key is never passed to the store).
#[derive(Debug, Clone)]
pub struct NewKey {
    /// The pool.
    pub pool: PoolId,
    /// Operator name.
    pub name: String,
    /// Public prefix.
    pub prefix: String,
    /// Keyed hash of the whole key.
    pub hash: [u8; 32],
    /// The version of the hashing key that made `hash`.
    pub key_version: u32,
    /// Expiry.
    pub expires_at: Option<SystemTime>,
    /// What the key's requests may ask for, and how many.
    pub policy: KeyPolicy,
}

/// A key's new secret, for [`PoolStore::rotate_key`] (the plaintext is never passed to the
/// store).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRotation {
    /// Keyed hash of the new key (same prefix, new secret).
    pub hash: [u8; 32],
    /// The version of the hashing key that made `hash`.
    pub key_version: u32,
    /// Until when the old secret stays accepted; `None` refuses it at once.
    pub grace_until: Option<SystemTime>,
}

impl std::fmt::Debug for KeyRotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRotation")
            .field("key_version", &self.key_version)
            .field("grace_until", &self.grace_until)
            .finish_non_exhaustive()
    }
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A unique name is taken.
    #[error("{0} already exists")]
    Conflict(String),
    /// A referenced row does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The account was removed: it is a tombstone and cannot change or serve again.
    #[error("{0} was removed")]
    Removed(String),
    /// The pool is archived: it cannot be enabled or disabled again.
    #[error("{0} is archived for good: it cannot be enabled or disabled again")]
    Archived(String),
    /// The backend failed.
    #[error("storage backend error: {0}")]
    Backend(String),
}

/// Durable configuration and records.
///
/// Every configuration write bumps the version returned by [`PoolStore::version`], so running
/// gateways (possibly several replicas sharing one database) notice the change and reload.
///
/// Durable quota evidence ([`save_quota_evidence`](Self::save_quota_evidence),
/// [`load_quota_evidence`](Self::load_quota_evidence)) is on this trait rather than on a trait
/// of its own: a gateway holds one `Arc<dyn PoolStore>`, and the evidence lives in the same
/// database, migrations and transactions as the configuration, so a second trait would only
/// make every embedder build, pass and keep two handles to one store.
#[async_trait]
pub trait PoolStore: Send + Sync + std::fmt::Debug + 'static {
    /// Creates a pool.
    async fn create_pool(&self, slug: &str) -> Result<Pool, StoreError>;

    /// Sets a pool's status; an archived pool keeps its status ([`StoreError::Archived`]).
    async fn set_pool_status(&self, pool: PoolId, status: PoolStatus) -> Result<(), StoreError>;

    /// Sets a pool's routing strategy by name (`None`: the gateway's default).
    async fn set_pool_strategy(
        &self,
        pool: PoolId,
        strategy: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Turns a pool's OpenAI-compatible `/v1` surface on or off.
    async fn set_pool_v1_enabled(&self, pool: PoolId, enabled: bool) -> Result<(), StoreError>;

    /// Finds a pool by slug.
    async fn pool_by_slug(&self, slug: &str) -> Result<Option<Pool>, StoreError>;

    /// Stores a new upstream account with its sealed secrets, active.
    async fn create_account(&self, account: NewAccount) -> Result<UpstreamAccount, StoreError>;

    /// Sets an account's lifecycle state; setting [`Lifecycle::Removed`] is
    /// [`remove_account`](Self::remove_account). A removed account refuses every change
    /// ([`StoreError::Removed`]).
    async fn set_account_lifecycle(
        &self,
        account: AccountId,
        lifecycle: Lifecycle,
    ) -> Result<(), StoreError>;

    /// Sets an account's own upstream origin (`None`: the gateway's default).
    async fn set_account_base_url(
        &self,
        account: AccountId,
        base_url: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Replaces an account's sealed secrets of the same kinds.
    async fn replace_secrets(
        &self,
        account: AccountId,
        secrets: Vec<SealedSecret>,
    ) -> Result<(), StoreError>;

    /// An account's sealed secrets.
    async fn secrets(&self, account: AccountId) -> Result<Vec<SealedSecret>, StoreError>;

    /// Assigns an account to a pool (idempotent).
    async fn assign(&self, pool: PoolId, account: AccountId) -> Result<(), StoreError>;

    /// Stores a new Pool API key, active.
    async fn create_key(&self, key: NewKey) -> Result<PoolApiKey, StoreError>;

    /// Sets a key's status.
    async fn set_key_status(&self, key: KeyId, status: KeyStatus) -> Result<(), StoreError>;

    /// Replaces a key's whole policy.
    async fn set_key_policy(&self, key: KeyId, policy: KeyPolicy) -> Result<(), StoreError>;

    // Operator lifecycle: unassigning and removing accounts, rotating keys, pool waits.

    /// Takes an account out of a pool; unknown ids, and an account not in the pool, are
    /// [`StoreError::NotFound`].
    async fn unassign(&self, pool: PoolId, account: AccountId) -> Result<(), StoreError>;

    /// Removes an account: its sealed secrets are deleted, it leaves every pool, and its row
    /// stays as a [`Lifecycle::Removed`] tombstone that request records still name. Unknown:
    /// [`StoreError::NotFound`]; already removed: [`StoreError::Removed`] (as is every later
    /// change to it).
    async fn remove_account(&self, account: AccountId) -> Result<(), StoreError>;

    /// Gives a key a new secret under the same id and prefix (its policy, usage and records
    /// stay attached), keeping the old one as the key's
    /// [`previous`](crate::model::PoolApiKey::previous) secret until `grace_until`; returns
    /// the key as stored. Unknown: [`StoreError::NotFound`].
    async fn rotate_key(&self, key: KeyId, rotation: KeyRotation)
    -> Result<PoolApiKey, StoreError>;

    /// Sets a pool's own busy and pin waits (`None`: the gateway's).
    async fn set_pool_waits(&self, pool: PoolId, waits: PoolWaits) -> Result<(), StoreError>;

    /// The current configuration version.
    async fn version(&self) -> Result<u64, StoreError>;

    /// Everything needed to build a snapshot.
    async fn load_state(&self) -> Result<StoreState, StoreError>;

    /// Appends request records.
    async fn insert_records(&self, records: &[RequestRecord]) -> Result<(), StoreError>;

    /// The most recent request records, newest first.
    async fn recent_records(&self, limit: usize) -> Result<Vec<RequestRecord>, StoreError>;

    // Quota evidence: written in batches by the gateway's background flush, read back when a
    // gateway starts and by `upstreams quota`.

    /// Saves the latest quota evidence of each account in `evidence`, replacing what was held
    /// for it; an [empty](AccountEvidence::is_empty) entry drops it. Accounts the store does not
    /// hold (deleted since) are skipped. Does not touch the configuration version.
    async fn save_quota_evidence(&self, evidence: &[AccountEvidence]) -> Result<(), StoreError>;

    /// The quota evidence held for every account, by account id.
    async fn load_quota_evidence(&self) -> Result<Vec<AccountEvidence>, StoreError>;
}
