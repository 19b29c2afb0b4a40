//! The `quota_windows` table: the latest quota reading per account and window kind.

use sea_orm::entity::prelude::*;

/// A row of `quota_windows`; `(account_id, kind)` is the key.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "quota_windows")]
pub(crate) struct Model {
    /// The account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) account_id: i64,
    /// `WindowKind::as_str` spelling.
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) kind: String,
    /// `WindowSlot::as_str` spelling.
    pub(crate) slot: String,
    /// Percent used.
    pub(crate) used_percent: f64,
    /// Window length in minutes.
    pub(crate) window_minutes: Option<i32>,
    /// Unix milliseconds.
    pub(crate) resets_at: Option<i64>,
    /// `EvidenceSource::as_str` spelling.
    pub(crate) source: String,
    /// Unix milliseconds.
    pub(crate) observed_at: i64,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
