//! The routes of the fake backend and what each answers.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, UPGRADE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth;
use super::catalog::{CATALOG_ETAG, catalog};
use super::events::events;
use super::pacing::{Ending, Pacing, paced_body};
use super::quota::QuotaSnapshot;
use super::rejection::Rejection;
use super::state::{FakeState, shut_down};
use super::turn::build_reply;
use super::turn_rules::turn_refusal;

/// The turn-state header the CLI echoes back on later requests of the same turn.
const TURN_STATE_HEADER: &str = "x-codex-turn-state";

/// What a `/responses` body asks for.
#[derive(Debug)]
struct TurnRequest {
    body: Value,
    model: String,
}

/// `POST /backend-api/codex/responses`: one model turn, always as SSE (the backend has no
/// non-streaming answer).
///
/// 1. wait `first_byte_delay`;
/// 2. authenticate (401);
/// 3. parse the body, which must be JSON (400), pass the backend's rules
///    ([`turn_refusal`](crate::turn_refusal): 400 `{"detail": ...}`) and name a `model` (400);
/// 4. answer the injected `fail_status`, else the 429 of an exhausted account;
/// 5. otherwise answer 200 with the SSE stream.
///
/// Every answer to a known account carries its quota headers.
pub(crate) async fn create_response(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let config = state.config();
    if !config.first_byte_delay.is_zero() {
        let mut signal = state.shutdown_signal();
        tokio::select! {
            () = tokio::time::sleep(config.first_byte_delay) => {}
            () = shut_down(&mut signal) => {
                return Rejection::Injected(StatusCode::SERVICE_UNAVAILABLE).into_response();
            }
        }
    }
    let account = match auth::authorize(&state, &headers) {
        Ok(account) => account,
        Err(rejection) => return rejection.into_response(),
    };
    let quota = QuotaSnapshot::of(&account);
    let mut head = quota.headers();
    auth::name_serving_account(&mut head, &account);
    insert(
        &mut head,
        "x-request-id",
        &format!("req_fake_{}", state.next_id()),
    );
    let request = match parse_turn(&headers, &body) {
        Ok(request) => request,
        Err(rejection) => return (head, rejection).into_response(),
    };
    insert(&mut head, "openai-model", &request.model);
    insert(&mut head, "x-models-etag", CATALOG_ETAG);
    let turn_state = match headers.get(TURN_STATE_HEADER) {
        Some(sent) => sent.clone(),
        None => HeaderValue::try_from(format!("fake-turn-state-{}", state.next_id()))
            .unwrap_or(HeaderValue::from_static("fake-turn-state")),
    };
    head.insert(TURN_STATE_HEADER, turn_state);

    if let Some(status) = account.fail_status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (head, Rejection::Injected(status)).into_response();
    }
    if account.usage_limit_reached {
        let rejection = Rejection::UsageLimitReached {
            plan_type: account.plan_type.clone(),
            resets_at: quota.primary_reset_at(),
            resets_in_seconds: quota.primary_reset_after_seconds(),
        };
        return (head, rejection).into_response();
    }
    let Some(slot) = state.open_stream(&account.chatgpt_account_id, account.max_streams) else {
        return (head, Rejection::TooManyStreams).into_response();
    };

    let reply = build_reply(
        state.next_id(),
        &config,
        &account,
        &request.model,
        &request.body,
        body.len(),
    );
    let frames: Vec<Bytes> = events(&reply, config.text_deltas, config.items_only_in_done)
        .iter()
        .map(|event| event.encode())
        .collect();
    let ending = Ending::choose(
        account.stall_after_events.or(config.stall_after_events),
        account.break_after_events.or(config.break_after_events),
        frames.len(),
    );
    let pacing = Pacing {
        chunk_size: config.chunk_size,
        chunk_delay: config.chunk_delay,
    };
    head.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    head.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let body = paced_body(frames, pacing, ending, state.shutdown_signal());
    (head, Body::new(slot.hold_until_end(body))).into_response()
}

/// The body as JSON that passes the backend's rules and names a `model`.
fn parse_turn(headers: &HeaderMap, body: &[u8]) -> Result<TurnRequest, Rejection> {
    if let Some(encoding) = headers.get(CONTENT_ENCODING)
        && !encoding.as_bytes().eq_ignore_ascii_case(b"identity")
    {
        return Err(Rejection::BadRequest(format!(
            "the fake upstream cannot decode content-encoding {}",
            String::from_utf8_lossy(encoding.as_bytes())
        )));
    }
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| Rejection::BadRequest(format!("request body is not valid json: {e}")))?;
    if let Some(detail) = turn_refusal(&body) {
        return Err(Rejection::Refused(detail));
    }
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| Rejection::BadRequest("missing required parameter: 'model'".to_owned()))?
        .to_owned();
    Ok(TurnRequest { body, model })
}

/// `GET /backend-api/codex/responses`: a WebSocket upgrade is refused with 426, which makes the
/// Codex CLI fall back to HTTP at once.
pub(crate) async fn refuse_websocket(headers: HeaderMap) -> Response {
    let upgrade = headers
        .get(UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if upgrade {
        Rejection::UpgradeRequired.into_response()
    } else {
        Rejection::MethodNotAllowed.into_response()
    }
}

/// `GET /backend-api/codex/models`: the model catalog, with an `ETag`.
pub(crate) async fn list_models(State(state): State<FakeState>, headers: HeaderMap) -> Response {
    match auth::authorize(&state, &headers) {
        Ok(_) => (
            [(ETAG, HeaderValue::from_static(CATALOG_ETAG))],
            Json(catalog()),
        )
            .into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// `GET /backend-api/wham/usage`: the calling account's quota snapshot.
pub(crate) async fn usage(State(state): State<FakeState>, headers: HeaderMap) -> Response {
    match auth::authorize(&state, &headers) {
        Ok(account) => Json(QuotaSnapshot::of(&account).usage_payload()).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// `GET /backend-api/wham/accounts/check`: workspace routing discovery in the list form, with
/// the account's configured origin and routing override (`"NO_CONSTRAINT"` when unset).
pub(crate) async fn accounts_check(State(state): State<FakeState>, headers: HeaderMap) -> Response {
    const NO_CONSTRAINT: &str = "NO_CONSTRAINT";
    match auth::authorize(&state, &headers) {
        Ok(account) => Json(json!({
            "accounts": [{
                "id": account.chatgpt_account_id,
                "name": account.label,
                "structure": "personal",
                "workspace_backend_origin": account
                    .workspace_backend_origin
                    .as_deref()
                    .unwrap_or(NO_CONSTRAINT),
                "account_routing_override": account
                    .account_routing_override
                    .as_deref()
                    .unwrap_or(NO_CONSTRAINT),
            }],
            "account_ordering": [account.chatgpt_account_id],
            "default_account_id": account.chatgpt_account_id,
        }))
        .into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// Any other path: 404 with a JSON body.
pub(crate) async fn not_found(request: Request<Body>) -> Response {
    Rejection::NotFound(format!("{} {}", request.method(), request.uri().path())).into_response()
}

/// A known path with the wrong method: 405 with a JSON body.
pub(crate) async fn method_not_allowed() -> Response {
    Rejection::MethodNotAllowed.into_response()
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::try_from(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}
