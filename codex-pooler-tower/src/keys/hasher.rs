//! [`KeyHasher`]: keyed hashes of Pool API keys.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroize;

use crate::credentials::SealingKey;

/// HMAC-SHA256.
type HmacSha256 = Hmac<Sha256>;

/// The label that derives the hashing key from a sealing key, so key hashes and secret sealing
/// never use the same key directly.
const DERIVATION_LABEL: &[u8] = b"codex-pooler pool-api-key v1";

/// Hashes Pool API keys with HMAC-SHA256 under a key derived from a [`SealingKey`].
///
/// A leaked database alone cannot be brute-forced offline: the hash needs the deployment's
/// sealing key. The hashes depend on the sealing key they were derived from, so record
/// [`KeyHasher::key_version`] with each hash and keep the old sealing key while old hashes are in
/// use. `Debug` shows only the version.
#[derive(Clone)]
pub struct KeyHasher {
    /// The derived HMAC key.
    key: [u8; 32],
    /// The version of the sealing key it was derived from.
    key_version: u32,
}

impl KeyHasher {
    /// Derives the hashing key: HMAC-SHA256(sealing key, `"codex-pooler pool-api-key v1"`).
    ///
    /// ```
    /// use codex_pooler_tower::credentials::SealingKey;
    /// use codex_pooler_tower::keys::{KeyHasher, PoolKeyMaterial};
    ///
    /// let hasher = KeyHasher::from_sealing_key(&SealingKey::generate(1));
    /// let key = PoolKeyMaterial::generate();
    /// let stored = hasher.hash(key.plaintext.expose());
    /// assert!(hasher.verify(key.plaintext.expose(), &stored));
    /// ```
    pub fn from_sealing_key(sealing_key: &SealingKey) -> Self {
        let mut mac = new_mac(sealing_key.bytes());
        mac.update(DERIVATION_LABEL);
        Self {
            key: mac.finalize().into_bytes().into(),
            key_version: sealing_key.version(),
        }
    }

    /// The version of the sealing key the hashing key was derived from.
    pub fn key_version(&self) -> u32 {
        self.key_version
    }

    /// The keyed hash of a whole presented key.
    pub fn hash(&self, plaintext_key: &str) -> [u8; 32] {
        let mut mac = new_mac(&self.key);
        mac.update(plaintext_key.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `plaintext_key` hashes to `stored`, compared in constant time.
    pub fn verify(&self, plaintext_key: &str, stored: &[u8; 32]) -> bool {
        let mut mac = new_mac(&self.key);
        mac.update(plaintext_key.as_bytes());
        mac.verify_slice(stored).is_ok()
    }
}

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyHasher")
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

impl Drop for KeyHasher {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

/// An HMAC-SHA256 keyed with 32 bytes.
fn new_mac(key: &[u8; 32]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` never fails for it.
    <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("hmac accepts any key length"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::PoolKeyMaterial;

    fn hasher(byte: u8) -> KeyHasher {
        KeyHasher::from_sealing_key(&SealingKey::from_bytes([byte; 32], 1))
    }

    #[test]
    fn hash_and_verify() {
        let hasher = hasher(1);
        let key = PoolKeyMaterial::generate();
        let stored = hasher.hash(key.plaintext.expose());
        assert_eq!(stored, hasher.hash(key.plaintext.expose()));
        assert!(hasher.verify(key.plaintext.expose(), &stored));

        let other = PoolKeyMaterial::generate();
        assert!(!hasher.verify(other.plaintext.expose(), &stored));
        let mut flipped = stored;
        flipped[31] ^= 1;
        assert!(!hasher.verify(key.plaintext.expose(), &flipped));
    }

    #[test]
    fn depends_on_sealing_key() {
        let key = "sk-cxp-0123456789ab-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
        let stored = hasher(1).hash(key);
        assert!(!hasher(2).verify(key, &stored));
        assert_eq!(hasher(1).key_version(), 1);
    }

    #[test]
    fn derived_key_differs_from_sealing_key() {
        let sealing = SealingKey::from_bytes([9; 32], 1);
        let hasher = KeyHasher::from_sealing_key(&sealing);
        assert_ne!(&hasher.key, sealing.bytes());
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
    fn debug_is_redacted() {
        assert_eq!(
            format!("{:?}", hasher(3)),
            "KeyHasher { key_version: 1, .. }"
        );
    }
}
