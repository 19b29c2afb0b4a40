//! The `quota_accounts` table: account-level quota evidence (a `usage_limit_reached`
//! exhaustion, credits).

use sea_orm::entity::prelude::*;

/// A row of `quota_accounts`, one per account with such evidence.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "quota_accounts")]
pub(crate) struct Model {
    /// The account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) account_id: i64,
    /// Unix milliseconds: the account is out until then.
    pub(crate) exhausted_until: Option<i64>,
    /// `EvidenceSource::as_str` spelling of the exhaustion's source.
    pub(crate) limit_source: Option<String>,
    /// Unix milliseconds.
    pub(crate) limit_observed_at: Option<i64>,
    /// Credits left.
    pub(crate) has_credits: Option<bool>,
    /// Unlimited credits.
    pub(crate) credits_unlimited: Option<bool>,
    /// The balance as upstream sent it.
    pub(crate) credits_balance: Option<String>,
    /// `EvidenceSource::as_str` spelling of the credits' source.
    pub(crate) credits_source: Option<String>,
    /// Unix milliseconds.
    pub(crate) credits_observed_at: Option<i64>,
    /// Unix milliseconds of the write.
    pub(crate) updated_at: i64,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
