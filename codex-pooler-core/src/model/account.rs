//! An upstream Codex account (a ChatGPT subscription seat) and its lifecycle.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::UnknownVariant;

/// An upstream account's store identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccountId(pub i64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where an upstream account stands in its credential lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// Credentials are valid; the account serves traffic.
    Active,
    /// Paused by an operator.
    Paused,
    /// The access token is due for a refresh; still usable until it expires.
    RefreshDue,
    /// A refresh is in flight; the current access token is still usable.
    Refreshing,
    /// The last refresh failed transiently; retried with backoff.
    RefreshFailed,
    /// The refresh lineage is dead; an operator must log the account in again.
    ReauthRequired,
    /// Disabled by an operator.
    Disabled,
}

impl Lifecycle {
    /// Every lifecycle state, in a stable order.
    pub const ALL: [Self; 7] = [
        Self::Active,
        Self::Paused,
        Self::RefreshDue,
        Self::Refreshing,
        Self::RefreshFailed,
        Self::ReauthRequired,
        Self::Disabled,
    ];

    /// Whether model traffic may be sent to an account in this state.
    pub const fn is_routable(self) -> bool {
        matches!(self, Self::Active | Self::RefreshDue | Self::Refreshing)
    }

    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::RefreshDue => "refresh_due",
            Self::Refreshing => "refreshing",
            Self::RefreshFailed => "refresh_failed",
            Self::ReauthRequired => "reauth_required",
            Self::Disabled => "disabled",
        }
    }
}

impl FromStr for Lifecycle {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| UnknownVariant::new("account lifecycle", s))
    }
}

/// An upstream Codex account. Its secrets live elsewhere, sealed; this is metadata only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamAccount {
    /// Store identifier.
    pub id: AccountId,
    /// Operator-chosen label.
    pub label: String,
    /// The ChatGPT account (workspace) id, sent upstream as `chatgpt-account-id`.
    pub chatgpt_account_id: String,
    /// The ChatGPT user id from the id token.
    pub user_id: Option<String>,
    /// The account email from the id token.
    pub email: Option<String>,
    /// The ChatGPT plan (`plus`, `pro`, `team`, ...), kept as sent.
    pub plan_type: Option<String>,
    /// Per-account upstream origin (for example `https://chatgpt.com`); `None` uses the default.
    pub base_url: Option<String>,
    /// Credential lifecycle.
    pub lifecycle: Lifecycle,
    /// Models this account serves.
    pub models: Vec<String>,
}

impl UpstreamAccount {
    /// Whether this account lists `model`.
    pub fn supports_model(&self, model: &str) -> bool {
        self.models.iter().any(|m| m == model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_round_trip_and_routability() {
        for l in Lifecycle::ALL {
            assert_eq!(l.as_str().parse::<Lifecycle>(), Ok(l));
        }
        let routable: Vec<_> = Lifecycle::ALL
            .into_iter()
            .filter(|l| l.is_routable())
            .collect();
        assert_eq!(
            routable,
            [
                Lifecycle::Active,
                Lifecycle::RefreshDue,
                Lifecycle::Refreshing
            ]
        );
        assert!("deleted".parse::<Lifecycle>().is_err());
    }
}
