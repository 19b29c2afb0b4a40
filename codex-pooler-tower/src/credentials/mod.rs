//! Upstream credentials: auth.json import, id-token claims and sealing secrets at rest.
//!
//! - [`import_auth_json`] validates a Codex CLI `auth.json` and yields an [`ImportedAuth`]:
//!   the account identity plus the three tokens as [`SecretString`]s.
//! - [`IdClaims`] reads the ChatGPT claims of a JWT (no signature check: OpenAI verifies its own
//!   tokens; the gateway only labels accounts and tracks expiry).
//! - [`SealingKey`] and [`SecretSealer`] seal tokens with AES-256-GCM before they reach the
//!   store, bound to their account and kind, with versioned keys for rotation.
//!
//! ```
//! use std::time::SystemTime;
//!
//! use codex_pooler_tower::credentials::{SealingKey, SecretSealer, import_auth_json};
//!
//! # fn run(auth_json: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! let auth = import_auth_json(auth_json, SystemTime::now())?;
//! let sealer = SecretSealer::new(vec![SealingKey::generate(1)], 1)?;
//! let sealed = auth.sealed_tokens(&sealer);
//! # let _ = sealed;
//! # Ok(())
//! # }
//! ```

mod auth_json;
mod jwt;
mod new_account;
mod sealing;
mod sealing_key;
mod secret;

pub use auth_json::{AUTH_JSON_MAX_BYTES, AuthJsonError, ImportedAuth, import_auth_json};
pub use jwt::{IdClaims, JwtError, decode_payload};
pub use sealing::{SealError, SealerConfigError, SecretSealer};
pub use sealing_key::{SEALING_KEY_LEN, SealingKey, SealingKeyError};
pub use secret::SecretString;
