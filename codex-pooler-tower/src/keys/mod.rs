//! Pool API key material: generation, parsing and keyed hashing.
//!
//! Clients present a Pool API key (`sk-cxp-<12 hex prefix>-<43 base64url>`) to the gateway. The
//! gateway stores the prefix in clear and an HMAC-SHA256 of the whole key with the version of the
//! [`HashingKey`] that made it; the plaintext is shown once at creation. Authenticating a request
//! is:
//!
//! 1. [`parse_pool_key`]: refuse anything without the exact shape, and take the prefix.
//! 2. Look up the stored hash and its key version by prefix.
//! 3. [`KeyHasher::verify`]: compare the keyed hash in constant time, under that version's key.
//!
//! ```
//! use codex_pooler_tower::credentials::SealingKey;
//! use codex_pooler_tower::keys::{KeyHasher, PoolKeyMaterial, parse_pool_key};
//!
//! let hasher = KeyHasher::from_sealing_key(&SealingKey::generate(1));
//! let issued = PoolKeyMaterial::generate();
//! let (stored_prefix, stored_hash) = (issued.prefix.clone(), hasher.hash(issued.plaintext.expose()));
//! let stored_version = hasher.key_version();
//!
//! let presented = issued.plaintext.expose();
//! let parsed = parse_pool_key(presented)?;
//! assert_eq!(parsed.prefix, stored_prefix);
//! assert!(hasher.verify(presented, stored_version, &stored_hash));
//! # Ok::<(), codex_pooler_tower::keys::KeyFormatError>(())
//! ```

mod hasher;
mod hashing_key;
mod material;

pub use hasher::{HasherConfigError, KeyHasher};
pub use hashing_key::{HashingKey, SealedHashingKey};
pub use material::{
    GeneratedKey, KeyFormatError, ParsedKey, PoolKeyMaterial, parse_key_with_scheme, parse_pool_key,
};
