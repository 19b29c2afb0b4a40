//! [`GatewayBuilder`] and the built, not yet running, [`Gateway`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use codex_pooler_core::clock::{Clock, SystemClock};
use codex_pooler_core::store::PoolStore;

use super::shutdown::Drain;
use super::{GatewayError, GatewaySettings, RunningGateway};
use crate::catalog_sync::CatalogSync;
use crate::config_sync::ConfigSync;
use crate::credentials::SecretSealer;
use crate::evidence::EvidenceWriter;
use crate::job_context::JobContext;
use crate::keys::KeyHasher;
use crate::metrics::GatewayMetrics;
use crate::pooler::{Pooler, PoolerBuilder};
use crate::records::RecordWriter;
use crate::refresh::{HttpTokenEndpoint, RefreshingCredentials, TokenEndpoint};
use crate::usage_probe::UsageProbe;
use crate::workspace::{WorkspaceDiscovery, WorkspaceRoutes};

/// The shortest configuration poll interval.
const MIN_RELOAD_INTERVAL: Duration = Duration::from_millis(50);

/// A change to the pooler's builder, applied after the gateway's own settings.
type ConfigurePooler = Box<dyn FnOnce(PoolerBuilder) -> PoolerBuilder + Send>;

/// Builds a [`Gateway`] over a store: see the [module documentation](super).
pub struct GatewayBuilder {
    store: Arc<dyn PoolStore>,
    sealer: SecretSealer,
    hasher: KeyHasher,
    settings: GatewaySettings,
    clock: Arc<dyn Clock>,
    token_endpoint: Option<Arc<dyn TokenEndpoint>>,
    upstream_tls: Option<rustls::ClientConfig>,
    configure_pooler: Option<ConfigurePooler>,
    metrics: Option<Arc<GatewayMetrics>>,
}

impl fmt::Debug for GatewayBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayBuilder")
            .field("settings", &self.settings)
            .field("token_endpoint", &self.token_endpoint)
            .field("upstream_tls", &self.upstream_tls.is_some())
            .field("configure_pooler", &self.configure_pooler.is_some())
            .field("metrics", &self.metrics.is_some())
            .finish_non_exhaustive()
    }
}

impl GatewayBuilder {
    /// A gateway over `store`, opening sealed tokens with `sealer` and checking Pool API keys
    /// with `hasher`, with the default [`GatewaySettings`].
    pub fn new(store: Arc<dyn PoolStore>, sealer: SecretSealer, hasher: KeyHasher) -> Self {
        Self {
            store,
            sealer,
            hasher,
            settings: GatewaySettings::default(),
            clock: Arc::new(SystemClock),
            token_endpoint: None,
            upstream_tls: None,
            configure_pooler: None,
            metrics: None,
        }
    }

    /// Replaces the settings.
    #[must_use]
    pub fn settings(mut self, settings: GatewaySettings) -> Self {
        self.settings = settings;
        self
    }

    /// The clock token expiry, quota evidence and routing read (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Refreshes tokens at `endpoint` instead of the settings' `token_endpoint` URL.
    #[must_use]
    pub fn token_endpoint(mut self, endpoint: Arc<dyn TokenEndpoint>) -> Self {
        self.token_endpoint = Some(endpoint);
        self
    }

    /// Uses a custom TLS configuration (for a private CA) for everything sent upstream: model
    /// traffic, the background jobs and token refreshes.
    #[must_use]
    pub fn upstream_tls(mut self, tls: rustls::ClientConfig) -> Self {
        self.upstream_tls = Some(tls);
        self
    }

