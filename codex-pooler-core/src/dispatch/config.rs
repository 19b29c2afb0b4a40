//! [`DispatchConfig`]: how long a request waits for a busy account.

use std::time::Duration;

/// How [`Dispatch`](super::Dispatch) treats busy accounts.
///
/// An account is busy when it holds as many attempts as its learned concurrency limit, or when
/// upstream just refused an attempt with a code-less 429 while other attempts of the account
/// were in flight. A busy account frees a slot as soon as one of its streams ends, which for a
/// Codex turn is usually seconds away, so a short wait serves the request where failing it (or
/// moving a thread off the account holding its prompt cache) would cost more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchConfig {
    /// The longest a request waits, in all, when every candidate left is busy. Then it is sent
    /// over the limit to the first of them (when it has not reached upstream yet) or upstream's
    /// last answer is handed on. Zero never waits.
    pub busy_wait: Duration,
    /// The longest a request that follows a soft continuity pin waits for the pinned account
    /// alone before moving to another account (bounded by [`busy_wait`](Self::busy_wait)).
    /// Moving a thread loses its warm prompt cache, so a few seconds of wait are usually worth
    /// it. Zero moves at once.
    pub pin_wait: Duration,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            busy_wait: Duration::from_secs(30),
            pin_wait: Duration::from_secs(10),
        }
    }
}

impl DispatchConfig {
    /// Never wait: overflow onto a busy account, or move a pinned thread, at once.
    pub const fn no_wait() -> Self {
        Self {
            busy_wait: Duration::ZERO,
            pin_wait: Duration::ZERO,
        }
    }
}
