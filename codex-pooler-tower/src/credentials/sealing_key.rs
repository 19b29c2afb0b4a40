//! [`SealingKey`]: the versioned 32-byte key that seals upstream secrets at rest.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rand::RngCore as _;
use rand::rngs::OsRng;
use zeroize::Zeroize;

/// The length of a sealing key, in bytes.
pub const SEALING_KEY_LEN: usize = 32;

/// Decoding config accepting base64 with or without padding.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
/// Standard base64, padded or not.
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
/// base64url, padded or not.
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Why a configured sealing key was refused. Messages never include the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealingKeyError {
    /// The value is empty.
    #[error("sealing key is empty; generate one with 32 random bytes, base64-encoded")]
    Empty,
    /// The value is neither base64 nor 64 hex digits.
    #[error("sealing key is neither base64 nor 64 hex digits")]
    NotEncoded,
    /// The value decodes to the wrong number of bytes.
    #[error("sealing key decodes to {len} bytes; it must be exactly 32")]
    WrongLength {
        /// How many bytes it decoded to.
        len: usize,
    },
}

/// A 32-byte AES-256 key with the version stored beside every secret it seals.
///
/// Keep old versions configured after a rotation so rows sealed with them still open.
/// `Debug` shows only the version; the bytes are wiped on drop.
#[derive(Clone)]
pub struct SealingKey {
    /// The key bytes.
    bytes: [u8; SEALING_KEY_LEN],
    /// The version recorded with each sealed secret.
    version: u32,
}

impl SealingKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; SEALING_KEY_LEN], version: u32) -> Self {
        Self { bytes, version }
    }

    /// Parses a configured key: base64 (standard or url-safe, padded or not) or 64 hex digits,
    /// either way exactly 32 bytes. Surrounding whitespace is ignored.
    ///
    /// ```
    /// use codex_pooler_tower::credentials::SealingKey;
    ///
    /// let key = SealingKey::from_config_value("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", 1)?;
    /// assert_eq!(key.version(), 1);
    /// # Ok::<(), codex_pooler_tower::credentials::SealingKeyError>(())
    /// ```
    pub fn from_config_value(value: &str, version: u32) -> Result<Self, SealingKeyError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(SealingKeyError::Empty);
        }
        if let Some(bytes) = decode_hex(value) {
            return Ok(Self { bytes, version });
        }
        let mut decoded = STANDARD_LENIENT
            .decode(value)
            .or_else(|_| URL_SAFE_LENIENT.decode(value))
            .map_err(|_| SealingKeyError::NotEncoded)?;
        let result = <[u8; SEALING_KEY_LEN]>::try_from(decoded.as_slice())
            .map(|bytes| Self { bytes, version })
            .map_err(|_| SealingKeyError::WrongLength { len: decoded.len() });
        decoded.zeroize();
        result
    }

    /// A new random key from the operating system's generator.
    pub fn generate(version: u32) -> Self {
        let mut bytes = [0_u8; SEALING_KEY_LEN];
        OsRng.fill_bytes(&mut bytes);
        Self { bytes, version }
    }

    /// The key as a config value: padded standard base64 (the version is configured apart).
    pub fn to_config_value(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// The key's version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The raw key bytes, for deriving the AEAD cipher and the Pool API key hasher.
    pub(crate) fn bytes(&self) -> &[u8; SEALING_KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKey")
            .field("version", &self.version)
            .field("bytes", &format_args!("[redacted]"))
            .finish()
    }
}

impl Drop for SealingKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

/// Decodes exactly 64 hex digits (either case), or `None`.
fn decode_hex(value: &str) -> Option<[u8; SEALING_KEY_LEN]> {
    let digits = value.as_bytes();
    if digits.len() != SEALING_KEY_LEN * 2 {
        return None;
    }
    let mut bytes = [0_u8; SEALING_KEY_LEN];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        // Both digits are < 16, so the value fits in a byte.
        *byte = u8::try_from(high * 16 + low).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};

    use super::*;

    fn sample() -> [u8; 32] {
        std::array::from_fn(|i| u8::try_from(i * 7 + 250).unwrap_or(0) ^ 0xfb)
    }

    #[test]
    fn accepts_every_encoding() {
        let bytes = sample();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let encodings = [
            STANDARD.encode(bytes),
            STANDARD.encode(bytes).trim_end_matches('=').to_owned(),
            URL_SAFE.encode(bytes),
            URL_SAFE_NO_PAD.encode(bytes),
            hex.clone(),
            hex.to_uppercase(),
            format!("  {}\n", STANDARD.encode(bytes)),
        ];
        for value in encodings {
            let key = SealingKey::from_config_value(&value, 3).expect(&value);
            assert_eq!(key.bytes(), &bytes, "{value}");
            assert_eq!(key.version(), 3);
        }
    }

    #[test]
    fn config_value_round_trips() {
        let key = SealingKey::generate(9);
        let again = SealingKey::from_config_value(&key.to_config_value(), 9).expect("parse");
        assert_eq!(again.bytes(), key.bytes());
        assert_ne!(SealingKey::generate(9).bytes(), key.bytes());
    }

    #[test]
    fn rejects_bad_values() {
        assert_eq!(
            SealingKey::from_config_value(" ", 1).err(),
            Some(SealingKeyError::Empty)
        );
        assert_eq!(
            SealingKey::from_config_value("not base64 at all!", 1).err(),
            Some(SealingKeyError::NotEncoded)
        );
        assert_eq!(
            SealingKey::from_config_value(&STANDARD.encode([1_u8; 16]), 1).err(),
            Some(SealingKeyError::WrongLength { len: 16 })
        );
        assert_eq!(
            SealingKey::from_config_value(&STANDARD.encode([1_u8; 33]), 1).err(),
            Some(SealingKeyError::WrongLength { len: 33 })
        );
        // 63 hex digits is neither hex of 32 bytes nor valid base64.
        let short_hex = "a".repeat(63);
        assert!(SealingKey::from_config_value(&short_hex, 1).is_err());
        // 64 characters that are not all hex fall through to base64 and decode to 48 bytes.
        let not_hex = format!("{}g", "a".repeat(63));
        assert_eq!(
            SealingKey::from_config_value(&not_hex, 1).err(),
            Some(SealingKeyError::WrongLength { len: 48 })
        );
    }

    #[test]
    fn debug_is_redacted() {
        let key = SealingKey::from_bytes([0xab; 32], 4);
        let debug = format!("{key:?}");
        assert_eq!(debug, "SealingKey { version: 4, bytes: [redacted] }");
        assert!(!debug.contains(&key.to_config_value()));
    }
}
