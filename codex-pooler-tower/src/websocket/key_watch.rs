//! [`KeyWatch`]: a session ends when its Pool API key may no longer be used.
//!
//! A session re-checks its key when the configuration snapshot is replaced (the config sync
//! reloading the store: [`SnapshotHandle::changes`](codex_pooler_core::model::SnapshotHandle::changes))
//! and when the key's expiry time comes (a timer on the injected clock), so no socket polls. A
//! slow fallback check ([`WebsocketSettings::key_check_interval`](super::WebsocketSettings))
//! covers a snapshot replaced by other means.
//!
//! What ends a session, and how the client's socket is closed:
//! - the key paused, revoked or expired: `1008` with `api_key_paused`, `api_key_revoked` or
//!   `api_key_expired`;
//! - the key rotated or deleted (its prefix gone, or its hash changed): `1008 invalid_api_key`;
//!   a session opened with a rotated key's old secret ends so when the rotation's grace period
//!   ends (a timer, like the expiry), and at once for a rotation without grace;
//! - the key's pool disabled: `1008 pool_disabled`;
//! - the key moved to another pool: `1012 api_key_moved_pool` (the key still works: a new socket
//!   is routed in its new pool).

use std::sync::Arc;
use std::time::SystemTime;

use codex_pooler_core::error::PoolerError;
use codex_pooler_core::model::{KeyId, KeyStatus, PoolId, PoolStatus, Snapshot, SnapshotChanges};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::pooler::Shared;

/// The close reason of a session whose key moved to another pool.
pub(crate) const MOVED_POOL_REASON: &str = "api_key_moved_pool";

/// Why a session's key ended it.
#[derive(Debug)]
pub(crate) enum KeyChange {
    /// The key may not be used any more.
    Refused(PoolerError),
    /// The key now draws from another pool.
    Moved,
}

/// The key a session was opened with, as it was then.
#[derive(Debug, Clone)]
pub(crate) struct SessionKey {
    pub(crate) prefix: String,
    pub(crate) id: KeyId,
    pub(crate) pool: PoolId,
    /// The stored hash its secret matched at the upgrade (the key's current one, or a rotated
    /// key's previous one); `None` when unknown (any hash is then accepted).
    pub(crate) hash: Option<[u8; 32]>,
}

impl SessionKey {
    /// What ends the session under `snapshot` at `now`, if anything does.
    pub(crate) fn check(&self, snapshot: &Snapshot, now: SystemTime) -> Option<KeyChange> {
        let refused = |error| Some(KeyChange::Refused(error));
        let Some(key) = snapshot.key_by_prefix(&self.prefix).filter(|k| {
            k.id == self.id
                && self.hash.is_none_or(|h| {
                    h == k.hash || k.previous_at(now).is_some_and(|old| old.hash == h)
                })
        }) else {
            return refused(PoolerError::invalid_api_key());
        };
        match key.status {
            KeyStatus::Paused => return refused(PoolerError::api_key_paused()),
            KeyStatus::Revoked => return refused(PoolerError::api_key_revoked()),
            KeyStatus::Active => {}
        }
        if key.is_expired(now) {
            return refused(PoolerError::api_key_expired());
        }
        if key.pool != self.pool {
            return Some(KeyChange::Moved);
        }
        match snapshot.pool(self.pool) {
            Some(pool) if pool.status == PoolStatus::Active => None,
            _ => refused(PoolerError::pool_disabled()),
        }
    }

