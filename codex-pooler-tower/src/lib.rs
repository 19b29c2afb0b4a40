//! HTTP glue for codex-pooler: Pool API key auth, the upstream client, upstream credentials and
//! streaming, as tower middleware that embeds in any hyper or axum service.
//!
//! The entry point is [`PoolerLayer`]: build a [`Pooler`] over a configuration snapshot (loaded
//! by [`ConfigSync`] from any [`PoolStore`](codex_pooler_core::store::PoolStore)) and wrap your
//! service with it.

pub mod auth;
pub mod catalog_sync;
pub mod credentials;
pub mod decode;
pub mod keys;
pub mod observe;
pub mod pooler;
pub mod records;
pub mod refresh;
pub mod sync;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod upstream;
pub mod usage_probe;
pub mod websocket;
pub mod workspace;

pub use pooler::{Pooler, PoolerBuilder, PoolerLayer, PoolerService};
pub use sync::ConfigSync;
