//! Routes the gateway answers itself: the pool's model catalog, its quota view, workspace
//! routing discovery, and the deterministic 404 for other ChatGPT helper routes.

use codex_pooler_core::body::{PoolBody, full};
use codex_pooler_core::clock::unix_seconds;
use codex_pooler_core::live::PoolCatalog;
use codex_pooler_core::model::UpstreamAccount;
use codex_pooler_core::quota::{QuotaView, WindowKind, WindowView};
use codex_pooler_core::request::PoolContext;
use codex_pooler_core::request::{Route, RouteClass, RouteFamily};
use http::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::{Value, json};

use crate::pooler::MODELS_ETAG_HEADER;
use crate::pooler::Shared;

/// Answers a local route for an authenticated key.
pub(super) fn answer(
    shared: &Shared,
    ctx: PoolContext,
    route: Route,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Response<PoolBody> {
    tracing::debug!(route = route.class.as_str(), "answered by the gateway");
    match route.class {
        RouteClass::Models if route.family == RouteFamily::OpenAiV1 => {
            json_response(StatusCode::OK, &openai_models(shared, ctx))
        }
        RouteClass::Models => models(shared, ctx, headers),
        RouteClass::Usage if route.family == RouteFamily::OpenAiV1 => {
            match super::v1_usage::v1_usage(shared, ctx, query) {
                Ok(usage) => json_response(StatusCode::OK, &usage),
                Err(err) => err.to_response(),
            }
        }
        RouteClass::Usage => json_response(StatusCode::OK, &usage(shared, ctx)),
        RouteClass::AccountsCheck => json_response(StatusCode::OK, &accounts_check(headers)),
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": {
                "message": "Not Found",
                "type": "invalid_request_error",
                "code": "not_found",
                "param": null,
            }}),
        ),
    }
}

/// The pool's catalog as the key may see it ([`key_catalog`]), in the OpenAI list shape of
/// `GET /v1/models`: `id`, `object`, `owned_by` and the `context_length` upstream advertises.
fn openai_models(shared: &Shared, ctx: PoolContext) -> Value {
    let models: Vec<Value> = key_catalog(shared, ctx)
        .0
        .models
        .iter()
        .filter_map(|entry| {
            let id = entry.get("slug").and_then(Value::as_str)?;
            let mut model = json!({
                "id": id,
                "object": "model",
                "created": 0,
                "owned_by": "codex-pooler",
            });
            if let Some(window) = entry.get("context_window").and_then(Value::as_u64) {
                model["context_length"] = json!(window);
            }
            Some(model)
        })
        .collect();
    json!({"object": "list", "data": models})
}

/// The pool's catalog with only the models the key's policy allows, and whether the policy
/// narrowed it.
fn key_catalog(shared: &Shared, ctx: PoolContext) -> (PoolCatalog, bool) {
    let snapshot = shared.snapshot.load();
    let mut catalog = shared
        .models_etags
        .catalog(&snapshot, &shared.live, ctx.pool);
    let policy = snapshot
        .key(ctx.key)
        .map(|k| &k.policy)
        .filter(|p| p.restricts_models());
    if let Some(policy) = policy {
        catalog.models.retain(|entry| {
            entry
                .get("slug")
                .and_then(Value::as_str)
                .is_some_and(|slug| policy.allows_model(slug))
        });
    }
    (catalog, policy.is_some())
}

