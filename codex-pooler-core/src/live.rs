//! Live state: what a process learns while serving, kept in memory and shared by all requests.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::RwLock;
use std::time::SystemTime;

use crate::catalog::CatalogBook;
use crate::continuity::ContinuityBook;
use crate::health::{HealthBook, HealthConfig};
use crate::model::AccountId;
use crate::quota::QuotaBook;
use crate::request::PoolRequest;

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
    successes: RwLock<AccountMap<SystemTime>>,
}

/// A map keyed by [`AccountId`], hashed with [`AccountIdHasher`]: the live books look accounts
/// up on every request, for every account of the pool.
pub(crate) type AccountMap<V> = HashMap<AccountId, V, BuildHasherDefault<AccountIdHasher>>;

/// A fast hasher for [`AccountId`] keys (one folded multiplication per integer).
///
/// Account ids come from the operator's configuration, never from clients, so the flooding
/// resistance of the default SipHash buys nothing here, while its cost (about 15 ns a lookup)
/// dominated planning.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AccountIdHasher(u64);

impl Hasher for AccountIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Folded multiply: both halves of the 128-bit product, so high and low bits of the hash
        // (hashbrown uses both) depend on every input bit.
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let product = u128::from(self.0 ^ n) * u128::from(K);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    fn write_i64(&mut self, n: i64) {
        // The id's bit pattern is what is hashed; reinterpreting the sign is intended.
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for LiveState {
    fn default() -> Self {
        Self {
            quota: QuotaBook::default(),
            continuity: ContinuityBook::default(),
            health: HealthBook::new(HealthConfig::default()),
            catalog: CatalogBook::default(),
            successes: RwLock::new(AccountMap::default()),
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

    /// After `account` answered `request` successfully: the request's soft continuity keys now
    /// point at `account`, and a turn state it issued (`x-codex-turn-state`) keeps the rest of
    /// the turn there.
    pub fn learn_continuity(
        &self,
        request: &PoolRequest,
        account: AccountId,
        headers: &http::HeaderMap,
        now: SystemTime,
    ) {
        let pool = request.ctx.pool;
        self.continuity
            .remember(pool, &request.facts.continuity, account, now);
        if let Some(state) = headers
            .get("x-codex-turn-state")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
        {
            self.continuity.learn_turn_state(pool, state, account, now);
        }
    }

    /// When `account` last answered successfully.
    pub fn last_success(&self, account: AccountId) -> Option<SystemTime> {
        self.successes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&account)
            .copied()
    }

    /// When each of `accounts` last answered successfully, in the same order, read under one
    /// lock.
    pub fn last_successes(&self, accounts: &[AccountId]) -> Vec<Option<SystemTime>> {
        let successes = self.successes.read().unwrap_or_else(|p| p.into_inner());
        if successes.is_empty() {
            return vec![None; accounts.len()];
        }
        accounts
            .iter()
            .map(|id| successes.get(id).copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;
    use crate::clock::from_unix_seconds;

    #[test]
    fn last_successes_answer_in_order() {
        let live = LiveState::new();
        assert_eq!(live.last_successes(&[AccountId(1)]), [None]);
        live.record_success(AccountId(2), from_unix_seconds(5));
        assert_eq!(
            live.last_successes(&[AccountId(1), AccountId(2)]),
            [None, Some(from_unix_seconds(5))]
        );
    }

    #[test]
    fn the_account_hasher_spreads_sequential_ids() {
        let build = BuildHasherDefault::<AccountIdHasher>::default();
        let hashes: Vec<u64> = (0..64).map(|i| build.hash_one(AccountId(i))).collect();
        // hashbrown takes the top 7 bits as a tag and the low bits as the bucket.
        let tags: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        let buckets: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 63).collect();
        assert!(tags.len() > 30, "{}", tags.len());
        assert!(buckets.len() > 30, "{}", buckets.len());
    }
}
