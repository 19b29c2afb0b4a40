//! Pool API key material: `sk-cxp-<prefix>-<secret>`.
//!
//! The prefix is 12 lowercase hex digits (6 random bytes); it is stored in clear to find the key's
//! row and to show operators which key is which. The secret is 32 random bytes in unpadded
//! base64url (43 characters). Only a keyed hash of the whole key is stored (see
//! [`KeyHasher`](super::KeyHasher)).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use rand::rngs::OsRng;
use zeroize::Zeroize;

use crate::credentials::SecretString;

/// Why a presented string is not a well-formed Pool API key. Messages never include the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFormatError {
    /// It does not start with `sk-cxp-`.
    #[error("not a pool api key: expected it to start with `sk-cxp-`")]
    NotPoolKey,
    /// It has the wrong length.
    #[error("pool api key has the wrong length: expected 63 characters")]
    WrongLength,
    /// The prefix is not 12 lowercase hex digits followed by `-`.
    #[error("pool api key prefix is not 12 lowercase hex digits followed by `-`")]
    BadPrefix,
    /// The secret is not 43 characters of canonical unpadded base64url.
    #[error("pool api key secret is not 43 characters of base64url")]
    BadSecret,
}

/// Pool API key generation and format constants.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolKeyMaterial;

impl PoolKeyMaterial {
    /// What every Pool API key starts with.
    pub const SCHEME: &'static str = "sk-cxp-";
    /// The length of the hex prefix.
    pub const PREFIX_LEN: usize = 12;
    /// The length of the base64url secret (32 bytes, unpadded).
    pub const SECRET_LEN: usize = 43;
    /// The length of a whole key.
    pub const KEY_LEN: usize = Self::SCHEME.len() + Self::PREFIX_LEN + 1 + Self::SECRET_LEN;

    /// A new random key from the operating system's generator. Show `plaintext` once; store
    /// `prefix` and the key's hash.
    ///
    /// ```
    /// use codex_pooler_tower::keys::{PoolKeyMaterial, parse_pool_key};
    ///
    /// let key = PoolKeyMaterial::generate();
    /// let parsed = parse_pool_key(key.plaintext.expose())?;
    /// assert_eq!(parsed.prefix, key.prefix);
    /// # Ok::<(), codex_pooler_tower::keys::KeyFormatError>(())
    /// ```
    pub fn generate() -> GeneratedKey {
        Self::generate_with_scheme(Self::SCHEME)
    }

    /// A new random key in the same shape under another scheme (`<scheme><prefix>-<secret>`),
    /// for other bearer credentials such as operator tokens. `scheme` should end with `-`.
    pub fn generate_with_scheme(scheme: &str) -> GeneratedKey {
        let mut prefix_bytes = [0_u8; Self::PREFIX_LEN / 2];
        OsRng.fill_bytes(&mut prefix_bytes);
        let mut prefix = String::with_capacity(Self::PREFIX_LEN);
        for byte in prefix_bytes {
            prefix.push(hex_digit(byte >> 4));
            prefix.push(hex_digit(byte & 0x0f));
        }
        Self::with_new_secret(scheme, prefix)
    }

    /// A new random secret for the key with `prefix`, for a rotation: the key keeps its prefix
    /// (and so its row and listing), only the secret changes. A `prefix` that is not 12
    /// lowercase hex digits is refused.
    ///
    /// ```
    /// use codex_pooler_tower::keys::{PoolKeyMaterial, parse_pool_key};
    ///
    /// let key = PoolKeyMaterial::generate();
    /// let rotated = PoolKeyMaterial::rotate(&key.prefix)?;
    /// assert_eq!(parse_pool_key(rotated.plaintext.expose())?.prefix, key.prefix);
    /// assert_ne!(rotated.plaintext.expose(), key.plaintext.expose());
    /// # Ok::<(), codex_pooler_tower::keys::KeyFormatError>(())
    /// ```
    pub fn rotate(prefix: &str) -> Result<GeneratedKey, KeyFormatError> {
        let ok = prefix.len() == Self::PREFIX_LEN
            && prefix
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !ok {
            return Err(KeyFormatError::BadPrefix);
        }
        Ok(Self::with_new_secret(Self::SCHEME, prefix.to_owned()))
    }

    /// The key `<scheme><prefix>-<new random secret>`.
    fn with_new_secret(scheme: &str, prefix: String) -> GeneratedKey {
        let mut secret_bytes = [0_u8; 32];
        OsRng.fill_bytes(&mut secret_bytes);
        let mut plaintext = String::with_capacity(scheme.len() + Self::KEY_LEN);
        plaintext.push_str(scheme);
        plaintext.push_str(&prefix);
        plaintext.push('-');
        URL_SAFE_NO_PAD.encode_string(secret_bytes, &mut plaintext);
        secret_bytes.zeroize();

        GeneratedKey {
            plaintext: SecretString::new(plaintext),
            prefix,
        }
    }
}

/// A freshly generated Pool API key.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// The whole key, to show the client once.
    pub plaintext: SecretString,
    /// Its 12-hex-digit prefix, stored in clear.
    pub prefix: String,
}

/// A presented key that has the Pool API key shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedKey<'a> {
    /// The 12-hex-digit prefix that finds the key's row.
    pub prefix: &'a str,
}

/// Checks that `key` has exactly the Pool API key shape and returns its prefix, without
/// allocating. The secret part is checked for shape only; [`KeyHasher`](super::KeyHasher)
/// decides whether it is right.
pub fn parse_pool_key(key: &str) -> Result<ParsedKey<'_>, KeyFormatError> {
    parse_key_with_scheme(key, PoolKeyMaterial::SCHEME)
}

