//! [`SessionIds`]: the upstream session id the gateway derives for a thread whose client sends
//! none.
//!
//! Upstream shards its prompt cache by the `session-id` header (`session_id` in older
//! clients): every turn of one thread that carries the same id lands on the same cache shard.
//! The Codex CLI sends one; other clients (SDKs, `/v1` callers) often do not. For those the
//! gateway derives one from what identifies the thread: the body's `prompt_cache_key`, or else
//! the thread fingerprint (a hash of `instructions` and the first input item, see
//! [`RequestFacts`](crate::request::RequestFacts)).
//!
//! The id is HMAC-SHA256 under a per-deployment key of the pool, the Pool API key and that
//! thread identity, shaped as a UUID (version 8, "custom"): stable across turns and gateway
//! restarts, different per pool, per key and per thread, and telling upstream nothing about
//! the client's own values, which are never forwarded or logged. The same id is the thread's
//! first soft continuity key ([`ContinuityKeys::upstream_session`]), so the thread also stays
//! on one account.

use std::fmt::{self, Write};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::ContinuityKeys;
use crate::request::PoolContext;

/// Derives upstream session ids (see the module docs). `Debug` never shows the key.
///
/// ```
/// use codex_pooler_core::live::{ContinuityKeys, SessionIds};
/// use codex_pooler_core::model::{KeyId, PoolId};
/// use codex_pooler_core::request::PoolContext;
///
/// let ids = SessionIds::new([7; 32]);
/// let ctx = PoolContext { pool: PoolId(1), key: KeyId(1) };
/// let keys = ContinuityKeys { prompt_cache_key: Some("thread-1".into()), ..Default::default() };
/// let id = ids.derive(ctx, &keys).unwrap();
/// assert_eq!(id.len(), 36);
/// assert_eq!(Some(id), ids.derive(ctx, &keys));
/// ```
#[derive(Clone)]
pub struct SessionIds {
    /// HMAC keyed once; each id starts from a clone of it.
    keyed: Hmac<Sha256>,
}

impl SessionIds {
    /// Ids under `key`, a secret of the deployment (the server derives it from its first
    /// hashing key, so ids, and the cache shards they name, outlive secret-key rotation).
    pub fn new(key: [u8; 32]) -> Self {
        // HMAC takes keys of any length; `new_from_slice` never fails for it.
        let keyed = Hmac::<Sha256>::new_from_slice(&key)
            .unwrap_or_else(|_| unreachable!("hmac accepts any key length"));
        Self { keyed }
    }

    /// The session id for a request of `ctx` carrying `keys`, when the client sent no session
    /// header: derived from `prompt_cache_key`, or else the thread fingerprint. `None` when the
    /// client sent a session id of its own, or nothing identifies the thread.
    pub fn derive(&self, ctx: PoolContext, keys: &ContinuityKeys) -> Option<String> {
        if keys.session.is_some() {
            return None;
        }
        let (source, value): (&[u8], &str) = match (&keys.prompt_cache_key, &keys.derived) {
            (Some(key), _) => (b"prompt_cache_key", key),
            (None, Some(fingerprint)) => (b"fingerprint", fingerprint),
            (None, None) => return None,
        };
        let mut mac = self.keyed.clone();
        mac.update(b"codex-pooler session-id v1:");
        mac.update(&ctx.pool.0.to_be_bytes());
        mac.update(&ctx.key.0.to_be_bytes());
        mac.update(source);
        mac.update(b":");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut bytes = [0_u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Some(uuid_v8(bytes))
    }

    /// `keys` with the derived id filled in as [`ContinuityKeys::upstream_session`] (see
    /// [`derive`](Self::derive)).
    pub fn fill(&self, ctx: PoolContext, keys: &mut ContinuityKeys) {
        keys.upstream_session = self.derive(ctx, keys);
    }
}

impl fmt::Debug for SessionIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionIds { key: <redacted> }")
    }
}

