//! [`V1Answer`]: the tag `V1Request` puts on an answer for `V1Response` to translate.

/// What the `/v1` client asked for, riding in the answer's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum V1Answer {
    /// `/v1/responses`: streamed events, or (`stream: false`) one collected `response`.
    Responses {
        /// Whether the client asked for a stream.
        stream: bool,
    },
    /// `/v1/chat/completions`: chunks, or (`stream: false`) one `chat.completion`.
    Chat {
        /// Whether the client asked for a stream.
        stream: bool,
        /// Whether a streaming client asked for the usage chunk.
        include_usage: bool,
        /// The model the client asked for, echoed when upstream names none.
        model: String,
    },
}

impl V1Answer {
    /// Whether the client asked for a stream.
    pub(crate) fn streams(&self) -> bool {
        match self {
            Self::Responses { stream } | Self::Chat { stream, .. } => *stream,
        }
    }
}
