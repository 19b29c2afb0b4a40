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

use crate::admin::{self, AdminState};
use crate::store::SqlStore;

/// The server's router: the operator API (`/admin/api/v1`, `/openapi.json`, the docs page),
/// `/healthz`, `/readyz`, and the pooled routes answered by [`PoolerLayer`] in front of the rest.
pub fn router(admin: AdminState) -> Router {
    let store = admin.store.clone();
    let pooler: Pooler = admin.pooler.clone();
    let base = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(store);
    // The pooler wraps the whole router, so it sees requests for paths no route matches
    // (such as /v1/responses) before the router's 404.
    let pooled = PoolerLayer::new(pooler).layer(base);
    // The operator API is outside the pooler: operator tokens never meet the pooled stack.
    admin::router(admin).fallback_service(pooled)
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
