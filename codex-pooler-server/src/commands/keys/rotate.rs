//! `keys rotate`: a new secret for a key, the old one accepted for a grace period.

use std::time::{Duration, SystemTime};

use codex_pooler_core::model::{KeyStatus, PoolApiKey};
use codex_pooler_core::store::{KeyRotation, PoolStore};
use codex_pooler_tower::keys::{KeyHasher, PoolKeyMaterial};

use super::find_key;
use crate::error::ServerError;

/// A rotated key: its record and the new plaintext, shown once.
#[derive(Debug)]
pub struct RotatedKey {
    /// The stored key: same id, prefix and policy, the new hash, and the old one while its grace
    /// lasts.
    pub key: PoolApiKey,
    /// The new plaintext key.
    pub plaintext: String,
}

/// Gives the key with prefix or id `key` a new secret without printing it. The old secret is
/// accepted for `grace` more (zero: refused at once). A revoked key is refused.
pub async fn rotate_key(
    store: &dyn PoolStore,
    hasher: &KeyHasher,
    key: &str,
    grace: Duration,
) -> Result<RotatedKey, ServerError> {
    let found = find_key(store, key).await?;
    if found.status == KeyStatus::Revoked {
        return Err(ServerError::Usage(format!(
            "key {} is revoked; create a new one",
            found.prefix
        )));
    }
    let generated = PoolKeyMaterial::rotate(&found.prefix)
        .map_err(|e| ServerError::Usage(format!("key {} cannot be rotated: {e}", found.prefix)))?;
    let plaintext = generated.plaintext.expose().to_owned();
    let rotation = KeyRotation {
        hash: hasher.hash(&plaintext),
        key_version: hasher.key_version(),
        grace_until: (!grace.is_zero()).then(|| SystemTime::now() + grace),
    };
    let key = store.rotate_key(found.id, rotation).await?;
    Ok(RotatedKey { key, plaintext })
}

/// Rotates the key with prefix or id `key` and prints the new secret as the last line of
/// stdout.
pub async fn rotate(
    store: &dyn PoolStore,
    hasher: &KeyHasher,
    key: &str,
    grace_secs: u64,
) -> Result<(), ServerError> {
    let rotated = rotate_key(store, hasher, key, Duration::from_secs(grace_secs)).await?;
    let old = if rotated.key.previous.is_some() {
        format!("the old secret works for {grace_secs} more seconds")
    } else {
        "the old secret is refused from now on".to_owned()
    };
    println!(
        "rotated key {} (id {}); {old}; the new one is shown only once:",
        rotated.key.prefix, rotated.key.id
    );
    println!("{}", rotated.plaintext);
    Ok(())
}
