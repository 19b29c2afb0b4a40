//! [`WorkspaceRoute`]: where one account's model traffic goes and what it must say.

use http::HeaderValue;

use super::WorkspaceOrigin;

/// The header naming an account's routing override upstream.
pub const ROUTING_OVERRIDE_HEADER: &str = "x-openai-account-routing-override";

/// An `account_routing_override`: sent as `x-openai-account-routing-override` on the account's
/// model traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RoutingOverride {
    /// `us`.
    Us,
    /// `us_cr`.
    UsCr,
}

impl RoutingOverride {
    /// The override named `value` (`us`, `us_cr`), if it is one.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "us" => Some(Self::Us),
            "us_cr" => Some(Self::UsCr),
            _ => None,
        }
    }

    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Us => "us",
            Self::UsCr => "us_cr",
        }
    }

    /// The header value.
    pub const fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(self.as_str())
    }
}

/// What `/wham/accounts/check` said about one account. `Default` is "no constraint": the
/// configured base URL and no override header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkspaceRoute {
    /// The origin for responses (HTTP and websocket) and compaction, keeping their API path;
    /// `None` keeps the account's configured base URL.
    pub origin: Option<WorkspaceOrigin>,
    /// The routing override to send, if any.
    pub routing_override: Option<RoutingOverride>,
}

impl WorkspaceRoute {
    /// The base URL for the account's model traffic: the discovered origin, else `configured`.
    pub fn base<'a>(&'a self, configured: &'a str) -> &'a str {
        self.origin
            .as_ref()
            .map_or(configured, WorkspaceOrigin::as_str)
    }
}
