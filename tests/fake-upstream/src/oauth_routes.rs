//! The HTTP side of the fake OAuth server: `POST /oauth/token` and the device-code endpoints.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::oauth::{self, Answer};
use super::quota::epoch_seconds;
use super::state::FakeState;

/// `POST /oauth/token`: a JSON `refresh_token` grant, or a form `authorization_code` grant.
pub(crate) async fn token(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let now = epoch_seconds();
    if form {
        let fields = oauth::parse_form(&body);
        return answer(&state, |c| oauth::exchange(c, &fields, now));
    }
    let Ok(json) = serde_json::from_slice::<Value>(&body) else {
        return reply((400, json!({"error": "invalid_request"})));
    };
    match json.get("grant_type").and_then(Value::as_str) {
        Some("refresh_token") => {
            let delay = state.config().oauth.refresh_delay;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            answer(&state, |c| oauth::refresh(c, &json, now))
        }
        _ => reply((400, json!({"error": "unsupported_grant_type"}))),
    }
}

/// `POST /api/accounts/deviceauth/usercode`.
pub(crate) async fn device_user_code(State(state): State<FakeState>, body: Bytes) -> Response {
    let json = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    answer(&state, |c| oauth::user_code(c, &json))
}

/// `POST /api/accounts/deviceauth/token`.
pub(crate) async fn device_token(State(state): State<FakeState>, body: Bytes) -> Response {
    let json = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    answer(&state, |c| oauth::poll(c, &json))
}

/// Runs `f` on the configuration under its lock and renders its answer.
fn answer(state: &FakeState, f: impl FnOnce(&mut super::config::FakeConfig) -> Answer) -> Response {
    let mut out = None;
    state.update_config(|config| out = Some(f(config)));
    reply(out.unwrap_or((500, Value::Null)))
}

fn reply((status, body): Answer) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(body)).into_response()
}
