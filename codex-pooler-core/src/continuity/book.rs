//! [`ContinuityBook`]: which account answered which continuity keys, bounded and expiring.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use super::{ContinuityKeys, Pin, PinKind};
use crate::model::{AccountId, PoolId};

/// How long continuity entries live, and how many are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContinuityConfig {
    /// Lifetime of a response-id or file alias.
    pub alias_ttl: Duration,
    /// Lifetime of a turn-state alias.
    pub turn_state_ttl: Duration,
    /// Lifetime of a soft (session, cache key, fingerprint) entry since its last use.
    pub affinity_ttl: Duration,
    /// The most entries kept; the oldest go first beyond it.
    pub capacity: usize,
}

impl Default for ContinuityConfig {
    fn default() -> Self {
        Self {
            alias_ttl: Duration::from_secs(24 * 3600),
            turn_state_ttl: Duration::from_secs(2 * 3600),
            affinity_ttl: Duration::from_secs(12 * 3600),
            capacity: 200_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    pool: PoolId,
    kind: PinKind,
    /// A 64-bit hash of the value: ids are not kept verbatim.
    value: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    account: AccountId,
    expires: SystemTime,
}

/// Continuity knowledge of one process: keys (hashed) to the account that holds their state.
#[derive(Debug, Default)]
pub(crate) struct ContinuityBook {
    config: ContinuityConfig,
    entries: RwLock<HashMap<Key, Entry>>,
}

impl ContinuityBook {
    /// An empty book.
    pub(crate) fn new(config: ContinuityConfig) -> Self {
        Self {
            config,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The pin for a request, strongest signal first: `previous_response_id`, turn state, files,
    /// then the session header, prompt cache key and fingerprint.
    pub(crate) fn resolve(
        &self,
        pool: PoolId,
        keys: &ContinuityKeys,
        now: SystemTime,
    ) -> Option<Pin> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let lookup = |kind: PinKind, value: &str| {
            entries
                .get(&Key {
                    pool,
                    kind,
                    value: hash(value),
                })
                .filter(|e| e.expires > now)
                .map(|e| Pin {
                    kind,
                    account: e.account,
                })
        };
        let hard = keys
            .previous_response_id
            .as_deref()
            .and_then(|id| lookup(PinKind::PreviousResponse, id))
            .or_else(|| {
                keys.turn_state
                    .as_deref()
                    .and_then(|s| lookup(PinKind::TurnState, s))
            })
            .or_else(|| keys.file_ids.iter().find_map(|f| lookup(PinKind::File, f)))
            .or_else(|| {
                keys.context_session
                    .as_deref()
                    .and_then(|s| lookup(PinKind::ContextOwner, s))
            });
        hard.or_else(|| {
            keys.session
                .as_deref()
                .or(keys.upstream_session.as_deref())
                .and_then(|s| lookup(PinKind::Session, s))
                .or_else(|| {
                    keys.prompt_cache_key
                        .as_deref()
                        .and_then(|k| lookup(PinKind::PromptCacheKey, k))
                })
                .or_else(|| {
                    keys.derived
                        .as_deref()
                        .and_then(|d| lookup(PinKind::Derived, d))
                })
        })
    }

    /// Records that `account` answered a request carrying `keys`: its soft keys now point there,
    /// and a turn state it sent stays there for the rest of the turn.
    #[cfg(test)]
    pub(crate) fn remember(
        &self,
        pool: PoolId,
        keys: &ContinuityKeys,
        account: AccountId,
        now: SystemTime,
    ) {
        self.remember_for(pool, keys, account, account, now);
    }

    /// Records that `account` answered a request carrying `keys` for the thread `owner` keeps:
    /// its soft keys point at `owner` (refreshed), the turn state it sent at `account`, which
    /// holds that state for the rest of the turn.
    pub(crate) fn remember_for(
        &self,
        pool: PoolId,
        keys: &ContinuityKeys,
        owner: AccountId,
        account: AccountId,
        now: SystemTime,
    ) {
        let soft = now + self.config.affinity_ttl;
        let mut updates: Vec<(PinKind, &str, SystemTime)> = Vec::with_capacity(4);
        if let Some(s) = keys.session.as_ref().or(keys.upstream_session.as_ref()) {
            updates.push((PinKind::Session, s, soft));
        }
        if let Some(k) = &keys.prompt_cache_key {
            updates.push((PinKind::PromptCacheKey, k, soft));
        }
        if let Some(d) = &keys.derived {
            updates.push((PinKind::Derived, d, soft));
        }
        self.insert(pool, owner, &updates, now);
        if let Some(t) = &keys.turn_state {
            let expires = now + self.config.turn_state_ttl;
            self.insert(pool, account, &[(PinKind::TurnState, t, expires)], now);
        }
        if let Some(session) = keys.owned_session() {
            self.own_context(pool, session, account, now);
        }
    }

    /// Makes `account` the context owner of root session `session` unless it already has a
    /// live one: the owner is immutable, so notes never fork across accounts.
    fn own_context(&self, pool: PoolId, session: &str, account: AccountId, now: SystemTime) {
        let key = Key {
            pool,
            kind: PinKind::ContextOwner,
            value: hash(session),
        };
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.get(&key).is_some_and(|e| e.expires > now) {
            return;
        }
        entries.insert(
            key,
            Entry {
                account,
                expires: now + self.config.alias_ttl,
            },
        );
        if entries.len() > self.config.capacity {
            sweep(&mut entries, self.config.capacity, now);
        }
    }

    /// Records that `account` produced response `id`.
    pub(crate) fn learn_response_id(
        &self,
        pool: PoolId,
        id: &str,
        account: AccountId,
        now: SystemTime,
    ) {
        let expires = now + self.config.alias_ttl;
        self.insert(
            pool,
            account,
            &[(PinKind::PreviousResponse, id, expires)],
            now,
        );
    }

    /// Records that `account` issued turn state `state`.
    pub(crate) fn learn_turn_state(
        &self,
        pool: PoolId,
        state: &str,
        account: AccountId,
        now: SystemTime,
    ) {
        let expires = now + self.config.turn_state_ttl;
        self.insert(pool, account, &[(PinKind::TurnState, state, expires)], now);
    }

    /// Records that file `id` was uploaded to `account`.
    pub(crate) fn learn_file(&self, pool: PoolId, id: &str, account: AccountId, now: SystemTime) {
        let expires = now + self.config.alias_ttl;
        self.insert(pool, account, &[(PinKind::File, id, expires)], now);
    }

    /// The account holding file `id` in `pool`, if the gateway routed its creation there and
    /// the record has not expired. A file unknown here is refused, never routed by strategy.
    pub(crate) fn file_owner(&self, pool: PoolId, id: &str, now: SystemTime) -> Option<AccountId> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&Key {
                pool,
                kind: PinKind::File,
                value: hash(id),
            })
            .filter(|e| e.expires > now)
            .map(|e| e.account)
    }

    /// Entries held (expired ones included until they are swept).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn insert(
        &self,
        pool: PoolId,
        account: AccountId,
        updates: &[(PinKind, &str, SystemTime)],
        now: SystemTime,
    ) {
        if updates.is_empty() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        for (kind, value, expires) in updates {
            entries.insert(
                Key {
                    pool,
                    kind: *kind,
                    value: hash(value),
                },
                Entry {
                    account,
                    expires: *expires,
                },
            );
        }
        if entries.len() > self.config.capacity {
            sweep(&mut entries, self.config.capacity, now);
        }
    }
}

