//! Live state: what a process learns while serving, kept in memory and shared by all requests.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::SystemTime;

use crate::catalog::CatalogBook;
use crate::continuity::ContinuityBook;
use crate::health::{HealthBook, HealthConfig};
use crate::model::AccountId;
use crate::quota::QuotaBook;

/// The per-process live routing state.
#[derive(Debug)]
pub struct LiveState {
    /// Quota evidence per account.
    pub quota: QuotaBook,
    /// Which account holds which conversation.
    pub continuity: ContinuityBook,
    /// Circuit breakers, demotions and adaptive concurrency.
    pub health: HealthBook,
    /// The model catalog each account serves.
    pub catalog: CatalogBook,
    successes: RwLock<HashMap<AccountId, SystemTime>>,
}

impl Default for LiveState {
    fn default() -> Self {
        Self {
            quota: QuotaBook::default(),
            continuity: ContinuityBook::default(),
            health: HealthBook::new(HealthConfig::default()),
            catalog: CatalogBook::default(),
            successes: RwLock::new(HashMap::new()),
        }
    }
}

impl LiveState {
    /// Empty live state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `account` answered successfully at `now`.
    pub fn record_success(&self, account: AccountId, now: SystemTime) {
        self.successes
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account, now);
    }

    /// When `account` last answered successfully.
    pub fn last_success(&self, account: AccountId) -> Option<SystemTime> {
        self.successes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&account)
            .copied()
    }
}