    /// When the session's secret stops being accepted without a configuration change: the
    /// key's expiry, or sooner the end of the grace period of the old secret it was opened with.
    fn expires_at(&self, snapshot: &Snapshot) -> Option<SystemTime> {
        let key = snapshot.key_by_prefix(&self.prefix)?;
        let grace_end = key
            .previous
            .filter(|old| self.hash.is_some_and(|h| h == old.hash && h != key.hash))
            .map(|old| old.until);
        match (key.expires_at, grace_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Waits for the change that ends a session.
pub(crate) struct KeyWatch {
    shared: Arc<Shared>,
    key: SessionKey,
    changes: SnapshotChanges,
    fallback: Interval,
}

impl KeyWatch {
    /// Watches `key` for a session of `shared`.
    pub(crate) fn new(shared: Arc<Shared>, key: SessionKey) -> Self {
        let changes = shared.snapshot.changes();
        let every = shared.websocket.settings.key_check_interval;
        let mut fallback = tokio::time::interval_at(Instant::now() + every, every);
        fallback.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self {
            shared,
            key,
            changes,
            fallback,
        }
    }

    /// Resolves with the change that ends the session.
    pub(crate) async fn ended(&mut self) -> KeyChange {
        loop {
            let snapshot = self.shared.snapshot.load();
            if let Some(change) = self.key.check(&snapshot, self.shared.clock.now()) {
                return change;
            }
            let expiry = self.key.expires_at(&snapshot);
            drop(snapshot);
            let clock = Arc::clone(&self.shared.clock);
            let expires = async move {
                match expiry {
                    Some(at) => clock.sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = self.changes.changed() => {}
                () = expires => {}
                _ = self.fallback.tick() => {}
            }
        }
    }
}

impl std::fmt::Debug for KeyWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyWatch")
            .field("key", &self.key.id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use codex_pooler_core::clock::from_unix_seconds;
    use codex_pooler_core::model::{Pool, PoolApiKey};
    use codex_pooler_core::store::StoreState;

    use super::*;

    fn key(pool: i64) -> PoolApiKey {
        PoolApiKey {
            id: KeyId(7),
            pool: PoolId(pool),
            name: "k".into(),
            prefix: "pfx".into(),
            hash: [1; 32],
            key_version: 1,
            status: KeyStatus::Active,
            expires_at: Some(from_unix_seconds(2_000)),
            policy: Default::default(),
            previous: None,
        }
    }

    fn snapshot(key: PoolApiKey, pool_status: PoolStatus) -> Snapshot {
        let pools = [1, 2]
            .map(|id| Pool {
                id: PoolId(id),
                slug: format!("p{id}"),
                status: pool_status,
                strategy: None,
                v1_enabled: true,
                waits: Default::default(),
            })
            .to_vec();
        Snapshot::build(StoreState {
            pools,
            keys: vec![key],
            ..StoreState::default()
        })
    }

    fn session_key() -> SessionKey {
        SessionKey {
            prefix: "pfx".into(),
            id: KeyId(7),
            pool: PoolId(1),
            hash: Some([1; 32]),
        }
    }

    #[tokio::test]
    async fn the_watch_wakes_at_the_expiry_and_at_a_replacement() {
        use std::pin::pin;

        use codex_pooler_core::clock::ManualClock;
        use codex_pooler_core::model::SnapshotHandle;
        use futures_util::FutureExt;

        use crate::credentials::SealingKey;
        use crate::keys::KeyHasher;
        use crate::pooler::Pooler;

        let clock = Arc::new(ManualClock::at_unix(1_000));
        let handle = SnapshotHandle::new(snapshot(key(1), PoolStatus::Active));
        let hasher = KeyHasher::from_sealing_key(&SealingKey::from_bytes([7; 32], 1));
        let pooler = Pooler::builder(handle.clone(), hasher)
            .clock(clock.clone())
            .build();

        // The key expires at 2000 on the injected clock: nothing before, the expiry at it.
        let mut watch = KeyWatch::new(Arc::clone(pooler.shared()), session_key());
        let mut ended = pin!(watch.ended());
        assert!((&mut ended).now_or_never().is_none());
        clock.advance(Duration::from_secs(999));
        assert!((&mut ended).now_or_never().is_none());
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            reason(ended.now_or_never()).as_deref(),
            Some("api_key_expired")
        );

        // A key without expiry: the replacement that revokes it ends the watch.
        let lasting = PoolApiKey {
            expires_at: None,
            ..key(1)
        };
        handle.replace(snapshot(lasting.clone(), PoolStatus::Active));
        let mut watch = KeyWatch::new(Arc::clone(pooler.shared()), session_key());
        let mut ended = pin!(watch.ended());
        assert!((&mut ended).now_or_never().is_none());
        handle.replace(snapshot(lasting.clone(), PoolStatus::Active));
        assert!((&mut ended).now_or_never().is_none(), "an unrelated reload");
        let revoked = PoolApiKey {
            status: KeyStatus::Revoked,
            ..lasting
        };
        handle.replace(snapshot(revoked, PoolStatus::Active));
        assert_eq!(
            reason(ended.now_or_never()).as_deref(),
            Some("api_key_revoked")
        );
    }

    #[tokio::test]
    async fn a_session_on_a_rotated_keys_old_secret_ends_with_the_grace() {
        use std::pin::pin;

        use codex_pooler_core::clock::ManualClock;
        use codex_pooler_core::model::{PreviousSecret, SnapshotHandle};
        use futures_util::FutureExt;

        use crate::credentials::SealingKey;
        use crate::keys::KeyHasher;
        use crate::pooler::Pooler;

        // The key [1; 32] rotated to [2; 32] at 1000, the old secret good until 1500.
        let rotated = PoolApiKey {
            hash: [2; 32],
            expires_at: None,
            previous: Some(PreviousSecret {
                hash: [1; 32],
                key_version: 1,
                until: from_unix_seconds(1_500),
            }),
            ..key(1)
        };
        let clock = Arc::new(ManualClock::at_unix(1_000));
        let handle = SnapshotHandle::new(snapshot(rotated.clone(), PoolStatus::Active));
        let hasher = KeyHasher::from_sealing_key(&SealingKey::from_bytes([7; 32], 1));
        let pooler = Pooler::builder(handle.clone(), hasher)
            .clock(clock.clone())
            .build();

        // A session on the new secret is not touched by the old one's grace.
        let on_new = SessionKey {
            hash: Some([2; 32]),
            ..session_key()
        };
        let later = from_unix_seconds(1_500);
        assert_eq!(on_new.expires_at(&handle.load()), None);
        assert_eq!(reason(on_new.check(&handle.load(), later)), None);

        // A session on the old one wakes at the end of the grace and ends then.
        let mut watch = KeyWatch::new(Arc::clone(pooler.shared()), session_key());
        let mut ended = pin!(watch.ended());
        assert!((&mut ended).now_or_never().is_none(), "within the grace");
        clock.advance(Duration::from_secs(499));
        assert!((&mut ended).now_or_never().is_none());
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            reason(ended.now_or_never()).as_deref(),
            Some("invalid_api_key")
        );

        // Rotated without grace: a session on the old secret ends at the reload.
        let no_grace = PoolApiKey {
            previous: None,
            ..rotated
        };
        let at = from_unix_seconds(1_000);
        assert_eq!(
            reason(session_key().check(&snapshot(no_grace, PoolStatus::Active), at)).as_deref(),
            Some("invalid_api_key")
        );
    }

    fn reason(change: Option<KeyChange>) -> Option<String> {
        change.map(|c| match c {
            KeyChange::Refused(error) => error.code().as_str().to_owned(),
            KeyChange::Moved => MOVED_POOL_REASON.to_owned(),
        })
    }

    #[test]
    fn every_key_change_that_ends_a_session() {
        let session = session_key();
        let now = from_unix_seconds(1_000);
        let check = |k: PoolApiKey, status, at| reason(session.check(&snapshot(k, status), at));
        assert_eq!(check(key(1), PoolStatus::Active, now), None);
        let later = now + Duration::from_secs(1_000);
        assert_eq!(
            check(key(1), PoolStatus::Active, later).as_deref(),
            Some("api_key_expired")
        );
        for (status, code) in [
            (KeyStatus::Paused, "api_key_paused"),
            (KeyStatus::Revoked, "api_key_revoked"),
        ] {
            let k = PoolApiKey { status, ..key(1) };
            assert_eq!(check(k, PoolStatus::Active, now).as_deref(), Some(code));
        }
        let rotated = PoolApiKey {
            hash: [2; 32],
            ..key(1)
        };
        assert_eq!(
            check(rotated, PoolStatus::Active, now).as_deref(),
            Some("invalid_api_key")
        );
        let renamed = PoolApiKey {
            prefix: "other".into(),
            ..key(1)
        };
        assert_eq!(
            check(renamed, PoolStatus::Active, now).as_deref(),
            Some("invalid_api_key")
        );
        assert_eq!(
            check(key(2), PoolStatus::Active, now).as_deref(),
            Some(MOVED_POOL_REASON)
        );
        assert_eq!(
            check(key(1), PoolStatus::Disabled, now).as_deref(),
            Some("pool_disabled")
        );
    }
}
