//! Issuing an operator token: generate, hash, store, and hand the plaintext back once.

use std::time::{Duration, SystemTime};

use codex_pooler_core::store::StoreError;
use codex_pooler_tower::credentials::SecretString;
use codex_pooler_tower::keys::KeyHasher;

use super::{OperatorId, OperatorToken, OperatorTokenMaterial, TokenKind};
use crate::store::{NewOperatorToken, SqlStore};

/// A new token: its stored metadata and the plaintext, to show once.
#[derive(Debug)]
pub struct IssuedToken {
    /// What is stored.
    pub token: OperatorToken,
    /// The whole token; never stored, never logged.
    pub plaintext: SecretString,
}

/// Creates a token of `kind` for `operator`, expiring after `expires_in_days` if given.
///
/// # Errors
///
/// [`StoreError::NotFound`] for an unknown operator, or [`StoreError::Backend`].
pub async fn issue_token(
    store: &SqlStore,
    hasher: &KeyHasher,
    operator: OperatorId,
    kind: TokenKind,
    label: &str,
    expires_in_days: Option<u64>,
) -> Result<IssuedToken, StoreError> {
    let generated = OperatorTokenMaterial::generate(kind);
    let token = store
        .create_operator_token(NewOperatorToken {
            operator,
            kind,
            label: label.to_owned(),
            prefix: generated.prefix,
            hash: hasher.hash(generated.plaintext.expose()),
            key_version: hasher.key_version(),
            expires_at: expires_in_days
                .map(|d| SystemTime::now() + Duration::from_secs(d.saturating_mul(86_400))),
        })
        .await?;
    Ok(IssuedToken {
        token,
        plaintext: generated.plaintext,
    })
}
