//! The `audit_events` table: who changed what, never a secret.

use sea_orm::entity::prelude::*;

/// A row of `audit_events`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub(crate) struct Model {
    /// Store identifier (also the pagination order).
    #[sea_orm(primary_key)]
    pub(crate) id: i64,
    /// Unix milliseconds.
    pub(crate) at_ms: i64,
    /// `ActorKind::as_str` spelling.
    pub(crate) actor_kind: String,
    /// The operator, when an operator acted.
    pub(crate) actor_operator_id: Option<i64>,
    /// The operator's name at the time, or the host user for the CLI.
    pub(crate) actor_name: Option<String>,
    /// What was done (`pool.create`, `key.rotate`, ...).
    pub(crate) action: String,
    /// What kind of thing it was done to.
    pub(crate) target_kind: String,
    /// Which one.
    pub(crate) target_id: Option<String>,
    /// The pool it concerns, for scoping.
    pub(crate) pool_id: Option<i64>,
    /// `Outcome::as_str` spelling.
    pub(crate) outcome: String,
    /// Metadata-only detail (an error code, changed field names).
    pub(crate) detail: Option<String>,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
