//! The writer and its configuration.

use std::sync::Arc;
use std::time::Duration;

use codex_pooler_core::live::LiveState;
use codex_pooler_core::store::{PoolStore, StoreError};
use tokio::sync::Mutex;

/// How often evidence is flushed by default.
pub const DEFAULT_EVIDENCE_FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// How the evidence writer flushes.
#[derive(Debug, Clone, Copy)]
pub struct EvidenceWriterConfig {
    /// How long changes wait before they are written (at least 10 ms).
    pub flush_interval: Duration,
}

impl Default for EvidenceWriterConfig {
    fn default() -> Self {
        Self {
            flush_interval: DEFAULT_EVIDENCE_FLUSH_INTERVAL,
        }
    }
}

/// Writes the quota evidence of a [`LiveState`] to a [`PoolStore`] in batches: see the
/// [module documentation](super).
#[derive(Debug)]
pub struct EvidenceWriter {
    store: Arc<dyn PoolStore>,
    live: Arc<LiveState>,
    config: EvidenceWriterConfig,
    /// The quota journal position written up to; held across a flush, so flushes never overlap.
    written: Mutex<u64>,
}

impl EvidenceWriter {
    /// A writer of `live`'s evidence into `store`, starting from what `live` holds now (which
    /// is taken as written: restore the stored evidence first, then build the writer).
    pub fn new(
        store: Arc<dyn PoolStore>,
        live: Arc<LiveState>,
        config: EvidenceWriterConfig,
    ) -> Self {
        let written = Mutex::new(live.quota_position());
        Self {
            store,
            live,
            config,
            written,
        }
    }

    /// Writes the evidence of every account changed since the last successful flush, in one
    /// store call, and says how many accounts it wrote (0: nothing changed, no call made).
    ///
    /// # Errors
    ///
    /// The store's error; the changes stay pending and the next flush writes them.
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let mut written = self.written.lock().await;
        let changes = self.live.quota_changes_since(*written);
        if changes.accounts.is_empty() {
            *written = changes.end;
            return Ok(0);
        }
        self.store.save_quota_evidence(&changes.accounts).await?;
        *written = changes.end;
        Ok(changes.accounts.len())
    }

    /// Flushes every [`flush_interval`](EvidenceWriterConfig::flush_interval), for ever;
    /// failures are logged and retried at the next tick. A gateway runs it as a background
    /// task.
    pub async fn run(self: Arc<Self>) {
        let period = self.config.flush_interval.max(Duration::from_millis(10));
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.flush_logged().await;
        }
    }

    /// The last flush, at shutdown (after the background task stopped).
    pub async fn shutdown(&self) {
        self.flush_logged().await;
    }

    async fn flush_logged(&self) {
        match self.flush().await {
            Ok(0) => {}
            Ok(accounts) => tracing::debug!(accounts, "quota evidence written"),
            Err(err) => {
                tracing::warn!(error = %err, "could not write quota evidence; retrying at the next flush");
            }
        }
    }
}
