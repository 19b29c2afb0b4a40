//! [`SecretSealer`]: AES-256-GCM sealing of upstream secrets at rest.
//!
//! Each secret gets a fresh random 96-bit nonce. The associated data binds a format tag, the key
//! version, the ChatGPT account id and the [`SecretKind`], so a ciphertext copied to another
//! account's row, or into another kind's column, fails to open instead of yielding a usable
//! token. Several key versions can be configured: new secrets are sealed with the current one and
//! older rows still open until they are resealed.

use std::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce};
use codex_pooler_core::store::{SealedSecret, SecretKind};
use rand::RngCore as _;
use rand::rngs::OsRng;
use zeroize::{Zeroize, Zeroizing};

use super::sealing_key::SealingKey;
use super::secret::SecretString;

/// The AES-GCM nonce length, in bytes.
const NONCE_LEN: usize = 12;
/// Names the sealing format inside the associated data, so a future format can never open these.
const FORMAT_TAG: &[u8] = b"codex-pooler/sealed-secret/aes-256-gcm/v1";

/// Why a [`SecretSealer`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealerConfigError {
    /// The current version is not among the configured keys.
    #[error("no sealing key has the current version {0}")]
    MissingCurrentKey(u32),
    /// Two configured keys share a version.
    #[error("two sealing keys share version {0}")]
    DuplicateVersion(u32),
}

/// Why a sealed secret did not open. Messages never include secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// No configured key has the secret's version.
    #[error(
        "no sealing key with version {0} is configured; add the old key back to open this secret"
    )]
    UnknownKeyVersion(u32),
    /// The stored nonce has the wrong length.
    #[error("sealed secret has a {0}-byte nonce; expected 12")]
    MalformedNonce(usize),
    /// Authentication failed: wrong key, other account or kind, or a tampered ciphertext.
    #[error(
        "sealed secret failed authentication: wrong key, another account or kind, or tampered data"
    )]
    Unauthentic,
    /// The plaintext is not UTF-8, so it is not a token.
    #[error("sealed secret is not utf-8 text")]
    NotUtf8,
    /// The plaintext has the wrong length for what it should hold (a 32-byte hashing key).
    #[error("sealed value holds {0} bytes; expected 32")]
    WrongLength(usize),
}

/// Seals and opens upstream secrets with versioned AES-256-GCM keys.
pub struct SecretSealer {
    /// Ciphers by key version.
    ciphers: Vec<(u32, Aes256Gcm)>,
    /// The version new secrets are sealed with.
    current_version: u32,
    /// Index of the current version's cipher in `ciphers`.
    current: usize,
}

