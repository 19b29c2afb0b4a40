//! Live state: what a process learns while serving, kept in memory and shared by all requests.

use crate::continuity::ContinuityBook;
use crate::quota::QuotaBook;

/// The per-process live routing state.
#[derive(Debug, Default)]
pub struct LiveState {
    /// Quota evidence per account.
    pub quota: QuotaBook,
    /// Which account holds which conversation.
    pub continuity: ContinuityBook,
}

impl LiveState {
    /// Empty live state.
    pub fn new() -> Self {
        Self::default()
    }
}
