//! The `config_version` table: a single row counting configuration writes.

use sea_orm::entity::prelude::*;

/// The id of the only row.
pub(crate) const ROW_ID: i32 = 1;

/// The row of `config_version`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "config_version")]
pub(crate) struct Model {
    /// Always [`ROW_ID`].
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: i32,
    /// Bumped in the same transaction as every configuration write.
    pub(crate) version: i64,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