impl SecretSealer {
    /// A sealer holding `keys`, sealing with the key whose version is `current_version`.
    ///
    /// ```
    /// use codex_pooler_core::store::SecretKind;
    /// use codex_pooler_tower::credentials::{SealingKey, SecretSealer};
    ///
    /// let sealer = SecretSealer::new(vec![SealingKey::generate(1)], 1)?;
    /// let sealed = sealer.seal("acct-1", SecretKind::RefreshToken, b"rt_example");
    /// assert_eq!(sealer.open("acct-1", &sealed)?.expose(), "rt_example");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(keys: Vec<SealingKey>, current_version: u32) -> Result<Self, SealerConfigError> {
        let mut ciphers: Vec<(u32, Aes256Gcm)> = Vec::with_capacity(keys.len());
        for key in keys {
            if ciphers.iter().any(|(v, _)| *v == key.version()) {
                return Err(SealerConfigError::DuplicateVersion(key.version()));
            }
            let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.bytes()));
            ciphers.push((key.version(), cipher));
        }
        let current = ciphers
            .iter()
            .position(|(v, _)| *v == current_version)
            .ok_or(SealerConfigError::MissingCurrentKey(current_version))?;
        Ok(Self {
            ciphers,
            current_version,
            current,
        })
    }

    /// The version new secrets are sealed with.
    pub fn current_version(&self) -> u32 {
        self.current_version
    }

    /// Whether `sealed` was sealed with an older key and should be resealed.
    pub fn needs_reseal(&self, sealed: &SealedSecret) -> bool {
        sealed.key_version != self.current_version
    }

    /// The configured key versions, in the order they were given.
    pub fn versions(&self) -> impl Iterator<Item = u32> + '_ {
        self.ciphers.iter().map(|(v, _)| *v)
    }

    /// Whether a key of `version` is configured.
    pub fn has_version(&self, version: u32) -> bool {
        self.cipher(version).is_some()
    }

    /// Seals `plaintext` for the account `chatgpt_account_id` as a `kind` secret, with the current
    /// key and a fresh random nonce.
    ///
    /// # Panics
    ///
    /// Only if `plaintext` is longer than AES-GCM's limit of about 64 GiB.
    pub fn seal(
        &self,
        chatgpt_account_id: &str,
        kind: SecretKind,
        plaintext: &[u8],
    ) -> SealedSecret {
        let (key_version, nonce, ciphertext) = self.encrypt_current(
            |version| associated_data(version, chatgpt_account_id, kind),
            plaintext,
        );
        SealedSecret {
            kind,
            key_version,
            nonce,
            ciphertext,
        }
    }

    /// Opens a secret sealed for the account `chatgpt_account_id`.
    pub fn open(
        &self,
        chatgpt_account_id: &str,
        sealed: &SealedSecret,
    ) -> Result<SecretString, SealError> {
        let aad = associated_data(sealed.key_version, chatgpt_account_id, sealed.kind);
        let mut plaintext =
            self.decrypt(sealed.key_version, &sealed.nonce, &sealed.ciphertext, &aad)?;
        String::from_utf8(std::mem::take(&mut *plaintext))
            .map(SecretString::new)
            .map_err(|err| {
                err.into_bytes().zeroize();
                SealError::NotUtf8
            })
    }

    /// Opens `sealed` and seals its plaintext again with the current key and a fresh nonce: the
    /// step a key rotation takes for every stored secret.
    ///
    /// ```
    /// use codex_pooler_core::store::SecretKind;
    /// use codex_pooler_tower::credentials::{SealingKey, SecretSealer};
    ///
    /// let old = SealingKey::generate(1);
    /// let sealed = SecretSealer::new(vec![old.clone()], 1)?.seal("acct", SecretKind::IdToken, b"x");
    /// let rotated = SecretSealer::new(vec![old, SealingKey::generate(2)], 2)?;
    /// let resealed = rotated.reseal("acct", &sealed)?;
    /// assert_eq!(resealed.key_version, 2);
    /// assert_eq!(rotated.open("acct", &resealed)?.expose(), "x");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reseal(
        &self,
        chatgpt_account_id: &str,
        sealed: &SealedSecret,
    ) -> Result<SealedSecret, SealError> {
        let plaintext = self.open(chatgpt_account_id, sealed)?;
        Ok(self.seal(
            chatgpt_account_id,
            sealed.kind,
            plaintext.expose().as_bytes(),
        ))
    }

    /// Encrypts `plaintext` with the current key and a fresh random nonce, under the associated
    /// data `aad(current_version)`; returns the version, the nonce and the ciphertext.
    ///
    /// # Panics
    ///
    /// Only if `plaintext` is longer than AES-GCM's limit of about 64 GiB.
    pub(crate) fn encrypt_current(
        &self,
        aad: impl FnOnce(u32) -> Vec<u8>,
        plaintext: &[u8],
    ) -> (u32, Vec<u8>, Vec<u8>) {
        let mut nonce = [0_u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let aad = aad(self.current_version);
        // `new` checked that `current` indexes `ciphers`.
        let ciphertext = self.ciphers[self.current]
            .1
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            // Invariant: AES-GCM only refuses inputs over ~64 GiB (documented under Panics).
            .expect("plaintext within the AES-GCM length limit");
        (self.current_version, nonce.to_vec(), ciphertext)
    }

    /// Decrypts a ciphertext sealed with the key of `version` under the associated data `aad`.
    pub(crate) fn decrypt(
        &self,
        version: u32,
        nonce: &[u8],
        ciphertext: &[u8],
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let cipher = self
            .cipher(version)
            .ok_or(SealError::UnknownKeyVersion(version))?;
        if nonce.len() != NONCE_LEN {
            return Err(SealError::MalformedNonce(nonce.len()));
        }
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Unauthentic)
    }

    /// The cipher for `version`, if configured.
    fn cipher(&self, version: u32) -> Option<&Aes256Gcm> {
        self.ciphers
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, cipher)| cipher)
    }
}

impl fmt::Debug for SecretSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let versions: Vec<u32> = self.ciphers.iter().map(|(v, _)| *v).collect();
        f.debug_struct("SecretSealer")
            .field("versions", &versions)
            .field("current_version", &self.current_version)
            .finish_non_exhaustive()
    }
}

