//! The domain: pools, upstream accounts, their assignments and Pool API keys.

mod account;
mod assignment;
mod catalog;
mod key;
mod key_policy;
mod pool;
mod snapshot;

pub use account::{AccountId, Lifecycle, UpstreamAccount};
pub use assignment::Assignment;
pub use catalog::DEFAULT_CODEX_MODELS;
pub use key::{KeyId, KeyStatus, PoolApiKey, PreviousSecret};
pub use key_policy::{EffortRule, KeyLimits, KeyPolicy, ReasoningEffort};
pub use pool::{Pool, PoolId, PoolStatus, PoolWaits};
pub use snapshot::{Snapshot, SnapshotChanges, SnapshotHandle};

/// The error for a status string that names no known variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} value {value:?}")]
pub struct UnknownVariant {
    kind: &'static str,
    value: String,
}

impl UnknownVariant {
    pub(crate) fn new(kind: &'static str, value: &str) -> Self {
        Self {
            kind,
            value: value.to_owned(),
        }
    }
}
