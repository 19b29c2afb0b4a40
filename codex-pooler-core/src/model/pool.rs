//! A Pool: a named set of upstream accounts that Pool API keys draw capacity from.

use std::fmt;
use std::str::FromStr;

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
}

impl PoolStatus {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

impl FromStr for PoolStatus {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            other => Err(UnknownVariant::new("pool status", other)),
        }
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
        for s in [PoolStatus::Active, PoolStatus::Disabled] {
            assert_eq!(s.as_str().parse::<PoolStatus>(), Ok(s));
        }
        assert!("archived".parse::<PoolStatus>().is_err());
    }
}
