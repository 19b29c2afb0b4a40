//! A Pool: a named set of upstream accounts that Pool API keys draw capacity from.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::UnknownVariant;

/// A pool's store identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PoolId(pub i64);

impl fmt::Display for PoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether a pool serves traffic.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolStatus {
    /// Serves traffic.
    Active,
    /// Keeps its configuration but answers every request with an error.
    Disabled,
    /// Retired for good: serves nothing (its keys get the disabled-pool error), is hidden from
    /// listings, and is never enabled again.
    Archived,
}

impl PoolStatus {
    /// Every status, in a stable order.
    pub const ALL: [Self; 3] = [Self::Active, Self::Disabled, Self::Archived];

    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Archived => "archived",
        }
    }
}

impl FromStr for PoolStatus {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownVariant::new("pool status", s))
    }
}

/// A pool of upstream accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    /// Store identifier.
    pub id: PoolId,
    /// Unique, URL-safe name chosen by the operator.
    pub slug: String,
    /// Whether it serves traffic.
    pub status: PoolStatus,
    /// The routing strategy's name (`reset_aware`, `rendezvous`, ...); `None` uses the default.
    pub strategy: Option<String>,
    /// Whether the pool's keys may use the OpenAI-compatible `/v1` surface (default true);
    /// with it off every `/v1` request answers 403 `v1_compatibility_disabled`.
    #[serde(default = "v1_enabled_by_default")]
    pub v1_enabled: bool,
    /// The pool's own busy and pin waits; unset ones use the gateway's.
    #[serde(default)]
    pub waits: PoolWaits,
}

/// A pool's overrides of the gateway's waits for busy accounts
/// ([`DispatchConfig`](crate::dispatch::DispatchConfig)); `None` keeps the gateway's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PoolWaits {
    /// Overrides [`DispatchConfig::busy_wait`](crate::dispatch::DispatchConfig::busy_wait), in
    /// seconds.
    pub busy_wait_secs: Option<u64>,
    /// Overrides [`DispatchConfig::pin_wait`](crate::dispatch::DispatchConfig::pin_wait), in
    /// seconds.
    pub pin_wait_secs: Option<u64>,
}

impl PoolWaits {
    /// The busy wait override as a duration.
    pub fn busy_wait(self) -> Option<Duration> {
        self.busy_wait_secs.map(Duration::from_secs)
    }

    /// The pin wait override as a duration.
    pub fn pin_wait(self) -> Option<Duration> {
        self.pin_wait_secs.map(Duration::from_secs)
    }
}

/// A pool serves `/v1` unless an operator turns it off.
const fn v1_enabled_by_default() -> bool {
    true
}

impl Pool {
    /// Checks that `slug` is a usable pool name: 1-63 lowercase ASCII letters, digits or `-`,
    /// starting with a letter or digit.
    pub fn validate_slug(slug: &str) -> Result<(), InvalidSlug> {
        let ok_len = !slug.is_empty() && slug.len() <= 63;
        let ok_chars = slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_start = slug.bytes().next().is_some_and(|b| b != b'-');
        if ok_len && ok_chars && ok_start {
            Ok(())
        } else {
            Err(InvalidSlug(slug.to_owned()))
        }
    }
}

/// A pool slug that breaks the naming rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid pool slug {0:?}: use 1-63 lowercase letters, digits or '-', not starting with '-'"
)]
pub struct InvalidSlug(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(Pool::validate_slug("team-a").is_ok());
        assert!(Pool::validate_slug("a1").is_ok());
        assert!(Pool::validate_slug("").is_err());
        assert!(Pool::validate_slug("-a").is_err());
        assert!(Pool::validate_slug("Team").is_err());
        assert!(Pool::validate_slug("a b").is_err());
        assert!(Pool::validate_slug(&"a".repeat(64)).is_err());
    }

    #[test]
    fn status_round_trip() {
        for s in PoolStatus::ALL {
            assert_eq!(s.as_str().parse::<PoolStatus>(), Ok(s));
        }
        assert!("deleted".parse::<PoolStatus>().is_err());
    }
}
