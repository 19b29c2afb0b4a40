//! [`PoolerBuilder`]: configures a [`Pooler`].

use std::sync::Arc;

use codex_pooler_core::clock::{Clock, SystemClock};
use codex_pooler_core::dispatch::{DispatchConfig, DispatchLayer};
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::SnapshotHandle;
use codex_pooler_core::plan::{PlanLayer, Planner, Replanner};
use codex_pooler_core::strategy::{ResetAware, RoutingStrategy};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

use super::models_etag::ModelsEtags;
use super::{Pooler, Shared};
use crate::auth::AuthenticateLayer;
use crate::decode::BodyLimits;
use crate::facts::FactsLayer;
use crate::file_learning::LearnFileLayer;
use crate::key_policy::KeyPolicyLayer;
use crate::keys::KeyHasher;
use crate::known_file::KnownFileLayer;
use crate::local_routes::LocalRoutesLayer;
use crate::read_body::ReadBodyLayer;
use crate::records::RecordLayer;
use crate::records::{DiscardRecords, MeteredRecords, RecordSink};
use crate::respond::RespondLayer;
use crate::upgrade::UpgradeLayer;
use crate::upstream::{
    CredentialSource, DEFAULT_UPSTREAM_BASE_URL, StaticCredentials, UpstreamClient,
};
use crate::v1::{
    FileCatalog, FileUploads, V1FileUploadLayer, V1GateLayer, V1ImagesAnswerLayer,
    V1ImagesRequestLayer, V1RequestLayer, V1ResponseLayer, V1TranscriptionLayer,
};
use crate::websocket::{UpstreamConnector, WebsocketContext, WebsocketSettings, WebsocketUpstream};
use crate::workspace::WorkspaceRoutes;

/// Configures a [`Pooler`]. Every setting has a serviceable default.
#[derive(Debug)]
pub struct PoolerBuilder {
    snapshot: SnapshotHandle,
    hasher: KeyHasher,
    live: Arc<LiveState>,
    clock: Arc<dyn Clock>,
    credentials: Arc<dyn CredentialSource>,
    records: Arc<dyn RecordSink>,
    strategy: Arc<dyn RoutingStrategy>,
    named: Vec<(String, Arc<dyn RoutingStrategy>)>,
    max_attempts: usize,
    dispatch: DispatchConfig,
    upstream_base_url: String,
    limits: BodyLimits,
    tls: Option<rustls::ClientConfig>,
    websocket: WebsocketSettings,
    routes: WorkspaceRoutes,
    upload_hosts: Vec<String>,
}

impl PoolerBuilder {
    pub(crate) fn new(snapshot: SnapshotHandle, hasher: KeyHasher) -> Self {
        Self {
            snapshot,
            hasher,
            live: Arc::new(LiveState::new()),
            clock: Arc::new(SystemClock),
            credentials: Arc::new(StaticCredentials::new()),
            records: Arc::new(DiscardRecords),
            strategy: Arc::new(ResetAware),
            named: Vec::new(),
            max_attempts: codex_pooler_core::plan::DEFAULT_MAX_ATTEMPTS,
            dispatch: DispatchConfig::default(),
            upstream_base_url: DEFAULT_UPSTREAM_BASE_URL.to_owned(),
            limits: BodyLimits::default(),
            tls: None,
            websocket: WebsocketSettings::default(),
            routes: WorkspaceRoutes::default(),
            upload_hosts: Vec::new(),
        }
    }

    /// Where upstream access tokens come from.
    #[must_use]
    pub fn credentials(mut self, credentials: Arc<dyn CredentialSource>) -> Self {
        self.credentials = credentials;
        self
    }

    /// Where finished request records go (default: discarded).
    #[must_use]
    pub fn records(mut self, records: Arc<dyn RecordSink>) -> Self {
        self.records = records;
        self
    }

    /// The routing strategy for pools that name none (default: [`ResetAware`]).
    #[must_use]
    pub fn strategy(mut self, strategy: Arc<dyn RoutingStrategy>) -> Self {
        self.strategy = strategy;
        self
    }

    /// Makes a custom strategy available to pools that name it (`pools set-strategy`); the
    /// built-in strategies are always available by name.
    #[must_use]
    pub fn register_strategy(mut self, name: &str, strategy: Arc<dyn RoutingStrategy>) -> Self {
        self.named.push((name.to_owned(), strategy));
        self
    }

