//! The rotation plan: every stored secret and every hashing key still in use, sealed again
//! under the current key.
//!
//! 1. Every upstream secret is opened; one that does not open stops the rotation before
//!    anything is written. Secrets under an older key are sealed again with the current one.
//! 2. For every hashing key version Pool API key hashes carry, other than the current one, the
//!    hashing key is taken from a configured key of that version or from the store, and sealed
//!    again under the current key. Pool API keys cannot be hashed again (their plaintext is
//!    not kept), so these hashing keys are what lets the older secret keys go. A version with
//!    hashes but no hashing key stops the rotation; stored hashing keys no hash uses are
//!    dropped.
//!
//! The store writes the plan in one transaction ([`SqlStore::reseal`]).

use std::collections::BTreeMap;

use codex_pooler_core::model::AccountId;
use codex_pooler_core::store::SecretKind;
use codex_pooler_tower::credentials::SealError;
use codex_pooler_tower::keys::HashingKey;
use serde::Serialize;

use super::SecretKeys;
#[cfg(doc)]
use crate::store::SqlStore;
use crate::store::{Resealed, ResealedSecret, SealedInventory};

/// Why a rotation wrote nothing. Messages name accounts and versions, never key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RotationError {
    /// A stored secret does not open with the configured keys.
    #[error(
        "the {} of upstream {account}, sealed with key version {key_version}, does not open: \
         {source}; nothing was changed",
        kind.as_str()
    )]
    UnopenableSecret {
        /// The account.
        account: AccountId,
        /// Which secret.
        kind: SecretKind,
        /// The version it is sealed with.
        key_version: u32,
        /// Why it did not open.
        #[source]
        source: SealError,
    },
    /// Pool API key hashes carry a version whose hashing key is neither configured nor stored.
    #[error(
        "{hashes} pool api key hash(es) carry key version {version}, but no secret key of that \
         version is configured and no hashing key of it is stored; configure the old key again \
         (nothing was changed)"
    )]
    MissingHashingKey {
        /// The version.
        version: u32,
        /// How many key hashes carry it.
        hashes: u64,
    },
    /// A stored hashing key in use does not open.
    #[error(
        "the stored hashing key of version {version}, sealed with key version {key_version}, \
         does not open: {source}; nothing was changed"
    )]
    UnopenableHashingKey {
        /// The hashing key's version.
        version: u32,
        /// The version it is sealed with.
        key_version: u32,
        /// Why it did not open.
        #[source]
        source: SealError,
    },
    /// A secret changed while the rotation ran (a token refresh, for example).
    #[error(
        "the {} of upstream {account} changed while it was being re-sealed (a token refresh?); \
         nothing was changed, run the command again",
        kind.as_str()
    )]
    Changed {
        /// The account.
        account: AccountId,
        /// Which secret.
        kind: SecretKind,
    },
    /// Every key version is taken.
    #[error("no key version is left above {0}")]
    VersionsExhausted(u32),
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationSummary {
    /// The version everything is sealed under now.
    pub key_version: u32,
    /// Secrets sealed again under it.
    pub resealed_secrets: usize,
    /// Secrets that already were.
    pub unchanged_secrets: usize,
    /// The versions of the hashing keys now stored (sealed under it).
    pub hashing_keys: Vec<u32>,
}

/// Plans the re-seal of `inventory` under `keys`' current key.
///
/// # Errors
///
/// A [`RotationError`] naming the first value that cannot be carried over.
pub fn plan(
    keys: &SecretKeys,
    inventory: &SealedInventory,
) -> Result<(Resealed, RotationSummary), RotationError> {
    let sealer = keys.sealer();
    let current = keys.current_version();
    let mut resealed = Resealed::default();
    let mut unchanged_secrets = 0;
    for stored in &inventory.secrets {
        let sealed = &stored.sealed;
        let plaintext = sealer
            .open(&stored.chatgpt_account_id, sealed)
            .map_err(|source| RotationError::UnopenableSecret {
                account: stored.account,
                kind: sealed.kind,
                key_version: sealed.key_version,
                source,
            })?;
        if sealed.key_version == current {
            unchanged_secrets += 1;
            continue;
        }
        resealed.secrets.push(ResealedSecret {
            account: stored.account,
            replaces_nonce: sealed.nonce.clone(),
            sealed: sealer.seal(
                &stored.chatgpt_account_id,
                sealed.kind,
                plaintext.expose().as_bytes(),
            ),
        });
    }

    let (hasher, _) = keys.hasher(&[]);
    let stored_keys: BTreeMap<u32, _> = inventory
        .hashing_keys
        .iter()
        .map(|k| (k.version, k))
        .collect();
    for (&version, &hashes) in &inventory.key_hashes {
        if version == current {
            continue;
        }
        let key = match (hasher.hashing_key(version), stored_keys.get(&version)) {
            (Some(configured), _) => configured.clone(),
            (None, Some(stored)) => HashingKey::open(stored, &sealer).map_err(|source| {
                RotationError::UnopenableHashingKey {
                    version,
                    key_version: stored.key_version,
                    source,
                }
            })?,
            (None, None) => return Err(RotationError::MissingHashingKey { version, hashes }),
        };
        resealed.hashing_keys.push(key.seal(&sealer));
    }
    let summary = RotationSummary {
        key_version: current,
        resealed_secrets: resealed.secrets.len(),
        unchanged_secrets,
        hashing_keys: resealed.hashing_keys.iter().map(|k| k.version).collect(),
    };
    Ok((resealed, summary))
}

/// The version for a new key: one above every version configured or found in `inventory`.
///
/// # Errors
///
/// [`RotationError::VersionsExhausted`] when that would pass `u32::MAX`.
pub fn next_version(keys: &SecretKeys, inventory: &SealedInventory) -> Result<u32, RotationError> {
    let highest = keys
        .versions()
        .chain(inventory.secrets.iter().map(|s| s.sealed.key_version))
        .chain(
            inventory
                .hashing_keys
                .iter()
                .flat_map(|k| [k.version, k.key_version]),
        )
        .chain(inventory.key_hashes.keys().copied())
        .max()
        .unwrap_or(0);
    highest
        .checked_add(1)
        .ok_or(RotationError::VersionsExhausted(highest))
}

#[cfg(test)]
mod tests;
