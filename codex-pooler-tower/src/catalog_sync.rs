//! [`CatalogSync`]: reads each account's model catalog from upstream, in the background.
//!
//! Every interval (and once at start) each routable account's
//! `GET {base}/backend-api/codex/models?client_version=..` is recorded into the
//! [`LiveState`](codex_pooler_core::live::LiveState)'s catalogs, which then decide which models the
//! account serves and what the pool's `/models` answer lists. A 401 refreshes the account's
//! token once and retries once, like model traffic.
//!
//! The catalog is read at the account's configured base URL, not at a discovered workspace
//! origin: the Codex CLI reads it before workspace discovery, and only responses, compaction and
//! the websocket are model-serving traffic that discovery moves.

use std::sync::Arc;
use std::time::Duration;

use codex_pooler_core::live::parse_catalog;
use codex_pooler_core::model::UpstreamAccount;
use futures_util::StreamExt;
use futures_util::stream;
use http::Uri;

use crate::job_context::JobContext;
use crate::usage_probe::call;

/// The client version sent with catalog reads (the catalog is versioned by client).
pub const CATALOG_CLIENT_VERSION: &str = "0.169.0";

/// The catalog path under an account's base URL.
pub const MODELS_PATH: &str = "/backend-api/codex/models";

/// How often catalogs are read again by default.
pub const DEFAULT_CATALOG_INTERVAL: Duration = Duration::from_secs(900);

/// How long one catalog read may take.
const CATALOG_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads model catalogs per account.
#[derive(Debug)]
pub struct CatalogSync {
    jobs: JobContext,
    interval: Duration,
}

impl CatalogSync {
    /// A job over the accounts of the context's snapshot, recording into its live catalogs.
    /// After a 401 led to a refresh, the context's workspace routes are asked to check the
    /// account again; the catalog itself is always read at the configured base URL.
    pub fn new(jobs: &JobContext) -> Self {
        Self {
            jobs: jobs.clone(),
            interval: DEFAULT_CATALOG_INTERVAL,
        }
    }

    /// How often catalogs are read again (at least one second; default 15 minutes).
    #[must_use]
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_secs(1));
        self
    }

    /// Reads every routable account's catalog once; returns how many were recorded.
    pub async fn sync_once(&self) -> usize {
        let snapshot = self.jobs.snapshot.load();
        let accounts: Vec<Arc<UpstreamAccount>> = snapshot
            .accounts()
            .filter(|a| a.lifecycle.is_routable())
            .cloned()
            .collect();
        stream::iter(accounts)
            .map(|account| async move { self.sync_account(&account).await })
            .buffer_unordered(4)
            .filter(|ok| std::future::ready(*ok))
            .count()
            .await
    }

    /// Reads catalogs now and then every interval; also reads an account's catalog as soon as
    /// it appears in a new snapshot. Abort the handle to stop.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    /// What [`spawn`](Self::spawn) runs: never ends; drop the future to stop.
    pub async fn run(self) {
        let mut last_version = None;
        let mut last_full = None::<tokio::time::Instant>;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let version = self.jobs.snapshot.load().version();
            let due = last_full.is_none_or(|at| at.elapsed() >= self.interval);
            if due || last_version != Some(version) {
                let recorded = self.sync_once().await;
                tracing::debug!(recorded, "model catalogs read");
                last_version = Some(version);
                if due {
                    last_full = Some(tokio::time::Instant::now());
                }
            }
        }
    }

    async fn sync_account(&self, account: &UpstreamAccount) -> bool {
        let base = account
            .base_url
            .as_deref()
            .unwrap_or(&self.jobs.default_base_url)
            .trim_end_matches('/');
        let Ok(uri) =
            format!("{base}{MODELS_PATH}?client_version={CATALOG_CLIENT_VERSION}").parse::<Uri>()
        else {
            return false;
        };
        let recovered = call::get(
            &self.jobs.client,
            &*self.jobs.credentials,
            account,
            &uri,
            CATALOG_TIMEOUT,
            Some(&self.jobs.routes),
        )
        .await;
        match recovered.answer {
            Ok(Ok((status, body))) if status.is_success() => match parse_catalog(&body) {
                Ok(models) => {
                    self.jobs
                        .live
                        .record_catalog(account.id, models, self.jobs.clock.now());
                    true
                }
                Err(_) => {
                    tracing::warn!(account = %account.id, "model catalog not understood");
                    false
                }
            },
            Ok(Ok((status, _))) => {
                tracing::debug!(account = %account.id, status = status.as_u16(), "model catalog read refused");
                false
            }
            _ => false,
        }
    }
}
