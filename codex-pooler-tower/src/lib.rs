//! HTTP glue for codex-pooler: Pool API key auth, the upstream client, upstream credentials and
//! streaming, as tower middleware that embeds in any hyper or axum service.
//!
//! The entry point is the [`Gateway`]: over any
//! [`PoolStore`](codex_pooler_core::store::PoolStore) it builds a [`Pooler`] and runs what keeps
//! it current (configuration reload, token refresh, workspace discovery, catalog sync, usage
//! probe, record writer) under one shutdown. Wrap your service with a [`PoolerLayer`] over the
//! pooler. The [`gateway`] module is the embedding guide.

pub mod auth;
pub mod catalog_sync;
pub mod config_sync;
pub mod credentials;
pub mod decode;
pub mod evidence;
mod facts;
mod file_learning;
pub mod gateway;
pub mod job_context;
mod key_policy;
pub mod keys;
mod known_file;
mod local_routes;
pub mod metrics;
pub mod observe;
pub mod pooler;
mod read_body;
pub mod records;
pub mod refresh;
mod respond;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod upgrade;
pub mod upstream;
pub mod usage_probe;
mod v1;
pub mod websocket;
pub mod workspace;

pub use config_sync::ConfigSync;
pub use gateway::Gateway;
pub use pooler::{Pooler, PoolerBuilder, PoolerLayer, PoolerService};
