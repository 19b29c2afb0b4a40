//! The `upstream_accounts` table: account metadata (secrets are in `upstream_secrets`).

use sea_orm::entity::prelude::*;

/// A row of `upstream_accounts`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "upstream_accounts")]
pub(crate) struct Model {
    /// Store identifier.
    #[sea_orm(primary_key)]
    pub(crate) id: i64,
    /// Operator label.
    pub(crate) label: String,
    /// ChatGPT account id.
    pub(crate) chatgpt_account_id: String,
    /// ChatGPT user id.
    pub(crate) user_id: Option<String>,
    /// Email.
    pub(crate) email: Option<String>,
    /// Plan type.
    pub(crate) plan_type: Option<String>,
    /// Per-account upstream origin.
    pub(crate) base_url: Option<String>,
    /// `Lifecycle::as_str` spelling.
    pub(crate) lifecycle: String,
    /// Served models as a JSON array of strings.
    pub(crate) models: String,
    /// Unix milliseconds.
    pub(crate) created_at: i64,
    /// Unix milliseconds.
    pub(crate) updated_at: i64,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