    /// How many accounts one request may try (default 3).
    #[must_use]
    pub fn max_attempts(mut self, max_attempts: usize) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// The origin for accounts without their own base URL (default `https://chatgpt.com`).
    #[must_use]
    pub fn upstream_base_url(mut self, url: impl Into<String>) -> Self {
        self.upstream_base_url = url.into();
        self
    }

    /// Request body limits.
    #[must_use]
    pub fn body_limits(mut self, limits: BodyLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Shares live state with other components (default: a fresh one).
    #[must_use]
    pub fn live(mut self, live: Arc<LiveState>) -> Self {
        self.live = live;
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// A custom TLS configuration for upstream connections (for a private CA).
    #[must_use]
    pub fn upstream_tls(mut self, tls: rustls::ClientConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Timeouts and limits of websocket sessions (default: [`WebsocketSettings::default`]).
    #[must_use]
    pub fn websocket(mut self, settings: WebsocketSettings) -> Self {
        self.websocket = settings;
        self
    }

    /// How long requests wait for accounts upstream refused for concurrency (default:
    /// [`DispatchConfig::default`]).
    #[must_use]
    pub fn dispatch(mut self, config: DispatchConfig) -> Self {
        self.dispatch = config;
        self
    }

    /// The discovered workspace routes model traffic follows (default: an empty cache, every
    /// account on its configured base URL). Share it with a
    /// [`WorkspaceDiscovery`](crate::workspace::WorkspaceDiscovery) that fills it.
    #[must_use]
    pub fn workspace_routes(mut self, routes: WorkspaceRoutes) -> Self {
        self.routes = routes;
        self
    }

    /// Hosts `/v1/files` may PUT upload bytes to besides each account's own base URL host
    /// (default: none). An `upload_url` upstream answers on any other host is refused with 502
    /// `upstream_error`: the gateway never sends bytes to a host it was merely told about.
    #[must_use]
    pub fn trusted_upload_hosts(mut self, hosts: Vec<String>) -> Self {
        self.upload_hosts = hosts;
        self
    }

    /// Builds the pooler: its shared state and the stack every pooled request goes down, in
    /// the order it runs (one `ServiceBuilder` list, erased only after it):
    ///
    /// 1. `Authenticate` (`auth/`): the Pool API key; the caller's `PoolContext` goes in the
    ///    request extensions. Refused keys stop here. `V1Gate` (`v1/`) right below it
    ///    answers 403 `v1_compatibility_disabled` for a pool with `/v1` switched off.
    /// 2. `Upgrade` (`upgrade/`): a websocket upgrade leaves for its session (`websocket/`).
    /// 3. `LocalRoutes` (`local_routes/`): `/models`, `/wham/usage`, `/wham/accounts/check`,
    ///    helper 404s and unsupported `/v1` paths are answered here.
    /// 4. `V1Response` (`v1/`): a `/v1` answer translated for its client (events guarded, or
    ///    collected into one `response`), above `Record` so the record reads upstream's events.
    ///    `V1ImagesAnswer` (`v1/images/`) beside it: an image turn's events as the images object.
    /// 5. `Record` (`records/`): opens the request record; closes it once, at the end of the
    ///    answer's body or at a refusal from below.
    /// 6. `KnownFile` (`known_file/`): a finalized upload must name a file the pool created.
    /// 7. `ReadBody` (`read_body/`): the wire-size limit, then `zstd`/`gzip` decoding.
    /// 8. `V1Request` (`v1/`): a `/v1` body rewritten into the Codex shape, or refused.
    ///    `V1ImagesRequest` (`v1/images/`) after it: `/v1/images/*` into an image-tool turn;
    ///    `V1Transcription` (`v1/`): `/v1/audio/transcriptions` onto `/backend-api/transcribe`;
    ///    `V1FileUpload` (`v1/files/`): `POST /v1/files` through the backend file flow.
    /// 9. `KeyPolicy` (`key_policy/`): the key's model and effort rules on the Codex-shaped
    ///    body, and its request and token limits (429 `rate_limit_exceeded`).
    /// 10. `Facts` (`facts/`): routing facts and compaction, decided once; the `PoolRequest`.
    /// 11. `Respond` (`respond/`): the `Outcome` becomes the response; what routing did
    ///     (`Served`: account, attempts, exclusions, slot) rides in its extensions for
    ///     `Record`.
    /// 12. `LearnFile` (`file_learning/`): a file creation's id is pinned to its account.
    /// 13. `Plan` (core `plan/`): the candidate accounts, or a rejection.
    /// 14. `Dispatch` (core `dispatch/`): claims, failover, waits and replans.
    /// 15. `UpstreamClient` (`upstream/`): one attempt on one account, refreshing the token
    ///     once after a 401.
    pub fn build(mut self) -> Pooler {
        // Every finished record charges its tokens to its key's limits on the way out.
        self.records = Arc::new(MeteredRecords::new(self.records, Arc::clone(&self.live)));
        let files = FileCatalog::default();
        let uploads = FileUploads::new(
            files.clone(),
            self.snapshot.clone(),
            &self.upstream_base_url,
            self.upload_hosts,
            self.tls.clone(),
            Arc::clone(&self.clock),
        );
        let connector = UpstreamConnector::new(
            Arc::clone(&self.credentials),
            &self.upstream_base_url,
            self.tls.clone(),
            self.websocket,
            self.routes.clone(),
        );
        let upstream = match self.tls {
            Some(tls) => {
                UpstreamClient::with_tls_config(self.credentials, &self.upstream_base_url, tls)
            }
            None => UpstreamClient::new(self.credentials, &self.upstream_base_url),
        }
        .with_workspace_routes(self.routes);
        let planner = self
            .named
            .into_iter()
            .fold(Planner::new(self.strategy), |p, (name, s)| {
                p.with_strategy(&name, s)
            })
            .with_max_attempts(self.max_attempts);
        let (live, clock) = (&self.live, &self.clock);
        let replanner = Replanner::new(
            &planner,
            self.snapshot.clone(),
            Arc::clone(live),
            Arc::clone(clock),
        );
        let plan = PlanLayer::new(
            planner.clone(),
            self.snapshot.clone(),
            Arc::clone(live),
            Arc::clone(clock),
        );
        let dispatch = DispatchLayer::new(Arc::clone(live), Arc::clone(clock))
            .with_config(self.dispatch)
            .with_replanner(replanner);
        // Websocket opens: the same Plan and Dispatch over the websocket connector.
        let websocket = ServiceBuilder::new()
            .layer(plan.clone())
            .layer(dispatch.clone())
            .service(WebsocketUpstream::new(
                connector.clone(),
                Arc::clone(live),
                Arc::clone(clock),
            ));
        let shared = Arc::new(Shared {
            snapshot: self.snapshot.clone(),
            live: Arc::clone(live),
            clock: Arc::clone(clock),
            planner,
            handles: self.hasher.account_handles(),
            records: Arc::clone(&self.records),
            websocket: WebsocketContext {
                pipeline: BoxCloneSyncService::new(websocket),
                connector,
                settings: self.websocket,
            },
            models_etags: ModelsEtags::default(),
            files,
        });
        let session_ids = self.hasher.session_ids();
        let stack = ServiceBuilder::new()
            .layer(AuthenticateLayer::new(
                self.snapshot.clone(),
                self.hasher,
                Arc::clone(clock),
            ))
            .layer(V1GateLayer::new(self.snapshot.clone()))
            .layer(UpgradeLayer::new(Arc::clone(&shared)))
            .layer(LocalRoutesLayer::new(Arc::clone(&shared)))
            .layer(V1ResponseLayer)
            .layer(V1ImagesAnswerLayer::new(Arc::clone(clock)))
            .layer(RecordLayer::new(
                self.records,
                Arc::clone(live),
                Arc::clone(clock),
            ))
            .layer(KnownFileLayer::new(Arc::clone(live), Arc::clone(clock)))
            .layer(ReadBodyLayer::new(self.limits))
            .layer(V1RequestLayer)
            .layer(V1ImagesRequestLayer::new(Arc::clone(&shared)))
            .layer(V1TranscriptionLayer)
            .layer(V1FileUploadLayer::new(uploads))
            .layer(KeyPolicyLayer::new(
                self.snapshot.clone(),
                Arc::clone(live),
                Arc::clone(clock),
            ))
            .layer(FactsLayer::new(Arc::clone(clock), session_ids))
            .layer(RespondLayer::new(Arc::clone(&shared)))
            .layer(LearnFileLayer::new(Arc::clone(live), Arc::clone(clock)))
            .layer(plan)
            .layer(dispatch)
            .service(upstream);
        Pooler {
            shared,
            stack: BoxCloneSyncService::new(stack),
        }
    }
}
