//! The configuration snapshot: an immutable view of pools, accounts, assignments and keys.
//!
//! Requests read a snapshot without locking it for long and without any database round trip.
//! When an operator changes the configuration, the new state is written to the store, a new
//! snapshot is built from it, and [`SnapshotHandle::replace`] swaps it in atomically.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use crate::model::{
    AccountId, Assignment, KeyId, Lifecycle, Pool, PoolApiKey, PoolId, UpstreamAccount,
};
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
        // Removed accounts are tombstones for the records: they never serve.
        let accounts: HashMap<AccountId, Arc<UpstreamAccount>> = state
            .accounts
            .into_iter()
            .filter(|a| a.lifecycle != Lifecycle::Removed)
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

/// A shared, atomically replaceable [`Snapshot`]; [`changes`](Self::changes) tells when it is
/// replaced.
#[derive(Debug, Clone)]
pub struct SnapshotHandle {
    current: Arc<RwLock<Arc<Snapshot>>>,
    /// Counts replacements, for [`SnapshotChanges`].
    replaced: Arc<watch::Sender<u64>>,
}

impl Default for SnapshotHandle {
    fn default() -> Self {
        Self::new(Snapshot::default())
    }
}

/// Wakes its holder each time the [`SnapshotHandle`] it came from is replaced (several
/// replacements between two waits wake it once).
#[derive(Debug)]
pub struct SnapshotChanges(watch::Receiver<u64>);

impl SnapshotChanges {
    /// Resolves at the next replacement after the last one seen; never when every handle is
    /// gone.
    pub async fn changed(&mut self) {
        if self.0.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl SnapshotHandle {
    /// A handle holding `snapshot`.
    pub fn new(snapshot: Snapshot) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(snapshot))),
            replaced: Arc::new(watch::Sender::new(0)),
        }
    }

    /// Notifications of later [`replace`](Self::replace)s, for long-lived users of the snapshot
    /// (websocket sessions re-checking their key) that must not poll.
    pub fn changes(&self) -> SnapshotChanges {
        SnapshotChanges(self.replaced.subscribe())
    }

    /// The current snapshot. Cheap: clones an `Arc` under a short read lock.
    pub fn load(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Swaps in a new snapshot.
    pub fn replace(&self, snapshot: Snapshot) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snapshot);
        self.replaced.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Waker};

    use super::*;

    fn is_ready(future: std::pin::Pin<&mut impl Future<Output = ()>>) -> bool {
        future
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_ready()
    }

    #[test]
    fn removed_accounts_are_left_out() {
        use crate::model::{PoolStatus, PoolWaits};

        let pool = Pool {
            id: PoolId(1),
            slug: "p".into(),
            status: PoolStatus::Active,
            strategy: None,
            v1_enabled: true,
            waits: PoolWaits::default(),
        };
        let live = UpstreamAccount::new(AccountId(1), "live");
        let gone = UpstreamAccount::new(AccountId(2), "gone").with_lifecycle(Lifecycle::Removed);
        let snapshot = Snapshot::build(StoreState {
            pools: vec![pool],
            accounts: vec![live, gone],
            assignments: [1, 2]
                .map(|a| Assignment {
                    pool: PoolId(1),
                    account: AccountId(a),
                })
                .to_vec(),
            ..StoreState::default()
        });
        assert!(snapshot.account(AccountId(2)).is_none());
        assert_eq!(snapshot.accounts().count(), 1);
        let ids: Vec<_> = snapshot
            .pool_accounts(PoolId(1))
            .iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(
            ids,
            [AccountId(1)],
            "even a stale assignment routes nothing to it"
        );
    }

    #[test]
    fn changes_wake_once_per_batch_of_replacements() {
        let handle = SnapshotHandle::default();
        let mut changes = handle.changes();
        assert!(!is_ready(pin!(changes.changed())), "nothing replaced yet");
        handle.replace(Snapshot::default());
        handle.clone().replace(Snapshot::default());
        assert!(is_ready(pin!(changes.changed())));
        assert!(!is_ready(pin!(changes.changed())), "both seen at once");
        // Subscribing later sees only later replacements.
        let mut late = handle.changes();
        assert!(!is_ready(pin!(late.changed())));
    }
}
