//! The `hashing_keys` table: the hashing keys of older key versions, sealed under a current
//! secret key, so Pool API key hashes made with them still verify after a rotation.

use sea_orm::entity::prelude::*;

/// A row of `hashing_keys`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "hashing_keys")]
pub(crate) struct Model {
    /// The hashing key's version (`pool_api_keys.key_version` of the hashes it checks).
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) version: i64,
    /// The version of the secret key that seals it.
    pub(crate) key_version: i64,
    /// AEAD nonce.
    pub(crate) nonce: Vec<u8>,
    /// Ciphertext with tag.
    pub(crate) ciphertext: Vec<u8>,
    /// Unix milliseconds.
    pub(crate) created_at: i64,
}

// Sealed bytes stay out of logs.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("hashing_key::Model")
            .field("version", &self.version)
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
