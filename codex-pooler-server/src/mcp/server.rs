//! The MCP server: its tools, each a thin call into the module that answers it.
//!
//! Every tool reads the [`Caller`] that [`auth`](super::auth) put in the request's extensions,
//! so each call is scoped by the token of the HTTP request that carries it.

use http::request::Parts;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};

use super::McpState;
use super::args::{
    AuditArg, ExplainRoutingArgs, KeyArg, ListAuditArgs, ListRecordsArgs, ListUpstreamsArgs,
    OperatorArg, PoolArg, PoolFilter, RecordArg, UpstreamArg,
};
use super::outcome::answer;
use super::{audit, keys, operators, pools, records, routing, status, upstreams};
use crate::admin::{ApiError, Caller};

/// The read-only operator MCP server behind `/mcp`.
#[derive(Debug, Clone)]
pub struct OperatorMcp {
    state: McpState,
    tool_router: ToolRouter<Self>,
}

impl OperatorMcp {
    pub(crate) fn new(state: McpState) -> Self {
        Self {
            state,
            tool_router: Self::tool_router(),
        }
    }
}

/// The authenticated caller of the HTTP request (always there behind the bearer check).
fn caller(parts: &Parts) -> Result<Caller, ApiError> {
    parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
        ApiError::unauthorized(
            "missing_token",
            "send an operator token as `Authorization: Bearer <token>`",
        )
    })
}

#[tool_router]
impl OperatorMcp {
    /// Version, uptime, counts in scope, store health.
    #[tool(
        name = "codex_pooler_get_service_status",
        description = "The gateway's version, uptime, whether its store answers, and how many \
                       pools, upstream accounts and Pool API keys the caller can see."
    )]
    async fn get_service_status(&self, Extension(parts): Extension<Parts>) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => status::status(&self.state, &c).await,
            Err(e) => Err(e),
        })
    }

    /// The pools in scope.
    #[tool(
        name = "codex_pooler_list_pools",
        description = "The pools the caller can see: slug, status, strategy, /v1 switch, counts."
    )]
    async fn list_pools(&self, Extension(parts): Extension<Parts>) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => pools::list(&self.state, &c).await,
            Err(e) => Err(e),
        })
    }

    /// One pool.
    #[tool(name = "codex_pooler_get_pool", description = "One pool, by slug.")]
    async fn get_pool(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<PoolArg>,
    ) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => pools::get(&self.state, &c, &args.pool).await,
            Err(e) => Err(e),
        })
    }

    /// Upstream accounts in scope.
    #[tool(
        name = "codex_pooler_list_upstreams",
        description = "Upstream accounts the caller can see: id, label, plan, lifecycle, models, \
                       live quota windows, and routability with reasons in each pool. No \
                       tokens or emails."
    )]
    async fn list_upstreams(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<ListUpstreamsArgs>,
    ) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => upstreams::list(&self.state, &c, args).await,
            Err(e) => Err(e),
        })
    }

    /// One upstream account.
    #[tool(
        name = "codex_pooler_get_upstream",
        description = "One upstream account by id, with live quota and routability."
    )]
    async fn get_upstream(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<UpstreamArg>,
    ) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => upstreams::get(&self.state, &c, args).await,
            Err(e) => Err(e),
        })
    }

    /// A routing dry run.
    #[tool(
        name = "codex_pooler_explain_routing",
        description = "What the router would do now for the next request to a pool and model: \
                       the chosen account, the candidates in order, every excluded account \
                       with its reason, or the refusal. Changes nothing."
    )]
    async fn explain_routing(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<ExplainRoutingArgs>,
    ) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => routing::explain(&self.state, &c, args).await,
            Err(e) => Err(e),
        })
    }

    /// Quota runway.
    #[tool(
        name = "codex_pooler_get_quota_runway",
        description = "How long each pool's quota lasts at the current spend, per window \
                       (short, weekly, monthly); one pool or every pool in scope."
    )]
    async fn get_quota_runway(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<PoolFilter>,
    ) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => routing::runway(&self.state, &c, args).await,
            Err(e) => Err(e),
        })
    }

    /// Pool API keys in scope.
    #[tool(
        name = "codex_pooler_list_pool_api_keys",
        description = "Pool API keys the caller can see: id, pool, name, prefix, status, \
                       expiry, policy. Never a key or its hash."
    )]
    async fn list_pool_api_keys(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<PoolFilter>,
    ) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => keys::list(&self.state, &c, args).await,
            Err(e) => Err(e),
        })
    }

    /// One Pool API key.
    #[tool(
        name = "codex_pooler_get_pool_api_key",
        description = "One Pool API key, by id."
    )]
    async fn get_pool_api_key(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<KeyArg>,
    ) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => keys::get(&self.state, &c, args).await,
            Err(e) => Err(e),
        })
    }

    /// Recent request records in scope.
    #[tool(
        name = "codex_pooler_list_request_records",
        description = "Recent request records the caller can see, newest first: route, model, \
                       status, attempts, latency, token counts, how it ended. Metadata only."
    )]
    async fn list_request_records(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<ListRecordsArgs>,
    ) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => records::list(&self.state, &c, args).await,
            Err(e) => Err(e),
        })
    }

    /// One request record.
    #[tool(
        name = "codex_pooler_get_request_record",
        description = "One recent request record, by the handle list_request_records gives."
    )]
    async fn get_request_record(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<RecordArg>,
    ) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => records::get(&self.state, &c, args).await,
            Err(e) => Err(e),
        })
    }

    /// Audit events in scope.
    #[tool(
        name = "codex_pooler_list_audit_events",
        description = "Audit events the caller can see, newest first, with filters and a cursor."
    )]
    async fn list_audit_events(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<ListAuditArgs>,
    ) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => audit::list(&self.state, &c, args).await,
            Err(e) => Err(e),
        })
    }

    /// One audit event.
    #[tool(
        name = "codex_pooler_get_audit_event",
        description = "One audit event, by id."
    )]
    async fn get_audit_event(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<AuditArg>,
    ) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => audit::get(&self.state, &c, args).await,
            Err(e) => Err(e),
        })
    }

    /// Operators the caller may see.
    #[tool(
        name = "codex_pooler_list_operators",
        description = "Operators: an owner sees every operator, an admin only themself."
    )]
    async fn list_operators(&self, Extension(parts): Extension<Parts>) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => operators::list(&self.state, &c).await,
            Err(e) => Err(e),
        })
    }

    /// One operator.
    #[tool(
        name = "codex_pooler_get_operator",
        description = "One operator, by id."
    )]
    async fn get_operator(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(args): Parameters<OperatorArg>,
    ) -> CallToolResult {
        answer(match caller(&parts) {
            Ok(c) => operators::get(&self.state, &c, args).await,
            Err(e) => Err(e),
        })
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for OperatorMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "codex-pooler",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "Read-only views of a codex-pooler gateway: pools, upstream accounts, routing, \
                 quota, Pool API keys, request records, audit events and operators, limited to \
                 what the calling operator may see.",
            )
    }
}
