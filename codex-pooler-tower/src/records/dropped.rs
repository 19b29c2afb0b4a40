//! [`DroppedParameters`]: the `/v1` parameters a translation dropped, for the request record.

/// The names of the parameters the `/v1` translation removed because the backend refuses them
/// (`temperature`, `max_output_tokens`, ...), in the answer's extensions, so the
/// [`Record`](super::service::Record) layer above keeps them. Names only: a value may be client
/// content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DroppedParameters(pub(crate) Vec<&'static str>);

impl DroppedParameters {
    /// The names as stored: comma-separated, or `None` when nothing was dropped.
    pub(crate) fn joined(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.0.join(","))
    }
}
