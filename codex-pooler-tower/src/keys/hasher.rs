//! [`KeyHasher`]: keyed hashes of Pool API keys, under one or several key versions.

use std::fmt;

use codex_pooler_core::dispatch::AccountHandles;
use codex_pooler_core::live::SessionIds;

use hmac::Mac;

use super::hashing_key::HashingKey;
use crate::credentials::SealingKey;

/// Why a [`KeyHasher`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HasherConfigError {
    /// Two hashing keys share a version.
    #[error("two hashing keys share version {0}")]
    DuplicateVersion(u32),
}

/// Hashes Pool API keys with HMAC-SHA256 under [`HashingKey`]s derived from sealing keys.
///
/// A leaked database alone cannot be brute-forced offline: the hash needs the deployment's
/// keys. New hashes use the current version ([`KeyHasher::key_version`], to be stored beside the
/// hash); [`KeyHasher::verify`] checks a hash against the key of the version stored with it, so
/// keys issued before a rotation keep working while their version's hashing key is held.
/// `Debug` shows only the versions.
#[derive(Clone)]
pub struct KeyHasher {
    /// The key new hashes are made with.
    current: HashingKey,
    /// Keys of older (or other) versions that only verify.
    older: Vec<HashingKey>,
}

impl KeyHasher {
    /// A hasher with the one hashing key derived from `sealing_key`.
    ///
    /// ```
    /// use codex_pooler_tower::credentials::SealingKey;
    /// use codex_pooler_tower::keys::{KeyHasher, PoolKeyMaterial};
    ///
    /// let hasher = KeyHasher::from_sealing_key(&SealingKey::generate(1));
    /// let key = PoolKeyMaterial::generate();
    /// let stored = hasher.hash(key.plaintext.expose());
    /// assert!(hasher.verify(key.plaintext.expose(), hasher.key_version(), &stored));
    /// ```
    pub fn from_sealing_key(sealing_key: &SealingKey) -> Self {
        Self {
            current: HashingKey::derive(sealing_key),
            older: Vec::new(),
        }
    }

    /// A hasher hashing with `current` and also verifying hashes made with `older`.
    ///
    /// ```
    /// use codex_pooler_tower::credentials::SealingKey;
    /// use codex_pooler_tower::keys::{HashingKey, KeyHasher};
    ///
    /// let old = HashingKey::derive(&SealingKey::generate(1));
    /// let stored = KeyHasher::new(old.clone(), vec![])?.hash("sk-cxp-example");
    /// let hasher = KeyHasher::new(HashingKey::derive(&SealingKey::generate(2)), vec![old])?;
    /// assert_eq!(hasher.key_version(), 2);
    /// assert!(hasher.verify("sk-cxp-example", 1, &stored));
    /// assert!(!hasher.verify("sk-cxp-example", 2, &stored));
    /// # Ok::<(), codex_pooler_tower::keys::HasherConfigError>(())
    /// ```
    pub fn new(current: HashingKey, older: Vec<HashingKey>) -> Result<Self, HasherConfigError> {
        let mut seen = vec![current.version()];
        for key in &older {
            if seen.contains(&key.version()) {
                return Err(HasherConfigError::DuplicateVersion(key.version()));
            }
            seen.push(key.version());
        }
        Ok(Self { current, older })
    }

    /// The version new hashes are made with; store it beside each hash.
    pub fn key_version(&self) -> u32 {
        self.current.version()
    }

    /// Every version this hasher can verify, the current one first.
    pub fn versions(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::once(&self.current)
            .chain(&self.older)
            .map(HashingKey::version)
    }

    /// The hashing key of `version`, if held.
    pub fn hashing_key(&self, version: u32) -> Option<&HashingKey> {
        std::iter::once(&self.current)
            .chain(&self.older)
            .find(|key| key.version() == version)
    }

    /// The account handles of this deployment (see [`AccountHandles`]), keyed by
    /// HMAC-SHA256(hashing key of the lowest version held, `"codex-pooler account-handle
    /// key v1"`): the first hashing key stays in the store through secret-key rotations, so
    /// handles do too.
    pub fn account_handles(&self) -> AccountHandles {
        let first = std::iter::once(&self.current)
            .chain(&self.older)
            .min_by_key(|key| key.version())
            .unwrap_or(&self.current);
        let mut mac = first.mac();
        mac.update(b"codex-pooler account-handle key v1");
        AccountHandles::new(mac.finalize().into_bytes().into())
    }

    /// The upstream session ids of this deployment (see [`SessionIds`]), keyed like the
    /// [account handles](Self::account_handles) from the first hashing key under their own
    /// label, `"codex-pooler session-id key v1"`: a derived id, and the upstream cache shard it
    /// names, survive secret-key rotation.
    pub fn session_ids(&self) -> SessionIds {
        let first = std::iter::once(&self.current)
            .chain(&self.older)
            .min_by_key(|key| key.version())
            .unwrap_or(&self.current);
        let mut mac = first.mac();
        mac.update(b"codex-pooler session-id key v1");
        SessionIds::new(mac.finalize().into_bytes().into())
    }

