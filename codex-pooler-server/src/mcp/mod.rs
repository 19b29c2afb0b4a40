//! `/mcp`: a read-only Model Context Protocol endpoint for operators (Streamable HTTP).
//!
//! Off unless `serve --mcp` turns it on. Every request carries
//! `Authorization: Bearer <operator MCP token>` (`cxp-mcp-...`), checked against the store on
//! each request (`auth.rs`), so a revoked token stops working at once. The tools answer metadata
//! only, scoped like the REST API: an admin sees only their pools, and anything else is "not
//! found". rmcp refuses a `Host` header outside the loopback names and `--mcp-allowed-host`.
//! See `docs/mcp.md`.

mod args;
mod audit;
mod auth;
mod keys;
mod operators;
mod outcome;
mod pools;
mod records;
mod routing;
mod server;
mod status;
mod upstreams;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::admin::AdminState;

pub use server::OperatorMcp;

/// Where the endpoint lives.
pub const MCP_PATH: &str = "/mcp";

/// The `Host` names always allowed: loopback.
pub const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// How `/mcp` is served.
#[derive(Debug, Clone, Default)]
pub struct McpSettings {
    /// Extra `Host` names (or `host:port`) accepted beside [`LOOPBACK_HOSTS`].
    pub allowed_hosts: Vec<String>,
}

impl McpSettings {
    /// Every `Host` the endpoint accepts.
    pub fn hosts(&self) -> Vec<String> {
        LOOPBACK_HOSTS
            .iter()
            .map(|h| (*h).to_owned())
            .chain(self.allowed_hosts.iter().cloned())
            .collect()
    }
}

/// What the tools reach: the operator API's state and when the server started.
#[derive(Debug, Clone)]
pub(crate) struct McpState {
    pub(crate) admin: AdminState,
    pub(crate) started: Arc<Instant>,
}

/// The `/mcp` route: the bearer check in front of rmcp's Streamable HTTP service.
///
/// Requests are stateless (no MCP session is kept between them), so every request stands on
/// its own token and any replica can answer it.
pub fn router(admin: AdminState, settings: &McpSettings) -> Router {
    let state = McpState {
        admin: admin.clone(),
        started: Arc::new(Instant::now()),
    };
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(settings.hosts())
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None);
    let service = StreamableHttpService::new(
        move || Ok(OperatorMcp::new(state.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .route_service(MCP_PATH, service)
        .layer(axum::middleware::from_fn_with_state(
            admin,
            auth::require_mcp_token,
        ))
}
