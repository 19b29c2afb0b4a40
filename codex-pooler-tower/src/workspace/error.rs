//! Why workspace routing discovery failed for an account.

use http::StatusCode;

use crate::upstream::CredentialError;

/// Why an `/wham/accounts/check` answer could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The body is not JSON.
    #[error("accounts check answer is not json")]
    NotJson,
    /// The body has no `accounts` list or map.
    #[error("accounts check answer has no accounts")]
    NoAccounts,
    /// No entry is for the account.
    #[error("accounts check answer does not list the account")]
    AccountMissing,
    /// More than one entry is for the account.
    #[error("accounts check answer lists the account more than once")]
    AccountAmbiguous,
    /// `workspace_backend_origin` or `account_routing_override` is not a string.
    #[error("accounts check answer has a field of the wrong type")]
    FieldType,
    /// `account_routing_override` is not `us`, `us_cr` or `NO_CONSTRAINT`.
    #[error("accounts check answer names an unknown routing override")]
    UnknownOverride,
    /// The origin is not an absolute URL with a host.
    #[error("workspace origin is not an absolute url")]
    OriginNotAUrl,
    /// The origin carries a user or password.
    #[error("workspace origin carries credentials")]
    OriginHasCredentials,
    /// The origin has a path, a query or a fragment.
    #[error("workspace origin has a path, query or fragment")]
    OriginHasPath,
    /// The origin's scheme is neither `https` nor `http`.
    #[error("workspace origin scheme is not https")]
    OriginScheme,
    /// The origin is `http` while the account's configured base is `https`.
    #[error("workspace origin is plain http for an https account")]
    OriginInsecure,
}

impl CheckError {
    /// Stable, low-cardinality name for logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotJson => "not_json",
            Self::NoAccounts => "no_accounts",
            Self::AccountMissing => "account_missing",
            Self::AccountAmbiguous => "account_ambiguous",
            Self::FieldType => "field_type",
            Self::UnknownOverride => "unknown_override",
            Self::OriginNotAUrl => "origin_not_a_url",
            Self::OriginHasCredentials => "origin_has_credentials",
            Self::OriginHasPath => "origin_has_path",
            Self::OriginScheme => "origin_scheme",
            Self::OriginInsecure => "origin_insecure",
        }
    }
}

/// Why discovering one account's workspace route failed. The account keeps its configured base
/// URL and no routing override until a later attempt succeeds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// No usable access token (refreshing it failed, or a new login is needed).
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// The account's base URL does not form a valid URI.
    #[error("invalid accounts check url for upstream account {0}")]
    InvalidUrl(i64),
    /// The token or account id cannot be sent as a header value.
    #[error("invalid accounts check header value")]
    InvalidHeader,
    /// Connecting or talking to upstream failed, or the body was too large.
    #[error("accounts check transport error")]
    Transport,
    /// The call took longer than the discovery timeout.
    #[error("accounts check timed out")]
    Timeout,
    /// Upstream answered a non-success status (after one refresh, for a 401).
    #[error("accounts check answered {0}")]
    Status(StatusCode),
    /// The answer could not be used.
    #[error(transparent)]
    Answer(#[from] CheckError),
}

impl DiscoveryError {
    /// Stable, low-cardinality name for logs and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Credentials(_) => "credentials",
            Self::InvalidUrl(_) => "invalid_url",
            Self::InvalidHeader => "invalid_header",
            Self::Transport => "transport",
            Self::Timeout => "timeout",
            Self::Status(_) => "http_status",
            Self::Answer(e) => e.as_str(),
        }
    }
}
