//! The HTTP surface: health endpoints, the operator API, and the pooler in front of the rest.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use codex_pooler_tower::{Pooler, PoolerLayer};
use serde_json::json;
use tower::Layer as _;

use super::metrics::MetricsEndpoint;
use crate::admin::{self, AdminState};
use crate::mcp::{self, McpSettings};
use crate::store::SqlStore;

/// The server's router: the operator API (`/admin/api/v1`, `/openapi.json`, the docs page),
/// `/mcp` when `mcp` is given, `/healthz`, `/readyz`, `GET /metrics` when `metrics` is given
/// (not a pooled path: scrapes are not counted as traffic), and the pooled routes answered by
/// [`PoolerLayer`] in front of the rest.
pub fn router(
    admin: AdminState,
    metrics: Option<MetricsEndpoint>,
    mcp: Option<&McpSettings>,
) -> Router {
    let store = admin.store.clone();
    let pooler: Pooler = admin.pooler.clone();
    let mut base = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(store);
    if let Some(metrics) = metrics {
        base = base.merge(metrics.router());
    }
    // The pooler wraps the whole router, so it sees requests for paths no route matches
    // (such as /v1/responses) before the router's 404.
    let pooled = PoolerLayer::new(pooler).layer(base);
    // The operator API and /mcp are outside the pooler: operator tokens never meet the pooled
    // stack. Without --mcp, /mcp is an unknown path like any other.
    let operator = match mcp {
        Some(settings) => admin::router(admin.clone()).merge(mcp::router(admin, settings)),
        None => admin::router(admin),
    };
    operator.fallback_service(pooled)
}

async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(store): State<Arc<SqlStore>>) -> impl IntoResponse {
    match store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "reason": "database"})),
            )
        }
    }
}
