//! The `pool_api_keys` table: key prefixes and keyed hashes, never plaintext keys.

use sea_orm::entity::prelude::*;

/// A row of `pool_api_keys`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pool_api_keys")]
pub(crate) struct Model {
    /// Store identifier.
    #[sea_orm(primary_key)]
    pub(crate) id: i64,
    /// The pool.
    pub(crate) pool_id: i64,
    /// Operator name.
    pub(crate) name: String,
    /// Unique public prefix.
    #[sea_orm(unique)]
    pub(crate) prefix: String,
    /// 32-byte keyed hash.
    pub(crate) hash: Vec<u8>,
    /// The version of the hashing key that made `hash`.
    pub(crate) key_version: i64,
    /// `KeyStatus::as_str` spelling.
    pub(crate) status: String,
    /// Unix milliseconds.
    pub(crate) expires_at: Option<i64>,
    /// Unix milliseconds.
    pub(crate) created_at: i64,
    /// `KeyPolicy` as compact JSON; NULL when the key has no rules.
    pub(crate) policy: Option<String>,
    /// The 32-byte keyed hash of the secret before the last rotation, while it is accepted.
    pub(crate) previous_hash: Option<Vec<u8>>,
    /// The version of the hashing key that made `previous_hash`.
    pub(crate) previous_key_version: Option<i64>,
    /// When `previous_hash` stops being accepted, unix milliseconds.
    pub(crate) previous_until: Option<i64>,
}

// The hash has no business in logs, like `PoolApiKey`'s own Debug.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("pool_api_key::Model")
            .field("id", &self.id)
            .field("pool_id", &self.pool_id)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("key_version", &self.key_version)
            .field("status", &self.status)
            .field("policy", &self.policy)
            .field("previous_key_version", &self.previous_key_version)
            .field("previous_until", &self.previous_until)
            .finish_non_exhaustive()
    }
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