/// `GET /models`: the union of the pool's routable accounts' catalogs, with a deterministic
/// ETag (also as `x-models-etag`); `If-None-Match` with the same ETag answers 304.
///
/// A key with model rules sees only the models it may use. Its list still carries the pool's
/// ETag (the one every answer's `x-models-etag` names, so clients do not refetch each turn),
/// but is never answered 304: a changed policy shows at the client's next fetch.
fn models(shared: &Shared, ctx: PoolContext, headers: &HeaderMap) -> Response<PoolBody> {
    let (catalog, ruled) = key_catalog(shared, ctx);
    let etag = HeaderValue::from_str(&catalog.etag).ok();
    let unchanged = !ruled
        && headers
            .get(IF_NONE_MATCH)
            .zip(etag.as_ref())
            .is_some_and(|(sent, ours)| sent == ours);
    let mut response = if unchanged {
        let mut r = Response::new(full(bytes::Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        json_response(StatusCode::OK, &json!({ "models": catalog.models }))
    };
    if let Some(etag) = etag {
        response.headers_mut().insert(ETAG, etag.clone());
        response.headers_mut().insert(MODELS_ETAG_HEADER, etag);
    }
    response
}

/// `GET /wham/usage`: the pool's quota as one account would report it, in the upstream shape.
fn usage(shared: &Shared, ctx: PoolContext) -> Value {
    let quota = pool_quota(shared, ctx);
    let mut payload = json!({
        "plan_type": quota.plan,
        "rate_limit": {
            "allowed": quota.allowed,
            "limit_reached": quota.limit_reached,
            "primary_window": quota.primary,
            "secondary_window": quota.secondary,
        },
    });
    // A monthly window is shown as `tertiary_window`, whichever slot upstream reported it in:
    // windows are placed by length, short as primary and weekly as secondary, as the client
    // reads them.
    if !quota.tertiary.is_null() {
        payload["rate_limit"]["tertiary_window"] = quota.tertiary;
    }
    payload
}

/// The pool's quota as its best routable account reports it.
pub(super) struct PoolQuota {
    /// The account's plan type (`pool` when unknown).
    pub(super) plan: String,
    /// Whether requests are being served.
    pub(super) allowed: bool,
    /// Whether every routable account is exhausted.
    pub(super) limit_reached: bool,
    /// The short (5 h) window, or null.
    pub(super) primary: Value,
    /// The weekly window, or null.
    pub(super) secondary: Value,
    /// The monthly window (free plans, some Team plans, the third window of others), or null.
    pub(super) tertiary: Value,
}

/// The pool reports its best routable account: the one with the most headroom (accounts with
/// evidence before accounts without). `limit_reached` is true only when every routable account
/// is exhausted, which is when requests stop being served.
pub(super) fn pool_quota(shared: &Shared, ctx: PoolContext) -> PoolQuota {
    let snapshot = shared.snapshot.load();
    let now = shared.clock.now();
    let views: Vec<(&UpstreamAccount, QuotaView)> = snapshot
        .pool_accounts(ctx.pool)
        .iter()
        .filter(|a| a.lifecycle.is_routable())
        .map(|a| (a.as_ref(), shared.live.quota_view(a.id, now)))
        .collect();
    let all_exhausted = !views.is_empty() && views.iter().all(|(_, v)| v.is_exhausted());
    let best = views
        .iter()
        .filter(|(_, v)| !v.is_exhausted() || all_exhausted)
        .max_by(|(_, a), (_, b)| {
            (a.known, a.remaining_percent())
                .partial_cmp(&(b.known, b.remaining_percent()))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    let window = |view: &QuotaView, kind: WindowKind, seconds: u64| {
        view.windows
            .iter()
            .find(|w| w.kind == kind)
            .map_or(Value::Null, |w| window_json(w, seconds, now))
    };
    let (plan, primary, secondary, tertiary) = match best {
        Some((account, view)) => (
            account
                .plan_type
                .clone()
                .unwrap_or_else(|| "pool".to_owned()),
            window(view, WindowKind::Short, 300 * 60),
            window(view, WindowKind::Weekly, 10_080 * 60),
            window(view, WindowKind::Monthly, 43_200 * 60),
        ),
        None => ("pool".to_owned(), Value::Null, Value::Null, Value::Null),
    };
    PoolQuota {
        plan,
        allowed: !views.is_empty() && !all_exhausted,
        limit_reached: all_exhausted,
        primary,
        secondary,
        tertiary,
    }
}

fn window_json(w: &WindowView, window_seconds: u64, now: std::time::SystemTime) -> Value {
    let reset_at = w.resets_at.map(unix_seconds);
    let reset_after = w
        .resets_at
        .map(|at| at.duration_since(now).unwrap_or_default().as_secs());
    json!({
        // The CLI reads whole percents.
        "used_percent": w.used_percent.round().clamp(0.0, 100.0) as i64,
        "limit_window_seconds": window_seconds,
        "reset_after_seconds": reset_after,
        "reset_at": reset_at,
    })
}

/// `GET /wham/accounts/check`: the workspace routing discovery ChatGPT-auth clients require
/// before model traffic. The gateway is the only origin the client should use, so the answer
/// names the caller's account with no routing constraint.
fn accounts_check(headers: &HeaderMap) -> Value {
    let id = headers
        .get("chatgpt-account-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .unwrap_or("codex-pooler");
    json!({
        "accounts": [{
            "id": id,
            "workspace_backend_origin": "NO_CONSTRAINT",
            "account_routing_override": "NO_CONSTRAINT",
        }],
        "account_ordering": [id],
        "default_account_id": id,
    })
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response<PoolBody> {
    let mut response = Response::new(full(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
