//! [`StrategyKind`]: the built-in strategies by name, for choosing one per pool.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::{HeadroomFirst, LeastRecentSuccess, Rendezvous, ResetAware, Rotation, RoutingStrategy};
use crate::model::UnknownVariant;

/// A built-in routing strategy, named the way configuration spells it.
///
/// ```
/// use codex_pooler_core::strategy::StrategyKind;
///
/// let kind: StrategyKind = "reset_aware".parse()?;
/// assert_eq!(kind, StrategyKind::default());
/// assert_eq!(kind.build().name(), "reset_aware");
/// assert!("fastest".parse::<StrategyKind>().is_err());
/// # Ok::<(), codex_pooler_core::model::UnknownVariant>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StrategyKind {
    /// [`Rendezvous`]: stable spread by continuity key.
    Rendezvous,
    /// [`Rotation`]: the pool order, rotated per request.
    Rotation,
    /// [`LeastRecentSuccess`]: the account idle longest first.
    LeastRecentSuccess,
    /// [`HeadroomFirst`]: the most quota left first.
    HeadroomFirst,
    /// [`ResetAware`]: the quota that resets soonest first (the default).
    #[default]
    ResetAware,
}

impl StrategyKind {
    /// Every built-in strategy, in a stable order.
    pub const ALL: [Self; 5] = [
        Self::Rendezvous,
        Self::Rotation,
        Self::LeastRecentSuccess,
        Self::HeadroomFirst,
        Self::ResetAware,
    ];

    /// The configured spelling, equal to the strategy's [`RoutingStrategy::name`].
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rendezvous => "rendezvous",
            Self::Rotation => "rotation",
            Self::LeastRecentSuccess => "least_recent_success",
            Self::HeadroomFirst => "headroom_first",
            Self::ResetAware => "reset_aware",
        }
    }

    /// A new instance of the strategy.
    pub fn build(&self) -> Arc<dyn RoutingStrategy> {
        match self {
            Self::Rendezvous => Arc::new(Rendezvous),
            Self::Rotation => Arc::new(Rotation),
            Self::LeastRecentSuccess => Arc::new(LeastRecentSuccess),
            Self::HeadroomFirst => Arc::new(HeadroomFirst),
            Self::ResetAware => Arc::new(ResetAware),
        }
    }
}

impl FromStr for StrategyKind {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownVariant::new("routing strategy", s))
    }
}

impl fmt::Display for StrategyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_strategies() {
        for kind in StrategyKind::ALL {
            assert_eq!(kind.as_str().parse::<StrategyKind>(), Ok(kind));
            assert_eq!(kind.build().name(), kind.as_str());
            assert_eq!(kind.to_string(), kind.as_str());
        }
        let err = "round_robin".parse::<StrategyKind>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown routing strategy value \"round_robin\""
        );
    }
}
