//! [`HashingKey`]: the versioned HMAC key Pool API keys are hashed with, and
//! [`SealedHashingKey`], its form at rest.
//!
//! A hashing key is derived from a [`SealingKey`] of the same version. Pool API keys cannot be
//! hashed again after a key rotation (only clients know their plaintext), so a deployment keeps
//! the hashing keys of older versions, sealed under the current sealing key, once the older
//! sealing keys themselves are gone.
//!
//! ```
//! use codex_pooler_tower::credentials::{SealingKey, SecretSealer};
//! use codex_pooler_tower::keys::HashingKey;
//!
//! let old = SealingKey::generate(1);
//! let new = SealingKey::generate(2);
//! let hashing = HashingKey::derive(&old);
//! let sealer = SecretSealer::new(vec![new], 2)?;
//! let sealed = hashing.seal(&sealer);
//! assert_eq!((sealed.version, sealed.key_version), (1, 2));
//! assert_eq!(HashingKey::open(&sealed, &sealer)?.version(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroize;

use crate::credentials::{SealError, SealingKey, SecretSealer};

/// HMAC-SHA256.
type HmacSha256 = Hmac<Sha256>;

/// The length of a hashing key, in bytes.
const HASHING_KEY_LEN: usize = 32;

/// The label that derives the hashing key from a sealing key, so key hashes and secret sealing
/// never use the same key directly.
const DERIVATION_LABEL: &[u8] = b"codex-pooler pool-api-key v1";

/// Names the sealed hashing key format inside the associated data; it differs from the sealed
/// secret format, so neither ciphertext opens as the other.
const FORMAT_TAG: &[u8] = b"codex-pooler/sealed-hashing-key/aes-256-gcm/v1";

/// The HMAC key of one key version. `Debug` shows only the version; the bytes are wiped on drop.
#[derive(Clone)]
pub struct HashingKey {
    /// The HMAC key.
    bytes: [u8; HASHING_KEY_LEN],
    /// The version of the sealing key it was derived from.
    version: u32,
}

impl HashingKey {
    /// Derives the hashing key of `sealing_key`'s version:
    /// HMAC-SHA256(sealing key, `"codex-pooler pool-api-key v1"`).
    pub fn derive(sealing_key: &SealingKey) -> Self {
        let mut mac = new_mac(sealing_key.bytes());
        mac.update(DERIVATION_LABEL);
        Self {
            bytes: mac.finalize().into_bytes().into(),
            version: sealing_key.version(),
        }
    }

    /// The key version: the version stored beside every hash made with it.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Seals this key with `sealer`'s current key and a fresh nonce, bound to both versions.
    pub fn seal(&self, sealer: &SecretSealer) -> SealedHashingKey {
        let (key_version, nonce, ciphertext) = sealer.encrypt_current(
            |sealed_with| associated_data(self.version, sealed_with),
            &self.bytes,
        );
        SealedHashingKey {
            version: self.version,
            key_version,
            nonce,
            ciphertext,
        }
    }

    /// Opens a sealed hashing key.
    ///
    /// # Errors
    ///
    /// [`SealError::UnknownKeyVersion`] when `sealer` lacks the key it was sealed with, and the
    /// other [`SealError`]s for a tampered or malformed row.
    pub fn open(sealed: &SealedHashingKey, sealer: &SecretSealer) -> Result<Self, SealError> {
        let aad = associated_data(sealed.version, sealed.key_version);
        let plaintext =
            sealer.decrypt(sealed.key_version, &sealed.nonce, &sealed.ciphertext, &aad)?;
        let bytes = <[u8; HASHING_KEY_LEN]>::try_from(plaintext.as_slice())
            .map_err(|_| SealError::WrongLength(plaintext.len()))?;
        Ok(Self {
            bytes,
            version: sealed.version,
        })
    }

    /// An HMAC keyed with this key.
    pub(crate) fn mac(&self) -> HmacSha256 {
        new_mac(&self.bytes)
    }
}

impl fmt::Debug for HashingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashingKey")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Drop for HashingKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

