//! `codex-pooler keys ...`.

mod client_auth;
mod policy;
mod rotate;

use std::path::Path;
use std::time::{Duration, SystemTime};

use codex_pooler_core::model::{KeyPolicy, KeyStatus, PoolApiKey};
use codex_pooler_core::store::{NewKey, PoolStore};
use codex_pooler_tower::keys::{KeyHasher, PoolKeyMaterial};

pub use client_auth::{NEVER_STALE, REFRESH_PLACEHOLDER, client_auth_json};
pub(crate) use policy::check as check_policy;
pub use policy::{list, set_policy};
pub use rotate::{RotatedKey, rotate, rotate_key};

use super::pool_named;
use crate::error::ServerError;
use crate::private_files::{create_private_file, write_and_sync};

/// A freshly created key: its record and the plaintext, shown once.
#[derive(Debug)]
pub struct CreatedKey {
    /// The stored key.
    pub key: PoolApiKey,
    /// The plaintext key.
    pub plaintext: String,
}

/// What a new key is: its pool, name, expiry and rules.
#[derive(Debug, Clone)]
pub struct KeySpec<'a> {
    /// The pool's slug.
    pub pool: &'a str,
    /// A name for operators.
    pub name: &'a str,
    /// Expire the key after this many days.
    pub expires_in_days: Option<u64>,
    /// The key's model, effort and limit rules.
    pub policy: KeyPolicy,
}

/// Creates a key without printing it.
pub async fn create_key(
    store: &dyn PoolStore,
    hasher: &KeyHasher,
    spec: KeySpec<'_>,
) -> Result<CreatedKey, ServerError> {
    policy::check(&spec.policy)?;
    let KeySpec {
        pool,
        name,
        expires_in_days,
        policy,
    } = spec;
    let pool = pool_named(store, pool).await?;
    let generated = PoolKeyMaterial::generate();
    let plaintext = generated.plaintext.expose().to_owned();
    let key = store
        .create_key(NewKey {
            pool: pool.id,
            name: name.to_owned(),
            prefix: generated.prefix.clone(),
            hash: hasher.hash(&plaintext),
            key_version: hasher.key_version(),
            expires_at: expires_in_days
                .map(|d| SystemTime::now() + Duration::from_secs(d.saturating_mul(86_400))),
            policy,
        })
        .await?;
    Ok(CreatedKey { key, plaintext })
}

/// Creates a key and prints it as the last line of stdout. With `auth_json`, also writes a
/// Codex CLI `auth.json` carrying the key to that new file (mode 0600; an existing file is
/// never overwritten), for clients in the ChatGPT-auth shape.
pub async fn create(
    store: &dyn PoolStore,
    hasher: &KeyHasher,
    spec: KeySpec<'_>,
    auth_json: Option<&Path>,
) -> Result<(), ServerError> {
    let pool = spec.pool;
    // Claim the file before the key exists, so a bad path creates no key.
    let file = auth_json
        .map(|path| create_private_file(path).map(|file| (path, file)))
        .transpose()?;
    let created = match create_key(store, hasher, spec).await {
        Ok(created) => created,
        Err(err) => {
            if let Some((path, file)) = file {
                drop(file);
                let _ = std::fs::remove_file(path);
            }
            return Err(err);
        }
    };
    if let Some((path, file)) = file {
        let contents = client_auth_json(&created.plaintext, &created.key.prefix, pool);
        write_and_sync(file, path, contents.to_string().as_bytes()).map_err(|err| {
            ServerError::Usage(format!(
                "key {} was created but its auth.json was not written ({err}); revoke it with \
                 `codex-pooler keys revoke {}`",
                created.key.prefix, created.key.prefix
            ))
        })?;
        println!(
            "wrote a Codex CLI auth.json for this key to {}",
            path.display()
        );
    }
    println!(
        "created key {} (id {}) for pool {pool}; it is shown only once:",
        created.key.prefix, created.key.id
    );
    println!("{}", created.plaintext);
    Ok(())
}

/// Sets a key's status, finding it by prefix or id.
pub async fn set_status(
    store: &dyn PoolStore,
    key: &str,
    status: KeyStatus,
) -> Result<(), ServerError> {
    let found = find_key(store, key).await?;
    if found.status == KeyStatus::Revoked && status != KeyStatus::Revoked {
        return Err(ServerError::Usage(format!(
            "key {} is revoked; create a new one",
            found.prefix
        )));
    }
    store.set_key_status(found.id, status).await?;
    println!("key {} is now {}", found.prefix, status.as_str());
    Ok(())
}

/// The key with prefix or id `key`.
async fn find_key(store: &dyn PoolStore, key: &str) -> Result<PoolApiKey, ServerError> {
    store
        .load_state()
        .await?
        .keys
        .into_iter()
        .find(|k| k.prefix == key || k.id.0.to_string() == key)
        .ok_or_else(|| ServerError::Usage(format!("no key with prefix or id {key:?}")))
}
