//! The `pool_assignments` table: which accounts serve which pools.

use sea_orm::entity::prelude::*;

/// A row of `pool_assignments`; `(pool_id, account_id)` is unique.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pool_assignments")]
pub(crate) struct Model {
    /// Row identifier (keeps insertion order).
    #[sea_orm(primary_key)]
    pub(crate) id: i64,
    /// The pool.
    pub(crate) pool_id: i64,
    /// The account.
    pub(crate) account_id: i64,
    /// Unix milliseconds.
    pub(crate) created_at: i64,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
