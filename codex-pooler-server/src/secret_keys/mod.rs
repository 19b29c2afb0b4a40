//! The secret keys: the current one seals, previous ones only open.
//!
//! The keys come from the environment ([`SECRET_KEY_ENV`] with [`SECRET_KEY_VERSION_ENV`] is the
//! current key, [`PREVIOUS_SECRET_KEYS_ENV`] the previous ones) or, on the embedded default,
//! from `secret.key` in the data directory, whose highest version is the current key. Each key
//! also derives the hashing key of its version for Pool API keys; the hashing keys of versions
//! no longer configured come from the store (see [`SecretKeys::hasher`]).
//!
//! [`rotation`] re-seals every stored value under the current key, and [`status`] reports
//! which versions the stored values still need.
//!
//! ```
//! use codex_pooler_server::secret_keys::SecretKeys;
//!
//! let keys = SecretKeys::from_env(
//!     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
//!     Some("2"),
//!     Some("1:1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100"),
//! )?;
//! assert_eq!(keys.current_version(), 2);
//! assert_eq!(keys.versions().collect::<Vec<_>>(), vec![2, 1]);
//! # Ok::<(), codex_pooler_server::secret_keys::SecretKeyError>(())
//! ```

mod error;
mod file;
mod parse;
pub mod rotation;
pub mod status;

use std::path::{Path, PathBuf};

use codex_pooler_tower::credentials::{SealError, SealingKey, SecretSealer};
use codex_pooler_tower::keys::{HashingKey, KeyHasher, SealedHashingKey};

pub use error::{KeyLocation, SecretKeyError};
pub(crate) use file::{load_or_generate, write as write_key_file};

#[cfg(doc)]
use crate::settings::{PREVIOUS_SECRET_KEYS_ENV, SECRET_KEY_ENV, SECRET_KEY_VERSION_ENV};
use parse::Located;

/// Where the keys were configured.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySource {
    /// [`SECRET_KEY_ENV`] and [`PREVIOUS_SECRET_KEYS_ENV`].
    Environment,
    /// A `secret.key` file.
    File(PathBuf),
}

/// The configured secret keys: one current key and any number of previous ones, all of
/// distinct versions. `Debug` shows versions only.
#[derive(Debug, Clone)]
pub struct SecretKeys {
    /// Seals new secrets.
    current: SealingKey,
    /// Only open older secrets, highest version first.
    previous: Vec<SealingKey>,
    /// Where they came from.
    source: KeySource,
}

/// A stored hashing key that did not open: Pool API keys of its version will be refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnopenedHashingKey {
    /// The hashing key's version.
    pub version: u32,
    /// The secret key version it is sealed with.
    pub key_version: u32,
    /// Why it did not open.
    pub error: SealError,
}

impl SecretKeys {
    /// The keys of the environment: `current` (the value of [`SECRET_KEY_ENV`]) with `version`
    /// (of [`SECRET_KEY_VERSION_ENV`], default 1) and the `previous` keys (of
    /// [`PREVIOUS_SECRET_KEYS_ENV`], comma-separated `VERSION:KEY`).
    ///
    /// # Errors
    ///
    /// A [`SecretKeyError`] naming the bad variable or entry, never the key.
    pub fn from_env(
        current: &str,
        version: Option<&str>,
        previous: Option<&str>,
    ) -> Result<Self, SecretKeyError> {
        let version = version
            .map(parse::version_variable)
            .transpose()?
            .unwrap_or(1);
        let current = SealingKey::from_config_value(current, version).map_err(|source| {
            SecretKeyError::BadKey {
                location: KeyLocation::CurrentEnv,
                source,
            }
        })?;
        let mut keys = vec![(current, KeyLocation::CurrentEnv)];
        keys.extend(parse::previous_keys(previous.unwrap_or_default())?);
        Self::from_located(keys, 0, KeySource::Environment)
    }

    /// The keys of a `secret.key` file at `path` holding `contents`: the highest version is
    /// current. A single line without a version is the key of `version` (the value of
    /// [`SECRET_KEY_VERSION_ENV`], default 1); with versioned lines, `version`, when set, must
    /// be the highest one.
    ///
    /// # Errors
    ///
    /// A [`SecretKeyError`] naming the bad line, never the key.
    pub fn from_file(
        contents: &str,
        path: &Path,
        version: Option<&str>,
    ) -> Result<Self, SecretKeyError> {
        let configured = version.map(parse::version_variable).transpose()?;
        let keys = parse::key_file(contents, path, configured.unwrap_or(1))?;
        // `key_file` returns at least one key.
        let (current, highest) = keys
            .iter()
            .enumerate()
            .max_by_key(|(_, (k, _))| k.version())
            .map_or((0, 1), |(i, (k, _))| (i, k.version()));
        if let Some(configured) = configured
            && configured != highest
        {
            return Err(SecretKeyError::VersionMismatch {
                configured,
                file: highest,
                path: path.to_path_buf(),
            });
        }
        Self::from_located(keys, current, KeySource::File(path.to_path_buf()))
    }

