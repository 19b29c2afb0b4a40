//! What one probe round did: an outcome per account.

use codex_pooler_core::model::AccountId;

/// What probing one account's usage came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProbeOutcome {
    /// The payload was read and recorded in the quota book.
    Recorded,
    /// Upstream answered 429; existing evidence is left as it was.
    RateLimited,
    /// Upstream answered 401 or 403 (the token needs a refresh; that is not the probe's job).
    Unauthorized,
    /// Upstream answered another non-success status.
    Status(u16),
    /// The call took longer than the probe timeout.
    Timeout,
    /// Connecting or talking to upstream failed, or the body was too large.
    Transport,
    /// The body was not a usage payload.
    InvalidPayload,
    /// The credential source had no token for the account.
    NoCredentials,
    /// The account's base URL does not form a valid URI.
    InvalidUrl,
    /// The token or account id cannot be sent as a header value.
    InvalidHeader,
}

impl ProbeOutcome {
    /// Stable, low-cardinality name for logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Recorded => "recorded",
            Self::RateLimited => "rate_limited",
            Self::Unauthorized => "unauthorized",
            Self::Status(_) => "http_status",
            Self::Timeout => "timeout",
            Self::Transport => "transport",
            Self::InvalidPayload => "invalid_payload",
            Self::NoCredentials => "no_credentials",
            Self::InvalidUrl => "invalid_url",
            Self::InvalidHeader => "invalid_header",
        }
    }
}

/// The result of one probe round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeReport {
    /// Each probed account and its outcome, in completion order.
    pub outcomes: Vec<(AccountId, ProbeOutcome)>,
    /// Accounts not probed because their lifecycle does not allow traffic.
    pub skipped: Vec<AccountId>,
}

impl ProbeReport {
    /// How many accounts had their usage recorded.
    pub fn recorded(&self) -> usize {
        self.count(ProbeOutcome::Recorded)
    }

    /// How many accounts came to `outcome`.
    pub fn count(&self, outcome: ProbeOutcome) -> usize {
        self.outcomes.iter().filter(|(_, o)| *o == outcome).count()
    }

    /// The outcome for one account, if it was probed.
    pub fn outcome(&self, account: AccountId) -> Option<ProbeOutcome> {
        self.outcomes
            .iter()
            .find(|(a, _)| *a == account)
            .map(|(_, o)| *o)
    }
}
