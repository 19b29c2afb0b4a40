//! The tools' inputs, with the JSON schemas MCP clients read.

use rmcp::schemars::JsonSchema;
use serde::Deserialize;

/// A pool, by slug.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct PoolArg {
    /// The pool's slug.
    pub(crate) pool: String,
}

/// An optional pool filter.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct PoolFilter {
    /// Only this pool (slug); every pool in scope when absent.
    #[serde(default)]
    pub(crate) pool: Option<String>,
}

/// Upstream accounts to list.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct ListUpstreamsArgs {
    /// Only accounts of this pool (slug).
    #[serde(default)]
    pub(crate) pool: Option<String>,
    /// Explain routability for this model; each account's first model when absent.
    #[serde(default)]
    pub(crate) model: Option<String>,
}

/// One upstream account.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct UpstreamArg {
    /// The account's id (as `list_upstreams` gives it).
    pub(crate) upstream: i64,
    /// Explain routability for this model; the account's first model when absent.
    #[serde(default)]
    pub(crate) model: Option<String>,
}

/// A routing dry run.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct ExplainRoutingArgs {
    /// The pool's slug.
    pub(crate) pool: String,
    /// The model the request would name.
    #[serde(default)]
    pub(crate) model: Option<String>,
    /// The route class: `responses` (default), `compact`, `models`, ...
    #[serde(default)]
    pub(crate) route_class: Option<String>,
    /// The keyless request's random seed (default 0).
    #[serde(default)]
    pub(crate) seed: Option<u64>,
}

/// One Pool API key.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct KeyArg {
    /// The key's id (as `list_pool_api_keys` gives it).
    pub(crate) key: i64,
}

/// Recent request records to list.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct ListRecordsArgs {
    /// Only this pool's records (slug).
    #[serde(default)]
    pub(crate) pool: Option<String>,
    /// At most this many, newest first (1-500, default 50).
    #[serde(default)]
    pub(crate) limit: Option<u64>,
}

/// One request record.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct RecordArg {
    /// The record's handle (as `list_request_records` gives it).
    pub(crate) record: String,
}

/// Audit events to list.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct ListAuditArgs {
    /// Only this pool's events (slug).
    #[serde(default)]
    pub(crate) pool: Option<String>,
    /// Only this action (`pool.create`, `key.rotate`, ...).
    #[serde(default)]
    pub(crate) action: Option<String>,
    /// Only this operator's actions (id).
    #[serde(default)]
    pub(crate) operator: Option<i64>,
    /// RFC 3339: only events at or after.
    #[serde(default)]
    pub(crate) since: Option<String>,
    /// RFC 3339: only events before.
    #[serde(default)]
    pub(crate) until: Option<String>,
    /// Rows per page: 1-500, default 50.
    #[serde(default)]
    pub(crate) limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    pub(crate) cursor: Option<String>,
}

/// One audit event.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct AuditArg {
    /// The event's id.
    pub(crate) event: i64,
}

/// One operator.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(crate) struct OperatorArg {
    /// The operator's id.
    pub(crate) operator: i64,
}
