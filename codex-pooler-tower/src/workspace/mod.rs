//! Workspace routing: where each upstream account's model traffic goes, as
//! `GET /backend-api/wham/accounts/check` says (see `shared/research/codex-protocol.md` §9).
//!
//! Under ChatGPT auth the Codex CLI asks `/wham/accounts/check` before any model traffic; the
//! answer may move the account's traffic to another origin (`workspace_backend_origin`) and may
//! require the `x-openai-account-routing-override: us|us_cr` header
//! (`account_routing_override`). The gateway does the same for each upstream account:
//!
//! 1. **What is called.** [`WorkspaceDiscovery`] sends
//!    `GET {account base or default}/backend-api/wham/accounts/check` with the account's bearer
//!    token and `chatgpt-account-id`, recovering once from a 401 (refresh, retry).
//! 2. **What is read.** The entry whose id is the account's `chatgpt_account_id`, exactly once,
//!    in the list form or the older map form ([`parse_accounts_check`]). `NO_CONSTRAINT` or an
//!    absent field means "no constraint".
//! 3. **The origin rule** ([`WorkspaceOrigin::parse`]): a bare `https://host[:port]`, no path,
//!    query or credentials; `http` only when the account's configured base URL is itself `http`
//!    (tests, the demo backend), so discovery can never downgrade a TLS account.
//! 4. **What is cached.** [`WorkspaceRoutes`], one [`WorkspaceRoute`] per account in memory,
//!    shared by the HTTP upstream client and the websocket connector. It is not persisted: a
//!    restart discovers again.
//! 5. **What uses it.** Model-serving traffic only: responses over HTTP, compaction (legacy
//!    `/responses/compact` and v2) and the responses websocket go to the discovered origin,
//!    keeping their API path, with the override header. The usage probe, the catalog sync,
//!    files, images and transcription keep the configured base URL and send no override, as the
//!    Codex CLI does.
//! 6. **When it is refreshed.** At start; when an account appears, changes identity or base
//!    URL, becomes routable again or gets a new token (a new login, a refresh); right after a
//!    401 led to a refresh on any path (the CLI reruns the check then); and every hour.
//! 7. **Failures** never make an account unroutable: an account never discovered uses its
//!    configured base URL and no override; one discovered before keeps its last route. The
//!    failure is logged (account id and a low-cardinality reason, never tokens or bodies) and
//!    retried after 30 s, doubling up to the interval.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use codex_pooler_core::model::SnapshotHandle;
//! # use codex_pooler_tower::keys::KeyHasher;
//! # use codex_pooler_tower::upstream::{CredentialSource, DEFAULT_UPSTREAM_BASE_URL};
//! use codex_pooler_tower::Pooler;
//! use codex_pooler_tower::job_context::JobContext;
//! use codex_pooler_tower::workspace::{WorkspaceDiscovery, WorkspaceRoutes};
//! # fn run(snapshot: SnapshotHandle, hasher: KeyHasher, credentials: Arc<dyn CredentialSource>) {
//! let routes = WorkspaceRoutes::new();
//! let pooler = Pooler::builder(snapshot.clone(), hasher)
//!     .credentials(Arc::clone(&credentials))
//!     .workspace_routes(routes.clone())
//!     .build();
//! let jobs = JobContext::new(
//!     snapshot,
//!     credentials,
//!     Arc::clone(pooler.live()),
//!     DEFAULT_UPSTREAM_BASE_URL,
//! )
//! .workspace_routes(routes);
//! let job = WorkspaceDiscovery::new(&jobs).spawn();
//! # job.abort();
//! # }
//! ```

mod check;
mod discovery;
mod error;
mod origin;
mod route;
mod routes;

pub use check::{NO_CONSTRAINT, parse_accounts_check};
pub use discovery::{
    ACCOUNTS_CHECK_PATH, DEFAULT_DISCOVERY_INTERVAL, DEFAULT_DISCOVERY_RETRY,
    DEFAULT_DISCOVERY_TIMEOUT, WorkspaceDiscovery,
};
pub use error::{CheckError, DiscoveryError};
pub use origin::WorkspaceOrigin;
pub use route::{ROUTING_OVERRIDE_HEADER, RoutingOverride, WorkspaceRoute};
pub use routes::WorkspaceRoutes;
