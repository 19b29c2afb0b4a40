//! The `operator_tokens` table: prefixes and keyed hashes, never plaintext tokens.

use sea_orm::entity::prelude::*;

/// A row of `operator_tokens`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "operator_tokens")]
pub(crate) struct Model {
    /// Store identifier.
    #[sea_orm(primary_key)]
    pub(crate) id: i64,
    /// Whose token it is.
    pub(crate) operator_id: i64,
    /// `TokenKind::as_str` spelling.
    pub(crate) kind: String,
    /// A label chosen by its creator.
    pub(crate) label: String,
    /// Unique public prefix.
    #[sea_orm(unique)]
    pub(crate) prefix: String,
    /// 32-byte keyed hash of the whole token.
    pub(crate) hash: Vec<u8>,
    /// The version of the hashing key that made `hash`.
    pub(crate) key_version: i64,
    /// Unix milliseconds.
    pub(crate) created_at: i64,
    /// Unix milliseconds.
    pub(crate) expires_at: Option<i64>,
    /// Unix milliseconds.
    pub(crate) revoked_at: Option<i64>,
}

// The hash has no business in logs.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("operator_token::Model")
            .field("id", &self.id)
            .field("operator_id", &self.operator_id)
            .field("kind", &self.kind)
            .field("label", &self.label)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
