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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Removed by an operator: its secrets are deleted and it is in no pool. The row stays as
    /// a tombstone so request records can still name it; it never serves again.
    Removed,
}

impl Lifecycle {
    /// Every lifecycle state, in a stable order.
    pub const ALL: [Self; 8] = [
        Self::Active,
        Self::Paused,
        Self::RefreshDue,
        Self::Refreshing,
        Self::RefreshFailed,
        Self::ReauthRequired,
        Self::Disabled,
        Self::Removed,
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
            Self::Removed => "removed",
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
///
/// Built with [`UpstreamAccount::new`] and the `with_*` methods; other crates cannot write it
/// as a literal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// An active account with only an id and a label: ChatGPT account id `acc-<id>`, no user,
    /// email, plan or origin, and no models. The `with_*` methods fill in the rest.
    ///
    /// ```
    /// use codex_pooler_core::model::{AccountId, Lifecycle, UpstreamAccount};
    ///
    /// let account = UpstreamAccount::new(AccountId(7), "alice")
    ///     .with_lifecycle(Lifecycle::Paused)
    ///     .with_models(["gpt-5.1-codex"]);
    /// assert_eq!(account.chatgpt_account_id, "acc-7");
    /// assert!(account.supports_model("gpt-5.1-codex"));
    /// ```
    pub fn new(id: AccountId, label: impl Into<String>) -> Self {
        Self {
            id,
            label: label.into(),
            chatgpt_account_id: format!("acc-{}", id.0),
            user_id: None,
            email: None,
            plan_type: None,
            base_url: None,
            lifecycle: Lifecycle::Active,
            models: Vec::new(),
        }
    }

    /// This account with ChatGPT account (workspace) id `chatgpt_account_id`.
    #[must_use]
    pub fn with_chatgpt_account_id(mut self, chatgpt_account_id: impl Into<String>) -> Self {
        self.chatgpt_account_id = chatgpt_account_id.into();
        self
    }

    /// This account with ChatGPT user id `user_id`.
    #[must_use]
    pub fn with_user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// This account with email `email`.
    #[must_use]
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// This account on ChatGPT plan `plan_type`.
    #[must_use]
    pub fn with_plan_type(mut self, plan_type: impl Into<String>) -> Self {
        self.plan_type = Some(plan_type.into());
        self
    }

    /// This account served from upstream origin `base_url` (`None`: the default origin).
    #[must_use]
    pub fn with_base_url(mut self, base_url: Option<String>) -> Self {
        self.base_url = base_url;
        self
    }

    /// This account in credential lifecycle `lifecycle`.
    #[must_use]
    pub fn with_lifecycle(mut self, lifecycle: Lifecycle) -> Self {
        self.lifecycle = lifecycle;
        self
    }

    /// This account serving `models` (in place of any it listed).
    #[must_use]
    pub fn with_models<M: Into<String>>(mut self, models: impl IntoIterator<Item = M>) -> Self {
        self.models = models.into_iter().map(Into::into).collect();
        self
    }

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