    /// The keyed hash of a whole presented key, with the current version.
    pub fn hash(&self, plaintext_key: &str) -> [u8; 32] {
        let mut mac = self.current.mac();
        mac.update(plaintext_key.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `plaintext_key` hashes to `stored` under the key of `key_version`, compared in
    /// constant time. A version this hasher does not hold never verifies.
    pub fn verify(&self, plaintext_key: &str, key_version: u32, stored: &[u8; 32]) -> bool {
        let Some(key) = self.hashing_key(key_version) else {
            return false;
        };
        let mut mac = key.mac();
        mac.update(plaintext_key.as_bytes());
        mac.verify_slice(stored).is_ok()
    }
}

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let versions: Vec<u32> = self.versions().collect();
        f.debug_struct("KeyHasher")
            .field("key_version", &self.key_version())
            .field("versions", &versions)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::PoolKeyMaterial;
    use crate::keys::hashing_key::new_mac;

    fn hasher(byte: u8) -> KeyHasher {
        KeyHasher::from_sealing_key(&SealingKey::from_bytes([byte; 32], 1))
    }

    fn hashing_key(byte: u8, version: u32) -> HashingKey {
        HashingKey::derive(&SealingKey::from_bytes([byte; 32], version))
    }

    #[test]
    fn hash_and_verify() {
        let hasher = hasher(1);
        let key = PoolKeyMaterial::generate();
        let stored = hasher.hash(key.plaintext.expose());
        assert_eq!(stored, hasher.hash(key.plaintext.expose()));
        assert!(hasher.verify(key.plaintext.expose(), 1, &stored));

        let other = PoolKeyMaterial::generate();
        assert!(!hasher.verify(other.plaintext.expose(), 1, &stored));
        let mut flipped = stored;
        flipped[31] ^= 1;
        assert!(!hasher.verify(key.plaintext.expose(), 1, &flipped));
    }

    #[test]
    fn depends_on_sealing_key() {
        let key = "sk-cxp-0123456789ab-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
        let stored = hasher(1).hash(key);
        assert!(!hasher(2).verify(key, 1, &stored));
        assert_eq!(hasher(1).key_version(), 1);
    }

    #[test]
    fn derived_key_differs_from_sealing_key() {
        let sealing = SealingKey::from_bytes([9; 32], 1);
        let hasher = KeyHasher::from_sealing_key(&sealing);
        // A plain HMAC under the sealing key itself gives a different hash.
        let mut direct = new_mac(sealing.bytes());
        direct.update(b"sk-cxp-x");
        let direct: [u8; 32] = direct.finalize().into_bytes().into();
        assert_ne!(hasher.hash("sk-cxp-x"), direct);
    }

    #[test]
    fn known_answer() {
        // HMAC-SHA256(HMAC-SHA256(0x00 * 32, label), "abc"), pinned so the derivation cannot
        // change silently and orphan stored hashes.
        let hex: String = hasher(0)
            .hash("abc")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex.len(), 64);
        assert_eq!(hex, PINNED);
    }

    /// See [`known_answer`].
    const PINNED: &str = "57d804e79be8942ea7dbc429ac6d62bf97ebc9b48317216197d04a449a0a5eba";

    #[test]
    fn several_versions_verify_each_hash_with_its_own_key() {
        let key = "sk-cxp-0123456789ab-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
        let v1 = KeyHasher::new(hashing_key(1, 1), vec![]).expect("hasher");
        let v3 = KeyHasher::new(hashing_key(3, 3), vec![]).expect("hasher");
        let old_hash = v1.hash(key);
        let older_hash = v3.hash(key);

        let hasher = KeyHasher::new(
            hashing_key(2, 2),
            vec![hashing_key(1, 1), hashing_key(3, 3)],
        )
        .expect("hasher");
        assert_eq!(hasher.key_version(), 2);
        assert_eq!(hasher.versions().collect::<Vec<_>>(), vec![2, 1, 3]);
        assert!(hasher.verify(key, 1, &old_hash));
        assert!(hasher.verify(key, 3, &older_hash));
        assert!(!hasher.verify(key, 2, &old_hash), "wrong version stored");
        assert!(!hasher.verify(key, 3, &old_hash));
        assert!(!hasher.verify(key, 4, &old_hash), "unknown version");
        // New hashes use the current version.
        assert!(hasher.verify(key, 2, &hasher.hash(key)));
        assert!(hasher.hashing_key(3).is_some());
        assert!(hasher.hashing_key(4).is_none());
    }

    #[test]
    fn duplicate_versions_are_refused() {
        assert_eq!(
            KeyHasher::new(hashing_key(1, 1), vec![hashing_key(2, 1)]).err(),
            Some(HasherConfigError::DuplicateVersion(1))
        );
        assert_eq!(
            KeyHasher::new(
                hashing_key(1, 1),
                vec![hashing_key(2, 2), hashing_key(3, 2)]
            )
            .err(),
            Some(HasherConfigError::DuplicateVersion(2))
        );
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(
            format!("{:?}", hasher(3)),
            "KeyHasher { key_version: 1, versions: [1], .. }"
        );
    }
}
