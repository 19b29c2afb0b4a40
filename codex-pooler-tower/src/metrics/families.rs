//! [`GatewayMetrics`]: the metric families, and how they are registered.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use codex_pooler_core::clock::Clock;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::{AccountId, PoolId, SnapshotHandle};
use codex_pooler_core::request::RouteClass;
use http::StatusCode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::StreamKind;
use super::labels::{
    AccountLabel, AttemptLabels, OutcomeLabels, PoolLabel, RefreshOutcome, ReloadOutcome,
    RequestLabels, RouteLabels, StreamLabels, attempt_outcome, status_class,
};
use super::live_collector::{LiveCollector, Sources};
use super::open_stream::OpenStream;

/// The prefix of every series.
const PREFIX: &str = "codex_pooler";

/// Upper bounds of the latency buckets, in seconds: from 5 ms to 10 minutes (long streamed
/// turns).
const LATENCY_BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The gateway's metric families. Create one, [`register`](Self::register) it into your
/// registry, and hand the same `Arc` to the pooler (and the gateway) that should record into
/// it. Cheap to share; recording is a few atomic operations.
#[derive(Debug)]
pub struct GatewayMetrics {
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) in_flight: Gauge,
    pub(crate) open_streams: Family<StreamLabels, Gauge>,
    pub(crate) latency: HistogramFamily,
    pub(crate) ttfb: HistogramFamily,
    attempts: Family<AttemptLabels, Counter>,
    failures: Family<AttemptLabels, Counter>,
    refreshes: Family<OutcomeLabels, Counter>,
    reloads: Family<OutcomeLabels, Counter>,
    pub(crate) sources: Arc<Sources>,
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl GatewayMetrics {
    /// Empty families, not bound to any pooler yet.
    pub fn new() -> Self {
        Self {
            requests: Family::default(),
            in_flight: Gauge::default(),
            open_streams: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            ttfb: Family::new_with_constructor(latency_histogram),
            attempts: Family::default(),
            failures: Family::default(),
            refreshes: Family::default(),
            reloads: Family::default(),
            sources: Arc::new(Sources::default()),
        }
    }

    /// Registers every series, under the `codex_pooler_` prefix, into `registry`, with the
    /// collector that reads quota, circuits and record drops when Prometheus scrapes.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix(PREFIX);
        r.register(
            "requests",
            "Pooled requests answered, by route class, status class and pool",
            self.requests.clone(),
        );
        r.register(
            "requests_in_flight",
            "Pooled requests whose answer has not ended yet",
            self.in_flight.clone(),
        );
        r.register(
            "open_streams",
            "Streams open to clients, by kind (sse, websocket)",
            self.open_streams.clone(),
        );
        r.register(
            "request_duration_seconds",
            "Time from a pooled request's arrival to the end of its answer, by route class",
            self.latency.clone(),
        );
        r.register(
            "time_to_first_byte_seconds",
            "Time from a pooled request's arrival to the first byte of its answer's body, by route class",
            self.ttfb.clone(),
        );
        r.register(
            "upstream_attempts",
            "Attempts sent upstream, by account handle and outcome",
            self.attempts.clone(),
        );
        r.register(
            "upstream_failures",
            "Upstream attempts that failed (any outcome but success), by account handle and outcome",
            self.failures.clone(),
        );
        r.register(
            "token_refreshes",
            "Upstream token refreshes, by outcome",
            self.refreshes.clone(),
        );
        r.register(
            "config_reloads",
            "Configuration reloads from the store, by outcome",
            self.reloads.clone(),
        );
        r.register_collector(Box::new(LiveCollector::new(Arc::clone(&self.sources))));
    }

    /// Binds the scrape-time gauges to a pooler's configuration, live state and clock. The
    /// first binding wins; [`PoolerBuilder::build`](crate::PoolerBuilder::build) makes it.
    pub(crate) fn bind(
        &self,
        snapshot: SnapshotHandle,
        live: Arc<LiveState>,
        clock: Arc<dyn Clock>,
    ) {
        self.sources.bind(snapshot, live, clock);
    }

    /// Reads record-queue drops from `dropped` when Prometheus scrapes (first binding wins).
    pub(crate) fn bind_record_drops(&self, dropped: Arc<AtomicU64>) {
        self.sources.bind_record_drops(dropped);
    }

    /// Counts one answered request and returns the labels' pool value.
    pub(crate) fn count_request(
        &self,
        route: &'static str,
        status: StatusCode,
        pool: Option<PoolId>,
    ) {
        let labels = RequestLabels {
            route,
            status: status_class(status),
            pool: PoolLabel {
                id: pool,
                names: Arc::clone(&self.sources),
            },
        };
        self.requests.get_or_create(&labels).inc();
    }

    /// Counts one upstream attempt on `account` that got `status` (`None`: no answer).
    pub(crate) fn count_attempt(&self, account: AccountId, status: Option<StatusCode>) {
        let labels = AttemptLabels {
            account: AccountLabel(account),
            outcome: attempt_outcome(status),
        };
        self.attempts.get_or_create(&labels).inc();
        if labels.outcome != "success" {
            self.failures.get_or_create(&labels).inc();
        }
    }

    /// Counts one token refresh.
    pub fn count_refresh(&self, outcome: RefreshOutcome) {
        self.refreshes
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// Counts one configuration reload.
    pub fn count_reload(&self, outcome: ReloadOutcome) {
        self.reloads
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// Counts a stream open until the returned guard is dropped.
    pub fn open_stream(&self, kind: StreamKind) -> OpenStream {
        OpenStream::new(
            self.open_streams
                .get_or_create(&StreamLabels {
                    kind: kind.as_str(),
                })
                .clone(),
        )
    }

    /// The `route` label of a route class.
    pub(crate) fn route_label(class: Option<RouteClass>) -> &'static str {
        class.map_or(super::labels::UNSUPPORTED_ROUTE, RouteClass::as_str)
    }
}
