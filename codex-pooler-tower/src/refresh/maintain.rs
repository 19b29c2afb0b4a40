//! The background pass: refreshes idle accounts before they expire and retries failed ones.
//!
//! Requests refresh the accounts they use, but an account nobody routes to (because it is
//! `refresh_failed`, or simply idle) would otherwise let its token expire, and a refresh token
//! unused for long can die upstream. Every [`RefreshPolicy::check_interval`](super::RefreshPolicy)
//! the pass looks at each account in `active`, `refresh_due`, `refreshing` or `refresh_failed`:
//!
//! 1. fresh token: nothing to do (a `refresh_failed` account whose token became fresh, say
//!    because another replica refreshed it, goes back to `active`);
//! 2. a refresh already in flight, a dead lineage, or a refresh this process made moments ago:
//!    nothing to do;
//! 3. backing off after a failure: nothing, except marking the account `refresh_failed` once its
//!    token has expired;
//! 4. otherwise (due, expired, or tokens waiting to be stored): refresh, at most four accounts
//!    at a time.

use std::collections::HashSet;
use std::sync::Arc;

use codex_pooler_core::model::{Lifecycle, UpstreamAccount};
use codex_pooler_core::model::{Snapshot, SnapshotHandle};
use futures_util::StreamExt as _;
use futures_util::stream;
use tokio::task::JoinHandle;

use super::RefreshReason;
use super::policy::Freshness;
use super::slot::RefreshFuture;
use super::source::RefreshingCredentials;

/// How many accounts the pass refreshes at once.
const CONCURRENCY: usize = 4;

/// What the pass does for one account.
enum Action {
    Nothing,
    Refresh(RefreshFuture),
    Mark(Lifecycle),
}

impl RefreshingCredentials {
    /// One pass over the accounts of `snapshot` (see the module documentation of `maintain`).
    pub async fn maintain_once(&self, snapshot: &Snapshot) {
        let accounts: Vec<Arc<UpstreamAccount>> = snapshot
            .accounts()
            .filter(|a| a.lifecycle.is_routable() || a.lifecycle == Lifecycle::RefreshFailed)
            .cloned()
            .collect();
        let present: HashSet<_> = snapshot.accounts().map(|a| a.id).collect();
        self.retain_slots(|id| present.contains(&id));
        stream::iter(accounts)
            .for_each_concurrent(CONCURRENCY, |account| async move {
                self.maintain(&account).await;
            })
            .await;
    }

    /// Runs [`RefreshingCredentials::maintain_once`] every check interval (the first pass at
    /// once) until the task is aborted.
    pub fn spawn_maintenance(&self, snapshot: SnapshotHandle) -> JoinHandle<()> {
        tokio::spawn(self.clone().run_maintenance(snapshot))
    }

    /// What [`spawn_maintenance`](Self::spawn_maintenance) runs: never ends; drop the future
    /// to stop (refreshes already started finish on their own, see
    /// [`settle`](Self::settle)).
    pub async fn run_maintenance(self, snapshot: SnapshotHandle) {
        let mut tick = tokio::time::interval(self.shared.policy.check_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.maintain_once(&snapshot.load()).await;
        }
    }

    async fn maintain(&self, account: &UpstreamAccount) {
        let base = self.base_token(account).await;
        let policy = &self.shared.policy;
        let now = self.shared.clock.now();
        let slot = self.slot(account.id);
        let action = {
            let mut st = slot.lock();
            let Some(held) = st.reconcile(base.as_ref(), now).cloned() else {
                return;
            };
            let freshness = held.freshness(policy, now);
            let quiet = st.pending.is_none();
            let failed = account.lifecycle == Lifecycle::RefreshFailed;
            if freshness == Freshness::Fresh && quiet {
                if failed {
                    Action::Mark(Lifecycle::Active)
                } else {
                    Action::Nothing
                }
            } else if st.inflight().is_some() || (st.dead.is_some() && quiet) {
                Action::Nothing
            } else if st.backing_off(now) {
                if freshness == Freshness::Expired && !failed && st.failures > 0 {
                    Action::Mark(Lifecycle::RefreshFailed)
                } else {
                    Action::Nothing
                }
            } else if freshness != Freshness::Expired && quiet && held.just_refreshed(policy, now) {
                Action::Nothing
            } else {
                Action::Refresh(self.start(
                    &slot,
                    &mut st,
                    account,
                    RefreshReason::ProactiveExpiry,
                    held.token,
                ))
            }
        };
        match action {
            Action::Nothing => {}
            Action::Refresh(future) => {
                // The outcome is recorded by the refresh itself.
                let _ = future.await;
            }
            Action::Mark(lifecycle) => self.shared.set_lifecycle(account, lifecycle).await,
        }
    }
}
