//! [`PoolerLayer`]: the one-call embed of the whole pooler in an axum or hyper service.
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<dyn codex_pooler_core::store::PoolStore>,
//! #               sealer: codex_pooler_tower::credentials::SecretSealer,
//! #               hasher: codex_pooler_tower::keys::KeyHasher) {
//! use codex_pooler_tower::{ConfigSync, Pooler, PoolerLayer};
//! use tower::ServiceBuilder;
//!
//! // Load pools, accounts and keys from the store into memory.
//! let sync = ConfigSync::load(store, sealer).await.unwrap();
//! let pooler = Pooler::builder(sync.snapshot(), hasher)
//!     .credentials(sync.credentials())
//!     .build();
//! // Pooled paths (/backend-api/codex/responses, /v1/responses) are answered by the pooler;
//! // everything else reaches the wrapped service.
//! let layer = PoolerLayer::new(pooler);
//! # let _ = ServiceBuilder::new().layer(layer);
//! # }
//! ```

mod arrival;
mod builder;
mod inspect;
mod layer;
mod models_etag;
mod service;

use std::convert::Infallible;
use std::sync::Arc;

use codex_pooler_core::body::PoolBody;
use codex_pooler_core::clock::Clock;
use codex_pooler_core::dispatch::AccountHandles;
use codex_pooler_core::live::LiveState;
use codex_pooler_core::model::SnapshotHandle;
use codex_pooler_core::plan::Planner;
use http::{Request, Response};
use tower::util::BoxCloneSyncService;

use crate::keys::KeyHasher;
use crate::records::RecordSink;

pub(crate) use arrival::ReceivedAt;
pub use builder::PoolerBuilder;
pub use layer::PoolerLayer;
pub(crate) use models_etag::MODELS_ETAG_HEADER;
pub use service::PoolerService;

/// The whole per-request stack ([`PoolerBuilder::build`] lists it), erased.
pub(crate) type Stack = BoxCloneSyncService<Request<PoolBody>, Response<PoolBody>, Infallible>;

/// A configured pooler: shared state plus the request stack. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Pooler {
    shared: Arc<Shared>,
    stack: Stack,
}

/// The state the stack's layers and websocket sessions share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) snapshot: SnapshotHandle,
    pub(crate) live: Arc<LiveState>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The planner the stack's `Plan` layer uses (for dry runs).
    pub(crate) planner: Planner,
    /// Names serving accounts in the routing receipt.
    pub(crate) handles: AccountHandles,
    pub(crate) records: Arc<dyn RecordSink>,
    pub(crate) websocket: crate::websocket::WebsocketContext,
    /// The pool catalog ETags answered as `x-models-etag`.
    pub(crate) models_etags: models_etag::ModelsEtags,
    /// The `/v1/files` uploads' metadata, per key.
    pub(crate) files: crate::v1::FileCatalog,
}

impl Pooler {
    /// Starts configuring a pooler over `snapshot`, checking keys with `hasher`.
    pub fn builder(snapshot: SnapshotHandle, hasher: KeyHasher) -> PoolerBuilder {
        PoolerBuilder::new(snapshot, hasher)
    }

    /// The live routing state (quota evidence, ...).
    pub fn live(&self) -> &Arc<LiveState> {
        &self.shared.live
    }

    /// The state the stack's layers share.
    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The configuration snapshot handle.
    pub fn snapshot(&self) -> &SnapshotHandle {
        &self.shared.snapshot
    }
}
