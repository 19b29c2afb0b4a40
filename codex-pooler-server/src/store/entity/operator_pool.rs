//! The `operator_pools` table: which pools an admin is scoped to.

use sea_orm::entity::prelude::*;

/// A row of `operator_pools`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "operator_pools")]
pub(crate) struct Model {
    /// Store identifier.
    #[sea_orm(primary_key)]
    pub(crate) id: i64,
    /// The operator.
    pub(crate) operator_id: i64,
    /// The pool.
    pub(crate) pool_id: i64,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