/// [`parse_pool_key`] for keys made by [`PoolKeyMaterial::generate_with_scheme`] with `scheme`
/// ([`KeyFormatError::NotPoolKey`] then means "does not start with `scheme`").
pub fn parse_key_with_scheme<'a>(
    key: &'a str,
    scheme: &str,
) -> Result<ParsedKey<'a>, KeyFormatError> {
    let rest = key.strip_prefix(scheme).ok_or(KeyFormatError::NotPoolKey)?;
    if rest.len() != PoolKeyMaterial::PREFIX_LEN + 1 + PoolKeyMaterial::SECRET_LEN {
        return Err(KeyFormatError::WrongLength);
    }
    // Checked byte by byte, so non-ASCII input is refused without slicing inside a character.
    let bytes = rest.as_bytes();
    let (prefix, separator_and_secret) = bytes.split_at(PoolKeyMaterial::PREFIX_LEN);
    if !prefix
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        || separator_and_secret.first() != Some(&b'-')
    {
        return Err(KeyFormatError::BadPrefix);
    }
    let secret = &separator_and_secret[1..];
    let canonical_end = secret.last().is_some_and(|&b| is_canonical_last(b));
    if !secret
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        || !canonical_end
    {
        return Err(KeyFormatError::BadSecret);
    }
    Ok(ParsedKey {
        prefix: &rest[..PoolKeyMaterial::PREFIX_LEN],
    })
}

/// A lowercase hex digit for a nibble.
fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0x0f)])
}

/// Whether `b` can end the unpadded base64url of 32 bytes: 43 characters carry 258 bits, so the
/// last character's two low bits must be zero.
fn is_canonical_last(b: u8) -> bool {
    let value = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return false,
    };
    value & 0b11 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "sk-cxp-0123456789ab-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    #[test]
    fn generated_keys_parse() {
        for _ in 0..64 {
            let key = PoolKeyMaterial::generate();
            let plaintext = key.plaintext.expose();
            assert_eq!(plaintext.len(), PoolKeyMaterial::KEY_LEN);
            assert_eq!(PoolKeyMaterial::KEY_LEN, 63);
            assert_eq!(key.prefix.len(), 12);
            assert_eq!(
                parse_pool_key(plaintext),
                Ok(ParsedKey {
                    prefix: &key.prefix
                })
            );
            let secret = &plaintext[20..];
            let decoded = URL_SAFE_NO_PAD.decode(secret).expect("base64url");
            assert_eq!(decoded.len(), 32);
        }
    }

    #[test]
    fn generated_keys_differ() {
        let a = PoolKeyMaterial::generate();
        let b = PoolKeyMaterial::generate();
        assert_ne!(a.plaintext.expose(), b.plaintext.expose());
        assert_ne!(a.prefix, b.prefix);
        assert!(!format!("{a:?}").contains(a.plaintext.expose()));
    }

    #[test]
    fn parses_valid_key() {
        assert_eq!(
            parse_pool_key(VALID),
            Ok(ParsedKey {
                prefix: "0123456789ab"
            })
        );
    }

    #[test]
    fn rejects_bad_shapes() {
        let cases: &[(&str, KeyFormatError)] = &[
            ("", KeyFormatError::NotPoolKey),
            ("sk-proj-abc", KeyFormatError::NotPoolKey),
            ("SK-CXP-0123456789ab-x", KeyFormatError::NotPoolKey),
            (&VALID[..62], KeyFormatError::WrongLength),
            ("sk-cxp-", KeyFormatError::WrongLength),
        ];
        for (key, err) in cases {
            assert_eq!(parse_pool_key(key), Err(*err), "{key}");
        }
        let long = format!("{VALID}A");
        assert_eq!(parse_pool_key(&long), Err(KeyFormatError::WrongLength));
        let padded = format!("{}=", &VALID[..62]);
        assert_eq!(parse_pool_key(&padded), Err(KeyFormatError::BadSecret));

        let replace = |at: usize, with: &str| {
            let mut s = VALID.to_owned();
            s.replace_range(at..at + 1, with);
            s
        };
        assert_eq!(
            parse_pool_key(&replace(7, "A")),
            Err(KeyFormatError::BadPrefix)
        );
        assert_eq!(
            parse_pool_key(&replace(18, "g")),
            Err(KeyFormatError::BadPrefix)
        );
        assert_eq!(
            parse_pool_key(&replace(19, "_")),
            Err(KeyFormatError::BadPrefix)
        );
        assert_eq!(
            parse_pool_key(&replace(30, "+")),
            Err(KeyFormatError::BadSecret)
        );
        assert_eq!(
            parse_pool_key(&replace(30, "/")),
            Err(KeyFormatError::BadSecret)
        );
        // "h" has low bits set, so it cannot end the encoding of 32 bytes.
        assert_eq!(
            parse_pool_key(&replace(62, "h")),
            Err(KeyFormatError::BadSecret)
        );
        assert!(parse_pool_key(&replace(62, "g")).is_ok());
    }

    #[test]
    fn multibyte_input_is_rejected_without_panicking() {
        let mut key = VALID.to_owned();
        key.replace_range(20..22, "é");
        assert_eq!(key.len(), VALID.len());
        assert_eq!(parse_pool_key(&key), Err(KeyFormatError::BadSecret));
        let mut key = VALID.to_owned();
        key.replace_range(8..10, "é");
        assert_eq!(parse_pool_key(&key), Err(KeyFormatError::BadPrefix));
        let mut key = VALID.to_owned();
        key.replace_range(18..20, "é");
        assert_eq!(parse_pool_key(&key), Err(KeyFormatError::BadPrefix));
    }

    #[test]
    fn errors_do_not_echo_input() {
        let err = parse_pool_key("sk-cxp-leakycontent").expect_err("error");
        assert!(!err.to_string().contains("leaky"));
    }
}
