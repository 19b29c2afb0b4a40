//! The `operators` table.

use sea_orm::entity::prelude::*;

/// A row of `operators`.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "operators")]
pub(crate) struct Model {
    /// Store identifier.
    #[sea_orm(primary_key)]
    pub(crate) id: i64,
    /// Unique name.
    #[sea_orm(unique)]
    pub(crate) name: String,
    /// `Role::as_str` spelling.
    pub(crate) role: String,
    /// `OperatorStatus::as_str` spelling.
    pub(crate) status: String,
    /// An argon2 PHC string, when a dashboard password is set.
    pub(crate) password_hash: Option<String>,
    /// Unix milliseconds.
    pub(crate) created_at: i64,
}

// The password hash has no business in logs.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("operator::Model")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
