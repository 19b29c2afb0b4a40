//! [`ReadBodyLayer`]: applies [`ReadBody`].

use tower_layer::Layer;

use super::service::ReadBody;
use crate::decode::BodyLimits;

/// Wraps a service in [`ReadBody`] with `limits`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadBodyLayer {
    limits: BodyLimits,
}

impl ReadBodyLayer {
    /// A layer reading bodies within `limits`.
    pub(crate) fn new(limits: BodyLimits) -> Self {
        Self { limits }
    }
}

impl<S> Layer<S> for ReadBodyLayer {
    type Service = ReadBody<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ReadBody::new(inner, self.limits)
    }
}
