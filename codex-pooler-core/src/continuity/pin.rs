//! [`Pin`]: the account a request's continuity points at.

use crate::model::AccountId;

/// Which continuity signal a pin came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinKind {
    /// `previous_response_id` names a response an account produced (hard).
    PreviousResponse,
    /// The turn's `x-codex-turn-state` came from an account (hard).
    TurnState,
    /// A referenced file was uploaded to an account (hard).
    File,
    /// The root session's context owner: the first account that served it holds its notes
    /// and history (hard; never moves).
    ContextOwner,
    /// A session header was last served by an account (soft).
    Session,
    /// The `prompt_cache_key` was last served by an account (soft).
    PromptCacheKey,
    /// The thread fingerprint was last served by an account (soft).
    Derived,
}

impl PinKind {
    /// Whether the pin must be honoured or the request fails.
    pub(crate) const fn is_hard(self) -> bool {
        matches!(
            self,
            Self::PreviousResponse | Self::TurnState | Self::File | Self::ContextOwner
        )
    }

    /// Stable label for records and routing receipts.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PreviousResponse => "previous_response_id",
            Self::TurnState => "turn_state",
            Self::File => "file",
            Self::ContextOwner => "context_owner",
            Self::Session => "session",
            Self::PromptCacheKey => "prompt_cache_key",
            Self::Derived => "derived",
        }
    }
}

/// A request's continuity pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin {
    /// Where it came from.
    pub kind: PinKind,
    /// The account holding the state.
    pub account: AccountId,
}

impl Pin {
    /// Whether the pin is hard.
    pub(crate) const fn is_hard(&self) -> bool {
        self.kind.is_hard()
    }
}