/// A [`HashingKey`] sealed at rest (AES-256-GCM, associated data binding both versions).
#[derive(Clone, PartialEq, Eq)]
pub struct SealedHashingKey {
    /// The hashing key's version (the key hashes it checks carry it).
    pub version: u32,
    /// The version of the sealing key that sealed it.
    pub key_version: u32,
    /// The AEAD nonce.
    pub nonce: Vec<u8>,
    /// Ciphertext with its authentication tag.
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedHashingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedHashingKey")
            .field("version", &self.version)
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

/// An HMAC-SHA256 keyed with 32 bytes.
pub(crate) fn new_mac(key: &[u8; 32]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` never fails for it.
    <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("hmac accepts any key length"))
}

/// The associated data: format tag, the hashing key's version, the sealing key's version.
fn associated_data(version: u32, sealed_with: u32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(FORMAT_TAG.len() + 8);
    aad.extend_from_slice(FORMAT_TAG);
    aad.extend_from_slice(&version.to_be_bytes());
    aad.extend_from_slice(&sealed_with.to_be_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use codex_pooler_core::store::{SealedSecret, SecretKind};

    use super::*;

    fn sealer(byte: u8, version: u32) -> SecretSealer {
        SecretSealer::new(vec![SealingKey::from_bytes([byte; 32], version)], version)
            .expect("sealer")
    }

    #[test]
    fn derivation_depends_on_the_sealing_key_only() {
        let a = HashingKey::derive(&SealingKey::from_bytes([1; 32], 1));
        let again = HashingKey::derive(&SealingKey::from_bytes([1; 32], 7));
        let other = HashingKey::derive(&SealingKey::from_bytes([2; 32], 1));
        assert_eq!(a.bytes, again.bytes, "the version is a label, not an input");
        assert_eq!(again.version(), 7);
        assert_ne!(a.bytes, other.bytes);
        assert_ne!(&a.bytes, SealingKey::from_bytes([1; 32], 1).bytes());
    }

    #[test]
    fn seal_and_open_round_trip() {
        let key = HashingKey::derive(&SealingKey::from_bytes([3; 32], 1));
        let sealer = sealer(9, 4);
        let sealed = key.seal(&sealer);
        assert_eq!(sealed.version, 1);
        assert_eq!(sealed.key_version, 4);
        assert!(!sealed.ciphertext.windows(8).any(|w| w == &key.bytes[..8]));
        let opened = HashingKey::open(&sealed, &sealer).expect("open");
        assert_eq!(opened.bytes, key.bytes);
        assert_eq!(opened.version(), 1);
        assert_ne!(key.seal(&sealer).nonce, sealed.nonce, "fresh nonce");
    }

    #[test]
    fn opening_fails_typed() {
        let key = HashingKey::derive(&SealingKey::from_bytes([3; 32], 1));
        let sealed = key.seal(&sealer(9, 4));
        assert_eq!(
            HashingKey::open(&sealed, &sealer(9, 5)).err(),
            Some(SealError::UnknownKeyVersion(4))
        );
        assert_eq!(
            HashingKey::open(&sealed, &sealer(8, 4)).err(),
            Some(SealError::Unauthentic)
        );
        // The versions are bound: relabelling the row does not open it.
        let mut relabelled = sealed.clone();
        relabelled.version = 2;
        assert_eq!(
            HashingKey::open(&relabelled, &sealer(9, 4)).err(),
            Some(SealError::Unauthentic)
        );
        let mut short = sealed;
        short.nonce.pop();
        assert_eq!(
            HashingKey::open(&short, &sealer(9, 4)).err(),
            Some(SealError::MalformedNonce(11))
        );
    }

    #[test]
    fn sealed_secrets_and_hashing_keys_do_not_open_as_each_other() {
        let sealer = sealer(9, 1);
        let secret = sealer.seal("acct", SecretKind::AccessToken, &[5; 32]);
        let as_key = SealedHashingKey {
            version: 1,
            key_version: secret.key_version,
            nonce: secret.nonce.clone(),
            ciphertext: secret.ciphertext.clone(),
        };
        assert_eq!(
            HashingKey::open(&as_key, &sealer).err(),
            Some(SealError::Unauthentic)
        );
        let sealed = HashingKey::derive(&SealingKey::from_bytes([3; 32], 1)).seal(&sealer);
        let as_secret = SealedSecret {
            kind: SecretKind::AccessToken,
            key_version: sealed.key_version,
            nonce: sealed.nonce,
            ciphertext: sealed.ciphertext,
        };
        assert_eq!(
            sealer.open("acct", &as_secret).err(),
            Some(SealError::Unauthentic)
        );
    }

    #[test]
    fn wrong_length_plaintext_is_typed() {
        let sealer = sealer(9, 1);
        let (key_version, nonce, ciphertext) =
            sealer.encrypt_current(|v| associated_data(1, v), &[1; 16]);
        let sealed = SealedHashingKey {
            version: 1,
            key_version,
            nonce,
            ciphertext,
        };
        assert_eq!(
            HashingKey::open(&sealed, &sealer).err(),
            Some(SealError::WrongLength(16))
        );
    }

    #[test]
    fn debug_is_redacted() {
        let key = HashingKey::derive(&SealingKey::from_bytes([3; 32], 6));
        assert_eq!(format!("{key:?}"), "HashingKey { version: 6, .. }");
        let sealed = key.seal(&sealer(1, 2));
        assert_eq!(
            format!("{sealed:?}"),
            "SealedHashingKey { version: 6, key_version: 2, .. }"
        );
    }
}
