//! `GET /metrics`: the gateway's Prometheus metrics, behind an optional bearer token (`--metrics-token-file` or `CODEX_POOLER_METRICS_TOKEN`); `--no-metrics`
//! turns the route off. `/metrics` is not a pooled path, so scraping never counts as traffic.
//!
//! The answer is in the Prometheus text format 0.0.4 (what `promtool check metrics` reads),
//! or in OpenMetrics when the scraper's `Accept` asks for `application/openmetrics-text` (as
//! Prometheus does).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use codex_pooler_tower::metrics::{
    GatewayMetrics, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_TEXT_CONTENT_TYPE, openmetrics_text,
    prometheus_text,
};
use prometheus_client::registry::Registry;
use serde_json::json;

use crate::cli::ServeArgs;
use crate::error::ServerError;

/// The environment variable holding the metrics bearer token (a file named by
/// `--metrics-token-file` wins).
pub const METRICS_TOKEN_ENV: &str = "CODEX_POOLER_METRICS_TOKEN";

/// The `/metrics` route: a registry holding the gateway's families, and the token a scrape
/// must present, if any.
#[derive(Clone)]
pub struct MetricsEndpoint {
    registry: Arc<Registry>,
    token: Option<Arc<str>>,
}

impl fmt::Debug for MetricsEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsEndpoint")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl MetricsEndpoint {
    /// Serves `metrics` (registered here into a registry of its own); with `token`, only to
    /// `Authorization: Bearer <token>`.
    pub fn new(metrics: &GatewayMetrics, token: Option<String>) -> Self {
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        Self {
            registry: Arc::new(registry),
            token: token.map(Arc::from),
        }
    }

    /// The route.
    pub fn router(self) -> Router {
        Router::new()
            .route("/metrics", get(scrape))
            .with_state(self)
    }
}

/// The endpoint of `serve`'s flags: `None` with `--no-metrics`, else over `metrics` with the
/// token of `--metrics-token-file` or [`METRICS_TOKEN_ENV`].
pub(crate) fn endpoint(
    args: &ServeArgs,
    metrics: &GatewayMetrics,
) -> Result<Option<MetricsEndpoint>, ServerError> {
    if args.no_metrics {
        return Ok(None);
    }
    let token = match &args.metrics_token_file {
        Some(path) => Some(read_token(path)?),
        None => std::env::var(METRICS_TOKEN_ENV)
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty()),
    };
    Ok(Some(MetricsEndpoint::new(metrics, token)))
}

fn read_token(path: &Path) -> Result<String, ServerError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ServerError::io(format!("reading {}", path.display()), e))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(ServerError::Usage(format!(
            "--metrics-token-file {}: the file is empty",
            path.display()
        )));
    }
    Ok(token.to_owned())
}

async fn scrape(State(endpoint): State<MetricsEndpoint>, headers: HeaderMap) -> Response {
    if let Some(token) = &endpoint.token
        && !presents(&headers, token)
    {
        return unauthorized();
    }
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    let (encoded, content_type) = if openmetrics {
        (
            openmetrics_text(&endpoint.registry),
            OPENMETRICS_CONTENT_TYPE,
        )
    } else {
        (
            prometheus_text(&endpoint.registry),
            PROMETHEUS_TEXT_CONTENT_TYPE,
        )
    };
    match encoded {
        Ok(text) => ([(header::CONTENT_TYPE, content_type)], text).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "could not encode metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Whether `headers` carry `Authorization: Bearer <token>` (compared in constant time).
fn presents(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (given, token) = (given.trim().as_bytes(), token.as_bytes());
    given.len() == token.len()
        && given
            .iter()
            .zip(token)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// The answer to a scrape without the token.
fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(json!({
            "error": {
                "message": "metrics need `Authorization: Bearer <metrics token>`",
                "type": "authentication_error",
                "code": "invalid_metrics_token",
            }
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            presents(&headers, "s3cret")
        };
        assert!(with("Bearer s3cret"));
        assert!(!with("Bearer s3cre"));
        assert!(!with("Bearer s3cret2"));
        assert!(!with("Basic s3cret"));
        assert!(!presents(&HeaderMap::new(), "s3cret"));
    }
}
