//! `GET /v1/usage`: the calling key's use, its limits with their current use, and the pool's
//! upstream quota windows, answered from memory.
//!
//! The answer (every count is since the gateway process started; a restart starts from zero):
//!
//! ```json
//! {
//!   "object": "usage",
//!   "request_count": 3,
//!   "input_tokens": 120, "cached_input_tokens": 64, "output_tokens": 30, "total_tokens": 150,
//!   "limits": [
//!     {"name": "requests_per_minute", "limit": 60, "used": 1, "remaining": 59, "window_seconds": 60},
//!     {"name": "tokens_per_day", "limit": 100000, "used": 150, "remaining": 99850, "window_seconds": 86400},
//!     {"name": "tokens_per_week", "limit": 500000, "used": 150, "remaining": 499850, "window_seconds": 604800},
//!     {"name": "input_tokens_per_request", "limit": 8000, "used": null, "remaining": null, "window_seconds": null}
//!   ],
//!   "upstream_limits": [
//!     {"name": "primary", "used_percent": 40, "limit_window_seconds": 18000, "reset_after_seconds": 600, "reset_at": 1795500600},
//!     {"name": "secondary", "used_percent": 10, "limit_window_seconds": 604800, "reset_after_seconds": 86400, "reset_at": 1795586400}
//!   ],
//!   "upstream_limit_reached": false
//! }
//! ```
//!
//! `limits` lists only the limits the key has. `upstream_limits` are the pool's windows as its
//! best routable account reports them (the same evidence as `/wham/usage`), without any account
//! identity. Any query parameter answers 400 `unsupported_parameter`.

use codex_pooler_core::error::{ErrorCode, ErrorType, PoolerError};
use codex_pooler_core::request::PoolContext;
use http::StatusCode;
use serde_json::{Value, json};

use super::answer::pool_quota;
use crate::pooler::Shared;

/// The longest query parameter name echoed back in an error.
const MAX_PARAM_ECHO: usize = 64;

/// The `/v1/usage` answer for the calling key, or the refusal of a query parameter.
pub(super) fn v1_usage(
    shared: &Shared,
    ctx: PoolContext,
    query: Option<&str>,
) -> Result<Value, PoolerError> {
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        return Err(query_refused(query));
    }
    let now = shared.clock.now();
    let totals = shared.live.key_totals(ctx.key);
    let used = shared.live.key_meter_use(ctx.key, now);
    let snapshot = shared.snapshot.load();
    let limits = snapshot
        .key(ctx.key)
        .map(|k| k.policy.limits)
        .unwrap_or_default();
    let metered = [
        (
            "requests_per_minute",
            limits.requests_per_minute.map(u64::from),
            used.requests_last_minute,
            60,
        ),
        (
            "tokens_per_day",
            limits.tokens_per_day,
            used.tokens_last_day,
            86_400,
        ),
        (
            "tokens_per_week",
            limits.tokens_per_week,
            used.tokens_last_week,
            604_800,
        ),
    ];
    let mut listed: Vec<Value> = metered
        .into_iter()
        .filter_map(|(name, limit, used, window)| {
            let limit = limit?;
            Some(json!({
                "name": name,
                "limit": limit,
                "used": used,
                "remaining": limit.saturating_sub(used),
                "window_seconds": window,
            }))
        })
        .collect();
    if let Some(limit) = limits.input_tokens_per_request {
        listed.push(json!({
            "name": "input_tokens_per_request",
            "limit": limit,
            "used": null,
            "remaining": null,
            "window_seconds": null,
        }));
    }
    let quota = pool_quota(shared, ctx);
    let upstream: Vec<Value> = [
        ("primary", quota.primary),
        ("secondary", quota.secondary),
        ("tertiary", quota.tertiary),
    ]
    .into_iter()
    .filter_map(|(name, window)| {
        let Value::Object(mut window) = window else {
            return None;
        };
        window.insert("name".to_owned(), name.into());
        Some(Value::Object(window))
    })
    .collect();
    Ok(json!({
        "object": "usage",
        "request_count": totals.request_count,
        "input_tokens": totals.input_tokens,
        "cached_input_tokens": totals.cached_input_tokens,
        "output_tokens": totals.output_tokens,
        "total_tokens": totals.total_tokens,
        "limits": listed,
        "upstream_limits": upstream,
        "upstream_limit_reached": quota.limit_reached,
    }))
}

/// 400 `unsupported_parameter` naming the query's first parameter.
fn query_refused(query: &str) -> PoolerError {
    let first = query.split('&').next().unwrap_or_default();
    let name: String = first
        .split('=')
        .next()
        .unwrap_or_default()
        .chars()
        .take(MAX_PARAM_ECHO)
        .collect();
    PoolerError::new(
        StatusCode::BAD_REQUEST,
        ErrorType::InvalidRequestError,
        ErrorCode::UnsupportedParameter,
        format!("Unsupported parameter: {name}"),
    )
    .with_param(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_parameter_is_refused_by_name() {
        let err = query_refused("start_time=1&limit=2");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            err.body(),
            json!({"error": {
                "message": "Unsupported parameter: start_time",
                "type": "invalid_request_error",
                "code": "unsupported_parameter",
                "param": "start_time",
            }})
        );
        let long = "a".repeat(200);
        assert_eq!(
            query_refused(&long).body()["error"]["param"]
                .as_str()
                .map(str::len),
            Some(MAX_PARAM_ECHO)
        );
    }
}
