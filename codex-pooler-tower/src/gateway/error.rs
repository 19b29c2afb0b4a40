//! [`GatewayError`]: why a gateway could not be built.

use codex_pooler_core::store::StoreError;

use crate::refresh::InvalidEndpoint;

/// Why [`GatewayBuilder::build`](super::GatewayBuilder::build) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The first configuration load failed.
    #[error("loading the configuration: {0}")]
    Store(#[from] StoreError),
    /// The token endpoint of the settings is no usable URL.
    #[error(transparent)]
    TokenEndpoint(#[from] InvalidEndpoint),
}
