//! [`LiveCollector`]: the gauges that mirror live state (quota, circuits) and the record-queue
//! drops, read from the pooler when Prometheus scrapes rather than updated per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use codex_pooler_core::clock::Clock;
use codex_pooler_core::health::CircuitPhase;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::{PoolId, SnapshotHandle};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::labels::{AccountLabel, CircuitLabels, QuotaLabels};

/// What the scrape reads: bound once the pooler (and the record writer) exist.
#[derive(Debug, Default)]
pub(crate) struct Sources {
    live: OnceLock<LiveSources>,
    record_drops: OnceLock<Arc<AtomicU64>>,
}

#[derive(Debug)]
struct LiveSources {
    snapshot: SnapshotHandle,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
}

impl Sources {
    pub(crate) fn bind(
        &self,
        snapshot: SnapshotHandle,
        live: Arc<LiveState>,
        clock: Arc<dyn Clock>,
    ) {
        // The first pooler built over these metrics is the one they describe.
        let _ = self.live.set(LiveSources {
            snapshot,
            live,
            clock,
        });
    }

    pub(crate) fn bind_record_drops(&self, dropped: Arc<AtomicU64>) {
        let _ = self.record_drops.set(dropped);
    }

    /// The slug of pool `id` in the current configuration.
    pub(crate) fn pool_slug(&self, id: PoolId) -> Option<String> {
        let sources = self.live.get()?;
        sources.snapshot.load().pool(id).map(|p| p.slug.clone())
    }
}

/// Encodes the scrape-time series from [`Sources`].
#[derive(Debug)]
pub(crate) struct LiveCollector {
    sources: Arc<Sources>,
}

impl LiveCollector {
    pub(crate) fn new(sources: Arc<Sources>) -> Self {
        Self { sources }
    }
}

impl Collector for LiveCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let dropped = self
            .sources
            .record_drops
            .get()
            .map_or(0, |d| d.load(Ordering::Relaxed));
        let counter = ConstCounter::new(dropped);
        let metric = encoder.encode_descriptor(
            "record_queue_dropped",
            "Request records dropped because the record queue was full.",
            None,
            counter.metric_type(),
        )?;
        counter.encode(metric)?;

        let Some(sources) = self.sources.live.get() else {
            return Ok(());
        };
        let now = sources.clock.now();
        let snapshot = sources.snapshot.load();
        let mut accounts: Vec<_> = snapshot.accounts().map(|a| a.id).collect();
        accounts.sort_unstable();

        let mut quota = encoder.encode_descriptor(
            "quota_used_percent",
            "Used percent of each known quota window, per account handle and window.",
            None,
            MetricType::Gauge,
        )?;
        for (account, view) in accounts
            .iter()
            .zip(sources.live.quota_views(&accounts, now))
        {
            for window in view.windows.as_slice() {
                let labels = QuotaLabels {
                    account: AccountLabel(*account),
                    window: window.kind.as_str(),
                };
                ConstGauge::new(window.used_percent).encode(quota.encode_family(&labels)?)?;
            }
        }

        let mut circuits = encoder.encode_descriptor(
            "circuit_state",
            "Circuit breaker phase per account handle and route class: 1 for the current state (the worst over models).",
            None,
            MetricType::Gauge,
        )?;
        for (account, class, phase) in sources.live.circuit_phases(now) {
            if accounts.binary_search(&account).is_err() {
                continue;
            }
            for state in CircuitPhase::ALL {
                let labels = CircuitLabels {
                    account: AccountLabel(account),
                    route: class.as_str(),
                    state: state.as_str(),
                };
                ConstGauge::new(i64::from(state == phase))
                    .encode(circuits.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}
