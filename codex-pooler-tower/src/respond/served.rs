//! [`Served`]: what routing did for an answer, carried in its response extensions.

use std::sync::{Arc, Mutex, PoisonError};

use codex_pooler_core::error::ErrorCode;
use codex_pooler_core::health::AttemptGuard;
use codex_pooler_core::model::AccountId;
use codex_pooler_core::plan::Exclusion;

/// Routing metadata of an answer the pipeline produced, for the [`Record`](crate::records::RecordLayer)
/// layer: request facts the record keeps, the serving account, attempts, exclusions, the
/// pooler's own error code and the account's concurrency slot.
#[derive(Debug, Clone)]
pub(crate) struct Served {
    /// The requested model.
    pub(crate) model: Option<String>,
    /// Whether the client asked for a stream.
    pub(crate) stream: bool,
    /// The account whose answer is sent, if any.
    pub(crate) account: Option<AccountId>,
    /// How many accounts were tried.
    pub(crate) attempts: u32,
    /// The pooler's error code, when the pooler produced the answer.
    pub(crate) error_code: Option<ErrorCode>,
    /// Accounts the eligibility checks excluded.
    pub(crate) exclusions: Arc<[(AccountId, Exclusion)]>,
    /// The serving account's slot, held until the body ends.
    pub(crate) slot: SlotHold,
}

/// The serving account's concurrency slot on its way up the stack: response extensions must be
/// `Clone`, a slot is not, so it sits in a shared cell whoever takes it first owns.
#[derive(Debug, Clone, Default)]
pub(crate) struct SlotHold(Arc<Mutex<Option<AttemptGuard>>>);

impl SlotHold {
    /// A cell holding `guard`.
    pub(crate) fn new(guard: Option<AttemptGuard>) -> Self {
        Self(Arc::new(Mutex::new(guard)))
    }

    /// The slot, once.
    pub(crate) fn take(&self) -> Option<AttemptGuard> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}
