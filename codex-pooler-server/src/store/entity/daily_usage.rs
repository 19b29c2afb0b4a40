//! The `daily_usage` table: request counts and token sums per UTC day, pool, key and model.

use sea_orm::entity::prelude::*;

/// A row of `daily_usage`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "daily_usage")]
pub(crate) struct Model {
    /// Row identifier.
    #[sea_orm(primary_key)]
    pub(crate) id: i64,
    /// Days since 1970-01-01 (UTC).
    pub(crate) day: i64,
    /// The pool.
    pub(crate) pool_id: i64,
    /// The key.
    pub(crate) key_id: i64,
    /// Requested model; empty when the request named none.
    pub(crate) model: String,
    /// Requests.
    pub(crate) requests: i64,
    /// Requests answered with a status of 400 or more.
    pub(crate) errors: i64,
    /// Input tokens.
    pub(crate) input_tokens: i64,
    /// Cached input tokens.
    pub(crate) cached_input_tokens: i64,
    /// Output tokens.
    pub(crate) output_tokens: i64,
    /// Reasoning tokens.
    pub(crate) reasoning_tokens: i64,
    /// Total tokens.
    pub(crate) total_tokens: i64,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
