//! [`RespondLayer`]: applies [`Respond`].

use std::sync::Arc;

use tower_layer::Layer;

use super::service::Respond;
use crate::pooler::Shared;

/// Wraps an outcome-producing service in [`Respond`].
#[derive(Debug, Clone)]
pub(crate) struct RespondLayer {
    shared: Arc<Shared>,
}

impl RespondLayer {
    /// A layer answering with `shared`'s catalog ETags and account handles.
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl<S> Layer<S> for RespondLayer {
    type Service = Respond<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Respond::new(inner, Arc::clone(&self.shared))
    }
}