    /// Checks that versions are distinct and splits off the current key, `keys[current]`.
    fn from_located(
        keys: Vec<Located>,
        current: usize,
        source: KeySource,
    ) -> Result<Self, SecretKeyError> {
        for (i, (key, location)) in keys.iter().enumerate() {
            if let Some((_, first)) = keys[..i].iter().find(|(k, _)| k.version() == key.version()) {
                return Err(SecretKeyError::DuplicateVersion {
                    version: key.version(),
                    first: first.clone(),
                    second: location.clone(),
                });
            }
        }
        let mut keys: Vec<SealingKey> = keys.into_iter().map(|(key, _)| key).collect();
        // Invariant: callers pass the index of one of `keys`.
        let current = keys.remove(current);
        keys.sort_by_key(|k| std::cmp::Reverse(k.version()));
        Ok(Self {
            current,
            previous: keys,
            source,
        })
    }

    /// The key that seals.
    pub fn current(&self) -> &SealingKey {
        &self.current
    }

    /// The current key's version.
    pub fn current_version(&self) -> u32 {
        self.current.version()
    }

    /// The keys that only open, highest version first.
    pub fn previous(&self) -> &[SealingKey] {
        &self.previous
    }

    /// Every configured version, the current one first.
    pub fn versions(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(SealingKey::version)
    }

    /// Where the keys were configured.
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// A sealer sealing with the current key and opening with every configured one.
    pub fn sealer(&self) -> SecretSealer {
        let keys = std::iter::once(&self.current)
            .chain(&self.previous)
            .cloned()
            .collect();
        // Invariant: the versions are distinct (checked when built) and the current key is
        // among them, the only two things `SecretSealer::new` checks.
        SecretSealer::new(keys, self.current.version())
            .unwrap_or_else(|err| unreachable!("secret keys are checked when built: {err}"))
    }

    /// A hasher with the hashing keys of the configured versions only (enough to hash new
    /// Pool API keys).
    pub fn current_hasher(&self) -> KeyHasher {
        self.hasher(&[]).0
    }

    /// A hasher hashing with the current version and verifying with every configured version
    /// and every `stored` hashing key of another version that opens. The stored keys that did
    /// not open are returned beside it.
    pub fn hasher(&self, stored: &[SealedHashingKey]) -> (KeyHasher, Vec<UnopenedHashingKey>) {
        let sealer = self.sealer();
        let mut older: Vec<HashingKey> = self.previous.iter().map(HashingKey::derive).collect();
        let mut unopened = Vec::new();
        for sealed in stored {
            if self.versions().any(|v| v == sealed.version)
                || older.iter().any(|k| k.version() == sealed.version)
            {
                continue;
            }
            match HashingKey::open(sealed, &sealer) {
                Ok(key) => older.push(key),
                Err(error) => unopened.push(UnopenedHashingKey {
                    version: sealed.version,
                    key_version: sealed.key_version,
                    error,
                }),
            }
        }
        // Invariant: configured versions are distinct and stored ones of those versions (or
        // repeated) were skipped above.
        let hasher = KeyHasher::new(HashingKey::derive(&self.current), older)
            .unwrap_or_else(|err| unreachable!("hashing key versions are distinct: {err}"));
        (hasher, unopened)
    }

    /// These keys with `key` as the new current key and the old current key as a previous one.
    pub(crate) fn with_new_current(&self, key: SealingKey) -> Self {
        let mut previous = self.previous.clone();
        previous.insert(0, self.current.clone());
        Self {
            current: key,
            previous,
            source: self.source.clone(),
        }
    }

    /// These keys without the previous keys whose versions `keep` refuses.
    pub(crate) fn retaining(&self, keep: impl Fn(u32) -> bool) -> Self {
        Self {
            current: self.current.clone(),
            previous: self
                .previous
                .iter()
                .filter(|k| keep(k.version()))
                .cloned()
                .collect(),
            source: self.source.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
