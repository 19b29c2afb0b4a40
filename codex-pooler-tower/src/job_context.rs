//! [`JobContext`]: what every background job that calls upstream per account shares.
//!
//! The catalog sync, the usage probe and workspace discovery each walk the accounts of the
//! configuration snapshot and send one authenticated `GET` per account. They need the same
//! things to do so: the snapshot, the token source, the live state they record into, the origin
//! of accounts without their own base URL, a clock, the workspace-route cache (told when a 401
//! led to a refresh) and an HTTP client. Build one context and hand it to each job.
//!
//! ```
//! # use std::sync::Arc;
//! # use codex_pooler_core::live::LiveState;
//! # use codex_pooler_core::model::SnapshotHandle;
//! # use codex_pooler_tower::upstream::{DEFAULT_UPSTREAM_BASE_URL, StaticCredentials};
//! use codex_pooler_tower::catalog_sync::CatalogSync;
//! use codex_pooler_tower::job_context::JobContext;
//! use codex_pooler_tower::usage_probe::UsageProbe;
//! use codex_pooler_tower::workspace::{WorkspaceDiscovery, WorkspaceRoutes};
//!
//! # fn run(snapshot: SnapshotHandle, live: Arc<LiveState>) {
//! let jobs = JobContext::new(
//!     snapshot,
//!     Arc::new(StaticCredentials::new()),
//!     live,
//!     DEFAULT_UPSTREAM_BASE_URL,
//! )
//! .workspace_routes(WorkspaceRoutes::new());
//! let catalog = CatalogSync::new(&jobs);
//! let probe = UsageProbe::new(&jobs);
//! let discovery = WorkspaceDiscovery::new(&jobs);
//! # let _ = (catalog, probe, discovery);
//! # }
//! ```

use std::sync::Arc;

use codex_pooler_core::clock::{Clock, SystemClock};
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::SnapshotHandle;

use crate::upstream::CredentialSource;
use crate::usage_probe::call;
use crate::workspace::WorkspaceRoutes;

/// The shared setting of the per-account background jobs
/// ([`CatalogSync`](crate::catalog_sync::CatalogSync),
/// [`UsageProbe`](crate::usage_probe::UsageProbe),
/// [`WorkspaceDiscovery`](crate::workspace::WorkspaceDiscovery)).
///
/// Cheap to clone: every part is shared.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub(crate) snapshot: SnapshotHandle,
    pub(crate) credentials: Arc<dyn CredentialSource>,
    pub(crate) live: Arc<LiveState>,
    pub(crate) default_base_url: Arc<str>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) routes: WorkspaceRoutes,
    pub(crate) client: call::ProbeClient,
}

impl JobContext {
    /// Jobs over the accounts of `snapshot`, with tokens from `credentials`, recording into
    /// `live`. Accounts without their own base URL are called at `default_base_url`.
    ///
    /// The clock is the system clock, the client uses the default TLS roots, and the
    /// workspace-route cache is a new one of the jobs' own (set the pooler's with
    /// [`workspace_routes`](Self::workspace_routes)).
    pub fn new(
        snapshot: SnapshotHandle,
        credentials: Arc<dyn CredentialSource>,
        live: Arc<LiveState>,
        default_base_url: &str,
    ) -> Self {
        Self {
            snapshot,
            credentials,
            live,
            default_base_url: default_base_url.trim_end_matches('/').into(),
            clock: Arc::new(SystemClock),
            routes: WorkspaceRoutes::new(),
            client: call::default_client(),
        }
    }

    /// The clock evidence is stamped with.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The workspace-route cache: filled by discovery, and told by the other jobs when a 401
    /// led to a refresh (as the Codex CLI checks the account again then). Give it the cache the
    /// pooler routes model traffic with.
    #[must_use]
    pub fn workspace_routes(mut self, routes: WorkspaceRoutes) -> Self {
        self.routes = routes;
        self
    }

    /// Uses a custom TLS configuration (for a private CA).
    #[must_use]
    pub fn tls_config(mut self, tls: rustls::ClientConfig) -> Self {
        self.client = call::client_with_tls(tls);
        self
    }

    /// The configuration snapshot the jobs read accounts from.
    pub fn snapshot(&self) -> &SnapshotHandle {
        &self.snapshot
    }

    /// The token source the jobs call with.
    pub fn credentials(&self) -> &Arc<dyn CredentialSource> {
        &self.credentials
    }

    /// The live state the jobs record into.
    pub fn live(&self) -> &Arc<LiveState> {
        &self.live
    }

    /// The workspace-route cache.
    pub fn routes(&self) -> &WorkspaceRoutes {
        &self.routes
    }

    /// The origin of accounts without their own base URL, without a trailing slash.
    pub fn default_base_url(&self) -> &str {
        &self.default_base_url
    }
}