    /// Records metrics into `metrics` (register it into your registry first): the pooler's
    /// requests, attempts and streams, token refreshes, configuration reloads and record-queue
    /// drops. Default: none.
    #[must_use]
    pub fn metrics(mut self, metrics: Arc<GatewayMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Changes the pooler's builder (a routing strategy, attempts, body limits) after the
    /// gateway has set credentials, records, workspace routes, the upstream origin, websocket
    /// and dispatch settings on it.
    #[must_use]
    pub fn pooler(
        mut self,
        configure: impl FnOnce(PoolerBuilder) -> PoolerBuilder + Send + 'static,
    ) -> Self {
        self.configure_pooler = Some(Box::new(configure));
        self
    }

    /// Loads the configuration, then builds the token refresher, the record writer (its task
    /// starts here: the pooler submits to it) and the pooler, and restores the stored quota
    /// evidence into the pooler's live state. Nothing else runs until [`Gateway::spawn`].
    pub async fn build(self) -> Result<Gateway, GatewayError> {
        let settings = self.settings;
        let mut sync = ConfigSync::load(Arc::clone(&self.store), self.sealer).await?;
        if let Some(metrics) = &self.metrics {
            sync = sync.with_metrics(Arc::clone(metrics));
        }
        let endpoint: Arc<dyn TokenEndpoint> = match (self.token_endpoint, &self.upstream_tls) {
            (Some(endpoint), _) => endpoint,
            (None, Some(tls)) => Arc::new(HttpTokenEndpoint::with_tls_config(
                &settings.token_endpoint,
                tls.clone(),
            )?),
            (None, None) => Arc::new(HttpTokenEndpoint::new(&settings.token_endpoint)?),
        };
        // Everything that talks to upstream gets this source, so each sees refreshed tokens and
        // triggers refreshes through the same single flight per account.
        let mut refresher = RefreshingCredentials::builder(
            sync.credentials(),
            Arc::clone(&self.store),
            sync.sealer(),
            endpoint,
        )
        .policy(settings.refresh.clone())
        .clock(Arc::clone(&self.clock));
        if let Some(metrics) = &self.metrics {
            refresher = refresher.metrics(Arc::clone(metrics));
        }
        let credentials = Arc::new(refresher.build());
        let records = Arc::new(RecordWriter::spawn(
            Arc::clone(&self.store),
            settings.records,
        ));
        // Workspace routing: discovered per account in the background, followed by model
        // traffic.
        let routes = WorkspaceRoutes::new();
        let mut pooler = Pooler::builder(sync.snapshot(), self.hasher)
            .credentials(credentials.clone())
            .workspace_routes(routes.clone())
            .records(records.clone())
            .upstream_base_url(settings.upstream_base_url.clone())
            .trusted_upload_hosts(settings.trusted_upload_hosts.clone())
            .websocket(settings.websocket)
            .dispatch(settings.dispatch)
            .clock(Arc::clone(&self.clock));
        if let Some(tls) = &self.upstream_tls {
            pooler = pooler.upstream_tls(tls.clone());
        }
        if let Some(metrics) = self.metrics {
            metrics.bind_record_drops(records.dropped_counter());
            pooler = pooler.metrics(metrics);
        }
        if let Some(configure) = self.configure_pooler {
            pooler = configure(pooler);
        }
        let pooler = pooler.build();
        let evidence = restore_evidence(&self.store, pooler.live(), &settings).await;
        let mut jobs = JobContext::new(
            sync.snapshot(),
            credentials.clone(),
            Arc::clone(pooler.live()),
            &settings.upstream_base_url,
        )
        .clock(self.clock)
        .workspace_routes(routes);
        if let Some(tls) = self.upstream_tls {
            jobs = jobs.tls_config(tls);
        }
        Ok(Gateway {
            sync,
            credentials,
            records,
            evidence,
            pooler,
            jobs,
            settings,
        })
    }
}

/// Loads the stored quota evidence into `live` (an account exhausted before a restart stays
/// avoided until its reset) and builds the writer that keeps the store up to date. Evidence is
/// advisory: when it cannot be read, the gateway starts without it, and says so.
async fn restore_evidence(
    store: &Arc<dyn PoolStore>,
    live: &Arc<codex_pooler_core::live::LiveState>,
    settings: &GatewaySettings,
) -> Arc<EvidenceWriter> {
    match store.load_quota_evidence().await {
        Ok(evidence) => {
            live.restore_quota(&evidence);
            tracing::debug!(accounts = evidence.len(), "quota evidence restored");
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not read the stored quota evidence; starting without it");
        }
    }
    Arc::new(EvidenceWriter::new(
        Arc::clone(store),
        Arc::clone(live),
        settings.evidence,
    ))
}

/// A built gateway: the pooler and everything it needs, not yet running in the background.
/// [`spawn`](Self::spawn) starts it.
#[derive(Debug)]
pub struct Gateway {
    pub(super) sync: ConfigSync,
    pub(super) credentials: Arc<RefreshingCredentials>,
    pub(super) records: Arc<RecordWriter>,
    pub(super) evidence: Arc<EvidenceWriter>,
    pub(super) pooler: Pooler,
    pub(super) jobs: JobContext,
    pub(super) settings: GatewaySettings,
}

impl Gateway {
    /// A builder over `store`; see [`GatewayBuilder::new`].
    pub fn builder(
        store: Arc<dyn PoolStore>,
        sealer: SecretSealer,
        hasher: KeyHasher,
    ) -> GatewayBuilder {
        GatewayBuilder::new(store, sealer, hasher)
    }

    /// The pooler: wrap your service with a [`PoolerLayer`](crate::PoolerLayer) over it.
    pub fn pooler(&self) -> &Pooler {
        &self.pooler
    }

    /// The configuration loaded from the store, and its reload.
    pub fn config(&self) -> &ConfigSync {
        &self.sync
    }

    /// The token source every upstream call uses, refreshing as needed.
    pub fn credentials(&self) -> &Arc<RefreshingCredentials> {
        &self.credentials
    }

    /// The record writer the pooler submits request records to.
    pub fn records(&self) -> &Arc<RecordWriter> {
        &self.records
    }

    /// The writer that flushes the live quota evidence to the store.
    pub fn evidence(&self) -> &Arc<EvidenceWriter> {
        &self.evidence
    }

    /// What the background jobs share: snapshot, credentials, live state, workspace routes.
    pub fn jobs(&self) -> &JobContext {
        &self.jobs
    }

    /// The settings it was built with.
    pub fn settings(&self) -> &GatewaySettings {
        &self.settings
    }

    /// Starts, on the current tokio runtime, the configuration reload, the token refresher,
    /// workspace discovery, the catalog sync, the quota evidence flush and (unless turned off)
    /// the usage probe, all under one shutdown: [`RunningGateway::shutdown`].
    pub fn spawn(self) -> RunningGateway {
        let mut drain = Drain::new();
        let settings = &self.settings;
        drain.spawn(
            "config_reload",
            self.sync
                .clone()
                .run(settings.reload_interval.max(MIN_RELOAD_INTERVAL)),
        );
        drain.spawn(
            "token_refresh",
            RefreshingCredentials::clone(&self.credentials).run_maintenance(self.sync.snapshot()),
        );
        drain.spawn(
            "workspace_discovery",
            WorkspaceDiscovery::new(&self.jobs).run(),
        );
        drain.spawn(
            "catalog_sync",
            CatalogSync::new(&self.jobs)
                .interval(settings.catalog_interval)
                .run(),
        );
        drain.spawn("evidence_flush", Arc::clone(&self.evidence).run());
        if let Some(interval) = settings.usage_probe_interval {
            drain.spawn(
                "usage_probe",
                UsageProbe::new(&self.jobs).interval(interval).run(),
            );
        }
        RunningGateway::new(self, drain)
    }
}
