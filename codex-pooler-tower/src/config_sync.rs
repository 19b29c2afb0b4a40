//! [`ConfigSync`]: keeps the in-memory snapshot and upstream tokens in step with the store.
//!
//! Requests never read the store. Instead, `ConfigSync` loads the whole configuration into a
//! [`Snapshot`] and opens the sealed access tokens into memory; [`ConfigSync::spawn`] then polls
//! the store's configuration version and reloads when it changes. Every configuration write
//! (from the operator CLI, another replica, an API call) bumps that version, so a running
//! gateway picks changes up within one poll interval.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use codex_pooler_core::model::{Lifecycle, Snapshot, SnapshotHandle};
use codex_pooler_core::store::{PoolStore, SecretKind, StoreError};
use tokio::task::JoinHandle;

use crate::credentials::SecretSealer;
use crate::metrics::{GatewayMetrics, ReloadOutcome};
use crate::upstream::{AccessToken, StaticCredentials};

/// Loads configuration from a store into memory and keeps it fresh.
#[derive(Debug, Clone)]
pub struct ConfigSync {
    store: Arc<dyn PoolStore>,
    sealer: Arc<SecretSealer>,
    snapshot: SnapshotHandle,
    credentials: Arc<StaticCredentials>,
    metrics: Option<Arc<GatewayMetrics>>,
}

impl ConfigSync {
    /// Loads the current configuration.
    pub async fn load(store: Arc<dyn PoolStore>, sealer: SecretSealer) -> Result<Self, StoreError> {
        let this = Self {
            store,
            sealer: Arc::new(sealer),
            snapshot: SnapshotHandle::default(),
            credentials: Arc::new(StaticCredentials::new()),
            metrics: None,
        };
        this.reload().await?;
        Ok(this)
    }

    /// Counts the reloads [`run`](Self::run) makes (and the failed polls) in `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<GatewayMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The snapshot handle requests read.
    pub fn snapshot(&self) -> SnapshotHandle {
        self.snapshot.clone()
    }

    /// The upstream access tokens, opened from their sealed form.
    pub fn credentials(&self) -> Arc<StaticCredentials> {
        Arc::clone(&self.credentials)
    }

    /// Reloads when the store's configuration version differs from the snapshot's; returns
    /// whether it reloaded.
    pub async fn sync_once(&self) -> Result<bool, StoreError> {
        let version = self.store.version().await?;
        if version == self.snapshot.load().version() {
            return Ok(false);
        }
        self.reload().await?;
        Ok(true)
    }

    /// Reloads everything now.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let state = self.store.load_state().await?;
        let mut tokens = HashMap::with_capacity(state.accounts.len());
        // A removed account is a tombstone without secrets; it never serves.
        let serving = state
            .accounts
            .iter()
            .filter(|a| a.lifecycle != Lifecycle::Removed);
        for account in serving {
            let secrets = self.store.secrets(account.id).await?;
            let access = secrets.iter().find(|s| s.kind == SecretKind::AccessToken);
            match access.map(|s| self.sealer.open(&account.chatgpt_account_id, s)) {
                Some(Ok(token)) => {
                    tokens.insert(account.id, AccessToken::new(token.expose()));
                }
                Some(Err(err)) => {
                    tracing::warn!(account = %account.id, error = %err, "cannot open access token");
                }
                None => tracing::warn!(account = %account.id, "account has no access token"),
            }
        }
        self.credentials.replace_all(tokens);
        self.snapshot.replace(Snapshot::build(state));
        Ok(())
    }

    /// The sealer the access tokens are opened with.
    pub fn sealer(&self) -> Arc<SecretSealer> {
        Arc::clone(&self.sealer)
    }

    /// Polls for changes every `interval` until the task is aborted.
    pub fn spawn(&self, interval: Duration) -> JoinHandle<()> {
        tokio::spawn(self.clone().run(interval))
    }

    /// What [`spawn`](Self::spawn) runs: polls every `interval`, never ends; drop the future to
    /// stop.
    pub async fn run(self, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let outcome = match self.sync_once().await {
                Ok(true) => {
                    tracing::info!(
                        version = self.snapshot.load().version(),
                        "configuration reloaded"
                    );
                    Some(ReloadOutcome::Reloaded)
                }
                Ok(false) => None,
                Err(err) => {
                    tracing::warn!(error = %err, "configuration reload failed");
                    Some(ReloadOutcome::Failed)
                }
            };
            if let (Some(metrics), Some(outcome)) = (&self.metrics, outcome) {
                metrics.count_reload(outcome);
            }
        }
    }
}
