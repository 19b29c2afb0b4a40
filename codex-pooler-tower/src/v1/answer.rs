//! [`V1Answer`]: the tag `V1Request` puts on an answer for `V1Response` to translate.

/// What the `/v1` client asked for, riding in the answer's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum V1Answer {
    /// `/v1/responses`: streamed events, or (`stream: false`) one collected `response`.
    Responses {
        /// Whether the client asked for a stream.
        stream: bool,
    },
}