/// `bytes` as a version-8 (custom) RFC 9562 UUID in its hyphenated lowercase form.
fn uuid_v8(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::model::{KeyId, PoolId};

    fn ctx(pool: i64, key: i64) -> PoolContext {
        PoolContext {
            pool: PoolId(pool),
            key: KeyId(key),
        }
    }

    fn cache_key(value: &str) -> ContinuityKeys {
        ContinuityKeys {
            prompt_cache_key: Some(value.into()),
            ..ContinuityKeys::default()
        }
    }

    fn fingerprint(value: &str) -> ContinuityKeys {
        ContinuityKeys {
            derived: Some(value.into()),
            ..ContinuityKeys::default()
        }
    }

    #[test]
    fn stable_across_calls_and_instances() {
        let ids = SessionIds::new([1; 32]);
        let keys = cache_key("thread-1");
        let id = ids.derive(ctx(1, 1), &keys).unwrap();
        assert_eq!(ids.derive(ctx(1, 1), &keys).as_deref(), Some(id.as_str()));
        // Another process with the same deployment key derives the same id.
        assert_eq!(
            SessionIds::new([1; 32]).derive(ctx(1, 1), &keys),
            Some(id.clone())
        );
        // The rest of the request's keys do not change it.
        let mut later = keys.clone();
        later.derived = Some("input:0123".into());
        later.turn_state = Some("ts".into());
        assert_eq!(ids.derive(ctx(1, 1), &later), Some(id));
    }

    #[test]
    fn different_per_pool_key_thread_source_and_deployment() {
        let ids = SessionIds::new([1; 32]);
        let base = ids.derive(ctx(1, 1), &cache_key("thread-1")).unwrap();
        let others = [
            ids.derive(ctx(2, 1), &cache_key("thread-1")),
            ids.derive(ctx(1, 2), &cache_key("thread-1")),
            ids.derive(ctx(1, 1), &cache_key("thread-2")),
            ids.derive(ctx(1, 1), &fingerprint("thread-1")),
            SessionIds::new([2; 32]).derive(ctx(1, 1), &cache_key("thread-1")),
        ];
        let mut seen = HashSet::from([base]);
        for other in others {
            assert!(seen.insert(other.unwrap()), "two scopes share an id");
        }
        let many: HashSet<String> = (0..1000)
            .filter_map(|i| ids.derive(ctx(1, 1), &cache_key(&format!("t{i}"))))
            .collect();
        assert_eq!(many.len(), 1000);
    }

    #[test]
    fn prompt_cache_key_wins_over_the_fingerprint() {
        let ids = SessionIds::new([1; 32]);
        let mut both = cache_key("thread-1");
        both.derived = Some("input:0123".into());
        assert_eq!(
            ids.derive(ctx(1, 1), &both),
            ids.derive(ctx(1, 1), &cache_key("thread-1"))
        );
        assert!(ids.derive(ctx(1, 1), &fingerprint("input:0123")).is_some());
    }

    #[test]
    fn none_when_the_client_sent_a_session_or_nothing_names_the_thread() {
        let ids = SessionIds::new([1; 32]);
        let mut keys = cache_key("thread-1");
        keys.session = Some("session-id:s1".into());
        assert_eq!(ids.derive(ctx(1, 1), &keys), None);
        assert_eq!(ids.derive(ctx(1, 1), &ContinuityKeys::default()), None);
        let mut filled = cache_key("thread-1");
        ids.fill(ctx(1, 1), &mut filled);
        assert_eq!(
            filled.upstream_session,
            ids.derive(ctx(1, 1), &cache_key("thread-1"))
        );
    }

    #[test]
    fn shaped_as_a_uuid_holding_no_client_value() {
        let ids = SessionIds::new([1; 32]);
        let id = ids.derive(ctx(1, 1), &cache_key("thread-secret")).unwrap();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('8'), "{id}");
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{id}");
        assert!(
            id.bytes()
                .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert!(!id.contains("secret"));
        assert_eq!(
            format!("{ids:?}"),
            "SessionIds { key: <redacted> }",
            "Debug shows no key"
        );
    }
}