/// Drops expired entries, then the soonest-expiring ones until a tenth of the capacity is free.
fn sweep(entries: &mut HashMap<Key, Entry>, capacity: usize, now: SystemTime) {
    entries.retain(|_, e| e.expires > now);
    let target = capacity - capacity / 10;
    if entries.len() > target {
        let mut by_expiry: Vec<(SystemTime, Key)> =
            entries.iter().map(|(k, e)| (e.expires, *k)).collect();
        by_expiry.sort_by_key(|(t, _)| *t);
        for (_, key) in by_expiry.into_iter().take(entries.len() - target) {
            entries.remove(&key);
        }
    }
}

fn hash(value: &str) -> u64 {
    // FNV-1a then a splitmix finaliser: cheap, stable across processes and releases.
    let h = value.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut x = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::from_unix_seconds;

    fn keys() -> ContinuityKeys {
        ContinuityKeys {
            session: Some("session-id:s1".into()),
            prompt_cache_key: Some("pc".into()),
            ..ContinuityKeys::default()
        }
    }

    #[test]
    fn soft_keys_point_at_the_last_server() {
        let book = ContinuityBook::default();
        let now = from_unix_seconds(1_000);
        let pool = PoolId(1);
        assert_eq!(book.resolve(pool, &keys(), now), None);
        book.remember(pool, &keys(), AccountId(7), now);
        assert_eq!(
            book.resolve(pool, &keys(), now),
            Some(Pin {
                kind: PinKind::Session,
                account: AccountId(7)
            })
        );
        // Another pool does not see it.
        assert_eq!(book.resolve(PoolId(2), &keys(), now), None);
        // It moves when another account answers.
        book.remember(pool, &keys(), AccountId(8), now);
        assert_eq!(
            book.resolve(pool, &keys(), now).unwrap().account,
            AccountId(8)
        );
    }

    #[test]
    fn a_derived_upstream_session_is_a_session_pin() {
        let book = ContinuityBook::default();
        let now = from_unix_seconds(1_000);
        let pool = PoolId(1);
        let keys = ContinuityKeys {
            upstream_session: Some("0000-derived".into()),
            prompt_cache_key: Some("pc".into()),
            ..ContinuityKeys::default()
        };
        book.remember(pool, &keys, AccountId(5), now);
        let pin = book.resolve(pool, &keys, now).unwrap();
        assert_eq!((pin.kind, pin.account), (PinKind::Session, AccountId(5)));
        // The same cache key under another key's derived session starts afresh there...
        let other = ContinuityKeys {
            upstream_session: Some("1111-derived".into()),
            prompt_cache_key: Some("pc".into()),
            ..ContinuityKeys::default()
        };
        book.remember(pool, &other, AccountId(6), now);
        // ...without moving the first one.
        assert_eq!(
            book.resolve(pool, &keys, now).unwrap().account,
            AccountId(5)
        );
    }

    #[test]
    fn hard_keys_win_over_soft_ones() {
        let book = ContinuityBook::default();
        let now = from_unix_seconds(1_000);
        let pool = PoolId(1);
        book.remember(pool, &keys(), AccountId(7), now);
        book.learn_response_id(pool, "resp_1", AccountId(3), now);
        let mut k = keys();
        k.previous_response_id = Some("resp_1".into());
        let pin = book.resolve(pool, &k, now).unwrap();
        assert_eq!(pin.kind, PinKind::PreviousResponse);
        assert_eq!(pin.account, AccountId(3));
        assert!(pin.is_hard());
        // An unknown response id falls back on the soft pin.
        k.previous_response_id = Some("resp_unknown".into());
        assert_eq!(book.resolve(pool, &k, now).unwrap().kind, PinKind::Session);
    }

    #[test]
    fn files_are_known_per_pool_until_they_expire() {
        let book = ContinuityBook::default();
        let now = from_unix_seconds(1_000);
        assert_eq!(book.file_owner(PoolId(1), "file-a", now), None);
        book.learn_file(PoolId(1), "file-a", AccountId(4), now);
        assert_eq!(
            book.file_owner(PoolId(1), "file-a", now),
            Some(AccountId(4))
        );
        assert_eq!(book.file_owner(PoolId(2), "file-a", now), None);
        assert_eq!(book.file_owner(PoolId(1), "file-b", now), None);
        // Another kind of key with the same value is not a file.
        book.learn_response_id(PoolId(1), "file-c", AccountId(4), now);
        assert_eq!(book.file_owner(PoolId(1), "file-c", now), None);
        let later = now + ContinuityConfig::default().alias_ttl;
        assert_eq!(book.file_owner(PoolId(1), "file-a", later), None);
    }

    #[test]
    fn the_context_owner_is_the_first_server_and_never_moves() {
        let book = ContinuityBook::default();
        let now = from_unix_seconds(1_000);
        let pool = PoolId(1);
        let tool = ContinuityKeys {
            context_session: Some("s1".into()),
            ..ContinuityKeys::default()
        };
        assert_eq!(book.resolve(pool, &tool, now), None);
        // A turn of session `s1` (header `session-id:s1`) served by 7 makes 7 the owner.
        book.remember(pool, &keys(), AccountId(7), now);
        let pin = book.resolve(pool, &tool, now).unwrap();
        assert_eq!(pin.kind, PinKind::ContextOwner);
        assert_eq!(pin.account, AccountId(7));
        assert!(pin.is_hard());
        // The thread moves to 8: its turns follow, its context owner does not.
        book.remember(pool, &keys(), AccountId(8), now);
        book.remember(pool, &tool, AccountId(8), now);
        assert_eq!(
            book.resolve(pool, &keys(), now).unwrap().account,
            AccountId(8)
        );
        assert_eq!(
            book.resolve(pool, &tool, now).unwrap().account,
            AccountId(7)
        );
        // Another pool, or another session, has no owner.
        assert_eq!(book.resolve(PoolId(2), &tool, now), None);
        let other = ContinuityKeys {
            context_session: Some("s2".into()),
            ..ContinuityKeys::default()
        };
        assert_eq!(book.resolve(pool, &other, now), None);
        // A tool call of an unknown session makes its first server the owner.
        book.remember(pool, &other, AccountId(9), now);
        assert_eq!(
            book.resolve(pool, &other, now).unwrap().account,
            AccountId(9)
        );
    }

    #[test]
    fn entries_expire_and_capacity_is_bounded() {
        let config = ContinuityConfig {
            capacity: 100,
            ..ContinuityConfig::default()
        };
        let book = ContinuityBook::new(config);
        let now = from_unix_seconds(1_000);
        book.learn_turn_state(PoolId(1), "ts", AccountId(1), now);
        let k = ContinuityKeys {
            turn_state: Some("ts".into()),
            ..ContinuityKeys::default()
        };
        assert!(book.resolve(PoolId(1), &k, now).is_some());
        let later = now + config.turn_state_ttl;
        assert!(book.resolve(PoolId(1), &k, later).is_none());
        for i in 0..1_000 {
            book.learn_response_id(PoolId(1), &format!("r{i}"), AccountId(1), now);
        }
        assert!(book.len() <= 100);
    }
}
