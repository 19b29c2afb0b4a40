//! The `pools` table.

use sea_orm::entity::prelude::*;

/// A row of `pools`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pools")]
pub(crate) struct Model {
    /// Store identifier.
    #[sea_orm(primary_key)]
    pub(crate) id: i64,
    /// Unique slug.
    #[sea_orm(unique)]
    pub(crate) slug: String,
    /// `PoolStatus::as_str` spelling.
    pub(crate) status: String,
    /// Routing strategy name; NULL for the gateway's default.
    pub(crate) strategy: Option<String>,
    /// Whether the pool's keys may use `/v1` (default true).
    pub(crate) v1_enabled: bool,
    /// The pool's own busy wait in seconds; NULL for the gateway's.
    pub(crate) busy_wait_secs: Option<i64>,
    /// The pool's own pin wait in seconds; NULL for the gateway's.
    pub(crate) pin_wait_secs: Option<i64>,
    /// Unix milliseconds.
    pub(crate) created_at: i64,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
