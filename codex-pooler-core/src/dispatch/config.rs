//! [`DispatchConfig`]: how long a request waits for a busy account.

use std::time::Duration;

use crate::model::PoolWaits;

/// How [`Dispatch`](super::Dispatch) treats accounts upstream refused for concurrency.
///
/// A code-less 429 from an account with other attempts in flight is its per-account cap, and
/// the account frees a slot as soon as one of those streams ends, usually seconds away for a
/// Codex turn. Waiting for that serves the request where failing it, or moving a thread off
/// the account holding its prompt cache, would cost more. (An account merely at its *learned*
/// limit is not waited for: it is passed over for one with room, or tried over the limit when
/// none has room, since the learned limit is only an estimate.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchConfig {
    /// The longest a request waits, in all, when every candidate left was refused for
    /// concurrency; then upstream's last answer is handed on. Zero never waits.
    pub busy_wait: Duration,
    /// The longest a request that follows a soft continuity pin waits for the pinned account
    /// alone, after upstream refused it for concurrency, before moving to another account
    /// (bounded by [`busy_wait`](Self::busy_wait)).
    /// Moving a thread loses its warm prompt cache, and a Codex turn takes about as long as
    /// this wait anyway, so waiting is usually worth it (the fleet simulator in
    /// `examples/fleet_sim.rs` measures the trade-off). Zero moves at once.
    pub pin_wait: Duration,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            busy_wait: Duration::from_secs(60),
            pin_wait: Duration::from_secs(45),
        }
    }
}

impl DispatchConfig {
    /// This configuration with a pool's own waits in place of the ones it sets.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use codex_pooler_core::dispatch::DispatchConfig;
    /// use codex_pooler_core::model::PoolWaits;
    ///
    /// let waits = PoolWaits { busy_wait_secs: Some(5), pin_wait_secs: None };
    /// let config = DispatchConfig::default().for_pool(waits);
    /// assert_eq!(config.busy_wait, Duration::from_secs(5));
    /// assert_eq!(config.pin_wait, DispatchConfig::default().pin_wait);
    /// ```
    #[must_use]
    pub fn for_pool(self, waits: PoolWaits) -> Self {
        Self {
            busy_wait: waits.busy_wait().unwrap_or(self.busy_wait),
            pin_wait: waits.pin_wait().unwrap_or(self.pin_wait),
        }
    }

    /// Never wait: hand on upstream's refusal, or move a pinned thread, at once.
    pub const fn no_wait() -> Self {
        Self {
            busy_wait: Duration::ZERO,
            pin_wait: Duration::ZERO,
        }
    }
}
