//! The pure routing core of codex-pooler.
//!
//! This crate holds the domain (pools, upstream accounts, assignments, Pool API keys), the
//! evidence the router reasons about (quota windows, account health, continuity pins), the
//! ordered eligibility checks, the routing strategies, and the two tower services that turn a
//! classified request into an upstream attempt. It opens no socket, touches no database and
//! never reads the system clock directly, so every decision is reproducible in tests. The HTTP
//! glue (auth, the upstream client, the gateway runtime) lives in `codex-pooler-tower`.
//!
//! # The types you use
//!
//! | type | what it is for |
//! | --- | --- |
//! | [`PoolRequest`](request::PoolRequest) | an authenticated, classified request with its body, the input of the stack |
//! | [`Plan`](plan::Plan) / [`PlanLayer`](plan::PlanLayer) | choose the ordered candidate accounts with a [`Planner`](plan::Planner), or refuse with a [`Rejection`](plan::Rejection) |
//! | [`Dispatch`](dispatch::Dispatch) / [`DispatchLayer`](dispatch::DispatchLayer) | try the candidates upstream, failing over only before anything reached the client; answers an [`Outcome`](dispatch::Outcome) |
//! | [`RoutingStrategy`](strategy::RoutingStrategy) | how the eligible accounts are ordered; five built in, or write your own |
//! | [`Candidate`](strategy::Candidate) | one eligible account with its quota, load and last success, as a strategy sees it |
//! | [`Snapshot`](model::Snapshot) / [`SnapshotHandle`](model::SnapshotHandle) | the configuration (pools, accounts, keys) routing reads, swapped whole on reload |
//! | [`LiveState`](live::LiveState) | what the pooler learns while it runs: quota, health, continuity pins, model catalogs |
//! | [`PoolStore`](store::PoolStore) | where configuration, secrets and request records are kept ([`MemoryStore`](store::MemoryStore) in memory) |
//! | [`Clock`](clock::Clock) | the time source: [`SystemClock`](clock::SystemClock) in production, [`ManualClock`](clock::ManualClock) in tests |
//! | [`PoolerError`](error::PoolerError) | an OpenAI-shaped error answered to the client, with a typed [`ErrorCode`](error::ErrorCode) |
//! | [`UpstreamAccount`](model::UpstreamAccount) | one pooled Codex account (metadata only; secrets stay sealed in the store) |
//! | [`RequestRecord`](record::RequestRecord) | the metadata kept per request, ending with a [`RecordEnd`](record::RecordEnd) |
//!
//! Stable codes are enums inside the pooler ([`ErrorCode`](error::ErrorCode),
//! [`RecordEnd`](record::RecordEnd), [`RouteClass`](request::RouteClass),
//! [`ExclusionReason`](plan::ExclusionReason), [`PinSkip`](plan::PinSkip)); each has
//! one `as_str`, used only where a string leaves: the JSON bodies, the store and log fields.
//!
//! # Example
//!
//! The request path as a tower stack, `Plan` over `Dispatch` over your upstream service:
//!
//! ```
//! use std::sync::Arc;
//!
//! use codex_pooler_core::BoxError;
//! use codex_pooler_core::body::full;
//! use codex_pooler_core::clock::{Clock, SystemClock};
//! use codex_pooler_core::dispatch::{DispatchLayer, Outcome};
//! use codex_pooler_core::error::{ErrorCode, PoolerError};
//! use codex_pooler_core::live::LiveState;
//! use codex_pooler_core::plan::{PlanLayer, Planner};
//! use codex_pooler_core::request::{PoolRequest, UpstreamCall};
//! use codex_pooler_core::model::SnapshotHandle;
//! use codex_pooler_core::strategy::ResetAware;
//! use tower::{Service, ServiceBuilder};
//!
//! let live = Arc::new(LiveState::new());
//! let clock: Arc<dyn Clock> = Arc::new(SystemClock);
//! let planner = Planner::new(Arc::new(ResetAware));
//! // Stands in for the HTTP client that sends a call to its account.
//! let upstream = tower::service_fn(|_call: UpstreamCall| async {
//!     Ok::<_, BoxError>(http::Response::new(full("{}")))
//! });
//! let stack = ServiceBuilder::new()
//!     .layer(PlanLayer::new(
//!         planner,
//!         SnapshotHandle::default(),
//!         Arc::clone(&live),
//!         Arc::clone(&clock),
//!     ))
//!     .layer(DispatchLayer::new(live, clock))
//!     .service(upstream);
//!
//! fn answers_outcomes<S: Service<PoolRequest, Response = Outcome>>(_: &S) {}
//! answers_outcomes(&stack);
//!
//! // What a client is told when no account can serve: a typed code, a string only in the body.
//! let error = PoolerError::no_eligible_account(None);
//! assert_eq!(error.code(), ErrorCode::NoEligibleAccount);
//! assert_eq!(error.body()["error"]["code"], "no_eligible_account");
//! ```

pub mod body;
mod catalog;
pub mod clock;
mod continuity;
pub mod dispatch;
pub mod error;
mod file_id;
pub mod health;
mod key_meter;
pub mod key_usage;
pub mod live;
pub mod model;
pub mod plan;
pub mod quota;
pub mod record;
pub mod request;
pub mod store;
pub mod strategy;
pub mod translate;

/// A boxed, type-erased error, as used by tower middleware.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
