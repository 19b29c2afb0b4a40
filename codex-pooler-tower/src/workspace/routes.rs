//! [`WorkspaceRoutes`]: the per-account cache of discovered workspace routes.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use codex_pooler_core::model::AccountId;
use tokio::sync::Notify;

use super::WorkspaceRoute;

/// The discovered [`WorkspaceRoute`] of each account, shared by everything that sends model
/// traffic (the HTTP upstream client, the websocket connector) and filled by
/// [`WorkspaceDiscovery`](super::WorkspaceDiscovery). An account without an entry (never
/// discovered, or discovery failing) uses its configured base URL and no override.
///
/// Cheap to clone: all clones share one map.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceRoutes {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    routes: RwLock<HashMap<AccountId, WorkspaceRoute>>,
    requested: Mutex<HashSet<AccountId>>,
    wake: Notify,
}

impl WorkspaceRoutes {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The account's route, if one was discovered.
    pub fn get(&self, account: AccountId) -> Option<WorkspaceRoute> {
        self.inner
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&account)
            .cloned()
    }

    /// Records the account's route.
    pub fn insert(&self, account: AccountId, route: WorkspaceRoute) {
        self.inner
            .routes
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(account, route);
    }

    /// Forgets the account's route (it goes back to its configured base URL).
    pub fn remove(&self, account: AccountId) {
        self.inner
            .routes
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&account);
        self.inner
            .requested
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&account);
    }

    /// Asks the discovery job to check the account again soon (its token was just refreshed
    /// after a 401, as the Codex CLI reruns `/wham/accounts/check` then).
    pub fn request_discovery(&self, account: AccountId) {
        self.inner
            .requested
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(account);
        self.inner.wake.notify_one();
    }

    /// The accounts asked for since the last call.
    pub(crate) fn take_requested(&self) -> Vec<AccountId> {
        self.inner
            .requested
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .collect()
    }

    /// Resolves when [`request_discovery`](Self::request_discovery) is called (or was called
    /// since the last wake-up).
    pub(crate) async fn requested(&self) {
        self.inner.wake.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::RoutingOverride;

    #[test]
    fn routes_are_shared_between_clones() {
        let routes = WorkspaceRoutes::new();
        let other = routes.clone();
        let route = WorkspaceRoute {
            origin: None,
            routing_override: Some(RoutingOverride::Us),
        };
        routes.insert(AccountId(1), route.clone());
        assert_eq!(other.get(AccountId(1)), Some(route));
        assert_eq!(other.get(AccountId(2)), None);
        other.request_discovery(AccountId(1));
        other.request_discovery(AccountId(1));
        assert_eq!(routes.take_requested(), [AccountId(1)]);
        assert!(routes.take_requested().is_empty());
        routes.remove(AccountId(1));
        assert_eq!(other.get(AccountId(1)), None);
    }
}
