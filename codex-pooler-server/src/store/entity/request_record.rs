//! The `request_records` table: request metadata, append-only.

use sea_orm::entity::prelude::*;

/// A row of `request_records`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "request_records")]
pub(crate) struct Model {
    /// Row identifier (insertion order).
    #[sea_orm(primary_key)]
    pub(crate) id: i64,
    /// Unix milliseconds.
    pub(crate) received_at: i64,
    /// The pool.
    pub(crate) pool_id: i64,
    /// The key.
    pub(crate) key_id: i64,
    /// The serving account.
    pub(crate) account_id: Option<i64>,
    /// Route class.
    pub(crate) route: String,
    /// Requested model.
    pub(crate) model: Option<String>,
    /// Streaming requested.
    pub(crate) stream: bool,
    /// HTTP status.
    pub(crate) status: i32,
    /// Upstream attempts.
    pub(crate) attempts: i64,
    /// Latency in milliseconds.
    pub(crate) latency_ms: i64,
    /// Input tokens.
    pub(crate) input_tokens: Option<i64>,
    /// Cached input tokens.
    pub(crate) cached_input_tokens: Option<i64>,
    /// Output tokens.
    pub(crate) output_tokens: Option<i64>,
    /// Reasoning tokens.
    pub(crate) reasoning_tokens: Option<i64>,
    /// Total tokens.
    pub(crate) total_tokens: Option<i64>,
    /// Pooler error code.
    pub(crate) error_code: Option<String>,
    /// Exclusion reasons.
    pub(crate) exclusions: Option<String>,
    /// The `/v1` parameters dropped, by name.
    pub(crate) dropped_parameters: Option<String>,
    /// How the response ended.
    pub(crate) end: String,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
