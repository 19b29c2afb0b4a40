//! [`AccountEvidence`]: the durable part of one account's quota evidence, as a store keeps it,
//! and [`QuotaChanges`], what changed in the live book since a position of its journal.
//!
//! What survives a restart: the best reading per window kind (used percent, window length,
//! reset time, source, observation time), the exhaustion a `usage_limit_reached` answer proved
//! (until its reset) and the credit status. Every reading keeps its own source and observation
//! time, so restored evidence is exactly as fresh, or as stale, as it was when written. Not
//! kept: the usage API's `allowed` flag, its plan type and the named limit families; they only
//! count while fresh, and the usage probe reads them again.

use std::time::SystemTime;

use super::{Credits, Evidence, QuotaWindow};
use crate::model::AccountId;

/// The durable quota evidence of one account: the best reading per window kind, a
/// `usage_limit_reached` exhaustion and the credit status, each with its source and observation
/// time (so restored evidence is as fresh, or as stale, as when it was written). The usage API's
/// `allowed` flag, plan type and named limit families are not kept: they count only while fresh.
///
/// An account with nothing in it ([`is_empty`](Self::is_empty)) has no evidence left: a store
/// saving it drops what it held for the account.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountEvidence {
    /// The account.
    pub account: AccountId,
    /// The best reading per window kind, short first; a window's `observed_at` is the
    /// reading's.
    pub windows: Vec<Evidence<QuotaWindow>>,
    /// A `usage_limit_reached` answer: the account is out until the value.
    pub exhausted_until: Option<Evidence<SystemTime>>,
    /// The latest credit status.
    pub credits: Option<Evidence<Credits>>,
}

impl AccountEvidence {
    /// No evidence for `account`.
    pub fn empty(account: AccountId) -> Self {
        Self {
            account,
            windows: Vec::new(),
            exhausted_until: None,
            credits: None,
        }
    }

    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty() && self.exhausted_until.is_none() && self.credits.is_none()
    }
}

/// What changed in the live quota book since a journal position
/// ([`LiveState::quota_changes_since`](crate::live::LiveState::quota_changes_since)).
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaChanges {
    /// The position to ask from next time.
    pub end: u64,
    /// The current durable evidence of each account that changed, once each, by account id;
    /// an account whose evidence was dropped comes [empty](AccountEvidence::is_empty).
    pub accounts: Vec<AccountEvidence>,
}