/// The associated data: format tag, key version, account id and kind, each length-prefixed so no
/// two different tuples serialize alike.
fn associated_data(version: u32, chatgpt_account_id: &str, kind: SecretKind) -> Vec<u8> {
    let kind = kind.as_str().as_bytes();
    let account = chatgpt_account_id.as_bytes();
    let mut aad = Vec::with_capacity(FORMAT_TAG.len() + 4 + 8 + account.len() + 8 + kind.len());
    aad.extend_from_slice(FORMAT_TAG);
    aad.extend_from_slice(&version.to_be_bytes());
    for field in [account, kind] {
        aad.extend_from_slice(&(field.len() as u64).to_be_bytes());
        aad.extend_from_slice(field);
    }
    aad
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    const ACCOUNT: &str = "11111111-2222-3333-4444-555555555555";

    fn sealer(version: u32) -> SecretSealer {
        SecretSealer::new(vec![SealingKey::from_bytes([7; 32], version)], version).expect("sealer")
    }

    #[test]
    fn round_trip() {
        let sealer = sealer(1);
        for kind in [
            SecretKind::AccessToken,
            SecretKind::RefreshToken,
            SecretKind::IdToken,
        ] {
            let sealed = sealer.seal(ACCOUNT, kind, b"rt_secret");
            assert_eq!(sealed.kind, kind);
            assert_eq!(sealed.key_version, 1);
            assert_eq!(sealed.nonce.len(), NONCE_LEN);
            assert_eq!(sealed.ciphertext.len(), b"rt_secret".len() + 16);
            assert!(!sealed.ciphertext.windows(9).any(|w| w == b"rt_secret"));
            assert_eq!(
                sealer.open(ACCOUNT, &sealed).expect("open").expose(),
                "rt_secret"
            );
        }
        let empty = sealer.seal(ACCOUNT, SecretKind::IdToken, b"");
        assert_eq!(sealer.open(ACCOUNT, &empty).expect("open").expose(), "");
    }

    #[test]
    fn detects_tampering() {
        let sealer = sealer(1);
        let sealed = sealer.seal(ACCOUNT, SecretKind::AccessToken, b"token");
        for i in 0..sealed.ciphertext.len() {
            let mut bad = sealed.clone();
            bad.ciphertext[i] ^= 0x01;
            assert_eq!(
                sealer.open(ACCOUNT, &bad).err(),
                Some(SealError::Unauthentic)
            );
        }
        let mut bad = sealed.clone();
        bad.nonce[0] ^= 0x80;
        assert_eq!(
            sealer.open(ACCOUNT, &bad).err(),
            Some(SealError::Unauthentic)
        );
        let mut bad = sealed.clone();
        bad.ciphertext.truncate(4);
        assert_eq!(
            sealer.open(ACCOUNT, &bad).err(),
            Some(SealError::Unauthentic)
        );
        let mut bad = sealed;
        bad.nonce.pop();
        assert_eq!(
            sealer.open(ACCOUNT, &bad).err(),
            Some(SealError::MalformedNonce(11))
        );
    }

    #[test]
    fn binds_account_and_kind() {
        let sealer = sealer(1);
        let sealed = sealer.seal(ACCOUNT, SecretKind::RefreshToken, b"rt_x");
        assert_eq!(
            sealer.open("other-account", &sealed).err(),
            Some(SealError::Unauthentic)
        );
        let mut moved = sealed.clone();
        moved.kind = SecretKind::AccessToken;
        assert_eq!(
            sealer.open(ACCOUNT, &moved).err(),
            Some(SealError::Unauthentic)
        );
        assert!(sealer.open(ACCOUNT, &sealed).is_ok());
    }

    #[test]
    fn nonces_are_unique() {
        let sealer = sealer(1);
        let nonces: HashSet<Vec<u8>> = (0..256)
            .map(|_| sealer.seal(ACCOUNT, SecretKind::IdToken, b"same").nonce)
            .collect();
        assert_eq!(nonces.len(), 256);
    }

    #[test]
    fn rotation_keeps_old_rows_open() {
        let old = SealingKey::from_bytes([1; 32], 1);
        let new = SealingKey::from_bytes([2; 32], 2);
        let before = SecretSealer::new(vec![old.clone()], 1).expect("sealer");
        let sealed_old = before.seal(ACCOUNT, SecretKind::AccessToken, b"old");

        let after = SecretSealer::new(vec![old, new.clone()], 2).expect("sealer");
        assert_eq!(after.current_version(), 2);
        assert!(after.needs_reseal(&sealed_old));
        assert_eq!(
            after.open(ACCOUNT, &sealed_old).expect("open").expose(),
            "old"
        );
        let sealed_new = after.seal(ACCOUNT, SecretKind::AccessToken, b"new");
        assert_eq!(sealed_new.key_version, 2);
        assert!(!after.needs_reseal(&sealed_new));

        let dropped_old = SecretSealer::new(vec![new], 2).expect("sealer");
        assert_eq!(
            dropped_old.open(ACCOUNT, &sealed_old).err(),
            Some(SealError::UnknownKeyVersion(1))
        );
        // Relabelling a row with another configured version does not open it either.
        let mut relabelled = sealed_old;
        relabelled.key_version = 2;
        assert_eq!(
            after.open(ACCOUNT, &relabelled).err(),
            Some(SealError::Unauthentic)
        );
    }

    #[test]
    fn reseal_moves_a_secret_to_the_current_key() {
        let old = SealingKey::from_bytes([1; 32], 1);
        let new = SealingKey::from_bytes([2; 32], 2);
        let sealed = SecretSealer::new(vec![old.clone()], 1)
            .expect("sealer")
            .seal(ACCOUNT, SecretKind::RefreshToken, b"rt_keep");
        let both = SecretSealer::new(vec![old, new.clone()], 2).expect("sealer");
        assert_eq!(both.versions().collect::<Vec<_>>(), vec![1, 2]);
        assert!(both.has_version(1) && both.has_version(2) && !both.has_version(3));
        let resealed = both.reseal(ACCOUNT, &sealed).expect("reseal");
        assert_eq!(resealed.key_version, 2);
        assert_eq!(resealed.kind, SecretKind::RefreshToken);
        assert_ne!(resealed.nonce, sealed.nonce);

        // Only the new key is needed from now on.
        let only_new = SecretSealer::new(vec![new], 2).expect("sealer");
        assert_eq!(
            only_new.open(ACCOUNT, &resealed).expect("open").expose(),
            "rt_keep"
        );
        assert_eq!(
            only_new.reseal(ACCOUNT, &sealed).err(),
            Some(SealError::UnknownKeyVersion(1))
        );
        // Resealing checks the account binding like opening does.
        assert_eq!(
            both.reseal("other-account", &sealed).err(),
            Some(SealError::Unauthentic)
        );
    }

    #[test]
    fn wrong_key_fails() {
        let sealed = sealer(1).seal(ACCOUNT, SecretKind::IdToken, b"x");
        let other = SecretSealer::new(vec![SealingKey::from_bytes([8; 32], 1)], 1).expect("sealer");
        assert_eq!(
            other.open(ACCOUNT, &sealed).err(),
            Some(SealError::Unauthentic)
        );
    }

    #[test]
    fn rejects_bad_config() {
        assert_eq!(
            SecretSealer::new(vec![SealingKey::generate(1)], 2).err(),
            Some(SealerConfigError::MissingCurrentKey(2))
        );
        assert_eq!(
            SecretSealer::new(Vec::new(), 1).err(),
            Some(SealerConfigError::MissingCurrentKey(1))
        );
        assert_eq!(
            SecretSealer::new(vec![SealingKey::generate(1), SealingKey::generate(1)], 1).err(),
            Some(SealerConfigError::DuplicateVersion(1))
        );
    }

    #[test]
    fn non_utf8_plaintext_is_typed() {
        let sealer = sealer(1);
        let sealed = sealer.seal(ACCOUNT, SecretKind::IdToken, &[0xff, 0xfe]);
        assert_eq!(
            sealer.open(ACCOUNT, &sealed).err(),
            Some(SealError::NotUtf8)
        );
    }

    #[test]
    fn debug_shows_versions_only() {
        let debug = format!("{:?}", sealer(5));
        assert_eq!(
            debug,
            "SecretSealer { versions: [5], current_version: 5, .. }"
        );
    }

    #[test]
    fn associated_data_is_unambiguous() {
        assert_ne!(
            associated_data(1, "ab", SecretKind::IdToken),
            associated_data(1, "a", SecretKind::IdToken)
        );
        assert_ne!(
            associated_data(1, ACCOUNT, SecretKind::IdToken),
            associated_data(2, ACCOUNT, SecretKind::IdToken)
        );
    }
}
