//! The configuration snapshot: an immutable view of pools, accounts, assignments and keys.
//!
//! Requests read a snapshot without locking it for long and without any database round trip.
//! When an operator changes the configuration, the new state is written to the store, a new
//! snapshot is built from it, and [`SnapshotHandle::replace`] swaps it in atomically.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::model::{AccountId, Assignment, KeyId, Pool, PoolApiKey, PoolId, UpstreamAccount};
use crate::store::StoreState;

/// An immutable view of the pooler's configuration.
#[derive(Debug, Default)]
pub struct Snapshot {
    version: u64,
    /// Unique per built snapshot in this process (versions may repeat, in tests for example):
    /// caches derived from a snapshot are keyed by it.
    id: u64,
    pools: HashMap<PoolId, Pool>,
    accounts: HashMap<AccountId, Arc<UpstreamAccount>>,
    pool_accounts: HashMap<PoolId, Vec<Arc<UpstreamAccount>>>,
    keys_by_prefix: HashMap<String, PoolApiKey>,
    key_prefixes: HashMap<KeyId, String>,
}

impl Snapshot {
    /// Builds a snapshot from the store's state.
    pub fn build(state: StoreState) -> Self {
        let accounts: HashMap<AccountId, Arc<UpstreamAccount>> = state
            .accounts
            .into_iter()
            .map(|a| (a.id, Arc::new(a)))
            .collect();
        let mut pool_accounts: HashMap<PoolId, Vec<Arc<UpstreamAccount>>> = HashMap::new();
        let mut assignments: Vec<Assignment> = state.assignments;
        assignments.sort_by_key(|a| (a.pool, a.account));
        for Assignment { pool, account } in assignments {
            if let Some(acc) = accounts.get(&account) {
                pool_accounts.entry(pool).or_default().push(Arc::clone(acc));
            }
        }
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Self {
            version: state.version,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            pools: state.pools.into_iter().map(|p| (p.id, p)).collect(),
            accounts,
            pool_accounts,
            key_prefixes: state
                .keys
                .iter()
                .map(|k| (k.id, k.prefix.clone()))
                .collect(),
            keys_by_prefix: state
                .keys
                .into_iter()
                .map(|k| (k.prefix.clone(), k))
                .collect(),
        }
    }

    /// The store's configuration version this snapshot was built from.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Which build of a snapshot this is: unique within the process (0 for the default, empty
    /// snapshot).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// A pool by id.
    pub fn pool(&self, id: PoolId) -> Option<&Pool> {
        self.pools.get(&id)
    }

    /// All pools.
    pub fn pools(&self) -> impl Iterator<Item = &Pool> {
        self.pools.values()
    }

    /// An account by id.
    pub fn account(&self, id: AccountId) -> Option<&Arc<UpstreamAccount>> {
        self.accounts.get(&id)
    }

    /// All accounts.
    pub fn accounts(&self) -> impl Iterator<Item = &Arc<UpstreamAccount>> {
        self.accounts.values()
    }

    /// The accounts assigned to a pool, in a stable order.
    pub fn pool_accounts(&self, id: PoolId) -> &[Arc<UpstreamAccount>] {
        self.pool_accounts.get(&id).map_or(&[], Vec::as_slice)
    }

    /// A Pool API key by its public prefix.
    pub fn key_by_prefix(&self, prefix: &str) -> Option<&PoolApiKey> {
        self.keys_by_prefix.get(prefix)
    }

    /// A key by id (its policy, for the layers below authentication).
    pub fn key(&self, id: KeyId) -> Option<&PoolApiKey> {
        self.keys_by_prefix.get(self.key_prefixes.get(&id)?)
    }
}

/// A shared, atomically replaceable [`Snapshot`].
#[derive(Debug, Clone, Default)]
pub struct SnapshotHandle {
    current: Arc<RwLock<Arc<Snapshot>>>,
}

impl SnapshotHandle {
    /// A handle holding `snapshot`.
    pub fn new(snapshot: Snapshot) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(snapshot))),
        }
    }

    /// The current snapshot. Cheap: clones an `Arc` under a short read lock.
    pub fn load(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Swaps in a new snapshot.
    pub fn replace(&self, snapshot: Snapshot) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snapshot);
    }
}
