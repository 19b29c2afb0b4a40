//! The `upstream_secrets` table: sealed secrets, at most one per account and kind.

use sea_orm::entity::prelude::*;

/// A row of `upstream_secrets`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "upstream_secrets")]
pub(crate) struct Model {
    /// Row identifier (keeps insertion order).
    #[sea_orm(primary_key)]
    pub(crate) id: i64,
    /// The account.
    pub(crate) account_id: i64,
    /// `SecretKind::as_str` spelling.
    pub(crate) kind: String,
    /// Sealing key version.
    pub(crate) key_version: i64,
    /// AEAD nonce.
    pub(crate) nonce: Vec<u8>,
    /// Ciphertext with tag.
    pub(crate) ciphertext: Vec<u8>,
    /// Unix milliseconds.
    pub(crate) created_at: i64,
}

// Sealed bytes stay out of logs, like `SealedSecret`'s own Debug.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("upstream_secret::Model")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("kind", &self.kind)
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
