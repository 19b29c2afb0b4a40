//! Pool API key authentication against the in-memory snapshot.
//!
//! A key is found by its public prefix in the current [`Snapshot`], then its keyed hash is
//! compared in constant time under the hashing key of the version stored with it. No database
//! is involved: the snapshot already holds every key's prefix, hash, key version, status and
//! expiry, and the [`KeyHasher`] every hashing key version in use. A rotated key's old secret
//! is in the snapshot too, with the end of its grace period: it is accepted until then, and is
//! a wrong secret (`invalid_api_key`) after.
//!
//! On the request path, the `Authenticate` layer runs this check and puts the caller's
//! [`PoolContext`] in the request extensions.

use std::time::SystemTime;

use codex_pooler_core::error::PoolerError;
use codex_pooler_core::model::KeyStatus;
use codex_pooler_core::model::Snapshot;
use codex_pooler_core::request::PoolContext;
use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::keys::{KeyHasher, parse_pool_key};

mod layer;
mod service;

pub(crate) use layer::AuthenticateLayer;

/// Which stored hash the presented secret matched: the key's current one, or during a grace
/// period its previous one. Put in the request extensions beside the
/// [`PoolContext`], for sessions that must end when the secret they were opened with does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MatchedSecret(pub(crate) [u8; 32]);

/// Authenticates a request's `Authorization: Bearer <Pool API key>` header.
///
/// Unknown, malformed and wrongly hashed keys all answer the same `invalid_api_key`, so a caller
/// learns nothing about which keys exist. Paused, revoked and expired keys get their own codes
/// once the secret has been proven.
pub fn authenticate(
    headers: &HeaderMap,
    snapshot: &Snapshot,
    hasher: &KeyHasher,
    now: SystemTime,
) -> Result<PoolContext, PoolerError> {
    authenticate_secret(headers, snapshot, hasher, now).map(|(ctx, _)| ctx)
}

/// [`authenticate`], also telling which of the key's stored hashes the secret matched.
pub(crate) fn authenticate_secret(
    headers: &HeaderMap,
    snapshot: &Snapshot,
    hasher: &KeyHasher,
    now: SystemTime,
) -> Result<(PoolContext, MatchedSecret), PoolerError> {
    let presented = bearer(headers).ok_or_else(PoolerError::invalid_api_key)?;
    let parsed = parse_pool_key(presented).map_err(|_| PoolerError::invalid_api_key())?;
    let key = snapshot
        .key_by_prefix(parsed.prefix)
        .ok_or_else(PoolerError::invalid_api_key)?;
    let matched = if hasher.verify(presented, key.key_version, &key.hash) {
        key.hash
    } else {
        key.previous_at(now)
            .filter(|old| hasher.verify(presented, old.key_version, &old.hash))
            .ok_or_else(PoolerError::invalid_api_key)?
            .hash
    };
    match key.status {
        KeyStatus::Active => {}
        KeyStatus::Paused => return Err(PoolerError::api_key_paused()),
        KeyStatus::Revoked => return Err(PoolerError::api_key_revoked()),
    }
    if key.is_expired(now) {
        return Err(PoolerError::api_key_expired());
    }
    let ctx = PoolContext {
        pool: key.pool,
        key: key.id,
    };
    Ok((ctx, MatchedSecret(matched)))
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests;
