//! [`ContinuityKeys`]: the continuity signals one request carries.

/// Every continuity signal of one request. Values are identifiers chosen by clients or upstream,
/// never content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContinuityKeys {
    /// A session header, as `name:value` (`session-id`, `thread-id`, `conversation_id`, ...).
    pub session: Option<String>,
    /// The `x-codex-turn-state` the client echoes within a turn.
    pub turn_state: Option<String>,
    /// `previous_response_id` from the body (or `x-codex-previous-response-id`).
    pub previous_response_id: Option<String>,
    /// `prompt_cache_key` from the body.
    pub prompt_cache_key: Option<String>,
    /// File ids the input references.
    pub file_ids: Vec<String>,
    /// A fingerprint of the thread (its `instructions` and first input item), for requests
    /// without any id.
    pub derived: Option<String>,
    /// The session id the gateway derived for upstream when the client sent none (see
    /// [`SessionIds`](super::SessionIds)): sent upstream as `session-id`, and the first soft
    /// key the continuity book and the strategies use. Never set beside [`session`](Self::session).
    pub upstream_session: Option<String>,
    /// The `context.session_id` a history, notes or search call names (the root session it
    /// belongs to); routed to that session's context owner.
    pub context_session: Option<String>,
}

impl ContinuityKeys {
    /// The root session id whose context owner a successful answer establishes: the
    /// `context.session_id` of a tool call, else the value of the session header of a turn.
    pub(crate) fn owned_session(&self) -> Option<&str> {
        self.context_session.as_deref().or_else(|| {
            self.session
                .as_deref()
                .and_then(|s| s.split_once(':'))
                .map(|(_, v)| v)
        })
    }

    /// The strongest soft key: session header (or the derived upstream session), then prompt
    /// cache key, then the derived fingerprint.
    pub fn soft_key(&self) -> Option<String> {
        self.session
            .clone()
            .or_else(|| {
                self.upstream_session
                    .as_ref()
                    .map(|s| format!("upstream_session:{s}"))
            })
            .or_else(|| {
                self.prompt_cache_key
                    .as_ref()
                    .map(|k| format!("prompt_cache_key:{k}"))
            })
            .or_else(|| self.derived.clone())
    }
}
