//! Which key versions the stored values use, and which secret keys they still need.
//!
//! A secret needs the key it is sealed with. A Pool API key hash of version `v` needs the
//! hashing key of `v`: the stored one (which needs the key that seals it) or, when none is
//! stored, the secret key of version `v` itself. A previous key nothing needs can be removed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{KeySource, SecretKeys};
use crate::store::SealedInventory;

/// How many stored values carry one key version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VersionCount {
    /// The key version.
    pub key_version: u32,
    /// How many values carry it.
    pub count: u64,
}

/// A stored hashing key, by versions only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StoredHashingKey {
    /// The hashing key's version.
    pub version: u32,
    /// The version of the secret key sealing it.
    pub key_version: u32,
}

/// The key versions in use. Never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyVersionReport {
    /// The version that seals.
    pub current_version: u32,
    /// `environment` or `file`.
    pub source: &'static str,
    /// Every configured version, the current one first.
    pub configured_versions: Vec<u32>,
    /// Upstream secrets per sealing key version.
    pub secrets: Vec<VersionCount>,
    /// Pool API key hashes per hashing key version.
    pub key_hashes: Vec<VersionCount>,
    /// The stored hashing keys.
    pub hashing_keys: Vec<StoredHashingKey>,
    /// The secret key versions the stored values need.
    pub needed_versions: Vec<u32>,
    /// Configured previous versions nothing needs: they can be removed.
    pub removable_versions: Vec<u32>,
    /// Needed versions that are not configured: values that cannot be opened or verified.
    pub missing_versions: Vec<u32>,
    /// Whether everything needs the current key only.
    pub rotation_complete: bool,
}

/// Reports `inventory`'s key versions against the configured `keys`.
pub fn report(keys: &SecretKeys, inventory: &SealedInventory) -> KeyVersionReport {
    let mut secrets: BTreeMap<u32, u64> = BTreeMap::new();
    for stored in &inventory.secrets {
        *secrets.entry(stored.sealed.key_version).or_insert(0) += 1;
    }
    let configured: Vec<u32> = keys.versions().collect();
    let needed = needed_versions(inventory);
    let current = keys.current_version();
    KeyVersionReport {
        current_version: current,
        source: match keys.source() {
            KeySource::Environment => "environment",
            KeySource::File(_) => "file",
        },
        secrets: counts(&secrets),
        key_hashes: counts(&inventory.key_hashes),
        hashing_keys: inventory
            .hashing_keys
            .iter()
            .map(|k| StoredHashingKey {
                version: k.version,
                key_version: k.key_version,
            })
            .collect(),
        removable_versions: configured[1..]
            .iter()
            .copied()
            .filter(|v| !needed.contains(v))
            .collect(),
        missing_versions: needed
            .iter()
            .copied()
            .filter(|v| !configured.contains(v))
            .collect(),
        rotation_complete: needed.iter().all(|&v| v == current),
        needed_versions: needed.into_iter().collect(),
        configured_versions: configured,
    }
}

/// The secret key versions the values in `inventory` need.
pub fn needed_versions(inventory: &SealedInventory) -> BTreeSet<u32> {
    let mut needed: BTreeSet<u32> = inventory
        .secrets
        .iter()
        .map(|s| s.sealed.key_version)
        .collect();
    for &version in inventory.key_hashes.keys() {
        match inventory.hashing_keys.iter().find(|k| k.version == version) {
            Some(stored) => needed.insert(stored.key_version),
            None => needed.insert(version),
        };
    }
    needed
}

fn counts(by_version: &BTreeMap<u32, u64>) -> Vec<VersionCount> {
    by_version
        .iter()
        .map(|(&key_version, &count)| VersionCount { key_version, count })
        .collect()
}
