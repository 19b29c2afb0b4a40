//! Pool API key material: generation, parsing and keyed hashing.
//!
//! Clients present a Pool API key (`sk-cxp-<12 hex prefix>-<43 base64url>`) to the gateway. The
//! gateway stores the prefix in clear and an HMAC-SHA256 of the whole key; the plaintext is shown
//! once at creation. Authenticating a request is:
//!
//! 1. [`parse_pool_key`]: refuse anything without the exact shape, and take the prefix.
//! 2. Look up the stored hash by prefix.
//! 3. [`KeyHasher::verify`]: compare the keyed hash in constant time.
//!
//! ```
//! use codex_pooler_tower::credentials::SealingKey;
//! use codex_pooler_tower::keys::{KeyHasher, PoolKeyMaterial, parse_pool_key};
//!
//! let hasher = KeyHasher::from_sealing_key(&SealingKey::generate(1));
//! let issued = PoolKeyMaterial::generate();
//! let (stored_prefix, stored_hash) = (issued.prefix.clone(), hasher.hash(issued.plaintext.expose()));
//!
//! let presented = issued.plaintext.expose();
//! let parsed = parse_pool_key(presented)?;
//! assert_eq!(parsed.prefix, stored_prefix);
//! assert!(hasher.verify(presented, &stored_hash));
//! # Ok::<(), codex_pooler_tower::keys::KeyFormatError>(())
//! ```

mod hasher;
mod material;

pub use hasher::KeyHasher;
pub use material::{GeneratedKey, KeyFormatError, ParsedKey, PoolKeyMaterial, parse_pool_key};
