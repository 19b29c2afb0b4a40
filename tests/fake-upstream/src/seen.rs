//! The request log: what each request that reached the fake looked like on the wire.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth;
use super::rejection::Rejection;
use super::state::FakeState;

/// The header a client sends when workspace routing discovery named a routing override.
pub const ROUTING_OVERRIDE_HEADER: &str = "x-openai-account-routing-override";

/// The largest request body the fake accepts (Codex prompts are tens of KB; this is generous).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// One request as the fake received it, so tests can check a gateway forwarded it unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenRequest {
    /// The HTTP method, e.g. `"POST"`.
    pub method: String,
    /// The path without the query, e.g. `"/backend-api/codex/responses"`.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// The `chatgpt-account-id` header, if sent.
    pub chatgpt_account_id: Option<String>,
    /// Whether `Authorization: Bearer <token>` matched the access token of the named account.
    pub authorized: bool,
    /// The `x-openai-account-routing-override` header (workspace routing), if sent.
    pub routing_override: Option<String>,
    /// Every request header in arrival order, names lowercase (values decoded lossily as UTF-8).
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, if it was JSON.
    pub body: Option<serde_json::Value>,
    /// The body bytes exactly as received.
    pub raw_body: Bytes,
}

impl SeenRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Middleware recording every request in the state's log before the handler runs.
///
/// The body is read whole here (requests are small) and handed on to the handler unchanged.
pub(crate) async fn record(
    State(state): State<FakeState>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(raw_body) = to_bytes(body, MAX_BODY_BYTES).await else {
        return Rejection::PayloadTooLarge.into_response();
    };
    let chatgpt_account_id = parts
        .headers
        .get(auth::ACCOUNT_ID_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let routing_override = parts
        .headers
        .get(ROUTING_OVERRIDE_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    state.record(SeenRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        chatgpt_account_id,
        authorized: auth::authorize(&state, &parts.headers).is_ok(),
        routing_override,
        headers,
        body: serde_json::from_slice(&raw_body).ok(),
        raw_body: raw_body.clone(),
    });
    next.run(Request::from_parts(parts, Body::from(raw_body)))
        .await
}
