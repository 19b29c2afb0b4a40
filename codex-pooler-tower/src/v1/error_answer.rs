//! Upstream refusals answered before any streaming, in the OpenAI error shape for `/v1`
//! clients.
//!
//! The Codex backend refuses a turn with `{"detail": "…"}` (`Store must be set to false`,
//! `Unsupported parameter: …`, a model it does not serve), which an OpenAI SDK cannot read as
//! an error. A `/v1` answer with an error status whose body holds no `error` object is
//! rewritten to `{"error": {"message", "type", "code": "upstream_error", "param": null}}`,
//! with the status kept: the message is the backend's `detail` (its own validation text,
//! bounded), or `upstream request failed` when there is none; the type is
//! `invalid_request_error` for a 4xx and `server_error` otherwise. Bodies already in the
//! OpenAI shape (the gateway's own errors, upstream's `error` objects) pass untouched.

use bytes::Bytes;
use codex_pooler_core::body::{PoolBody, full};
use codex_pooler_core::translate::sanitize::{FAILED_MESSAGE, FALLBACK_CODE};
use http::Response;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http_body_util::BodyExt;
use serde_json::{Value, json};

/// The largest upstream error body read; a longer one is answered with the generic message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Bound on a passed-on `detail`, in characters.
const MAX_DETAIL_CHARS: usize = 2_000;

/// `response` (an error status) with its body in the OpenAI error shape.
pub(super) async fn shaped(response: Response<PoolBody>) -> Response<PoolBody> {
    let (mut parts, body) = response.into_parts();
    let bytes = read_bounded(body).await.unwrap_or_default();
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    if parsed
        .as_ref()
        .is_some_and(|v| v.get("error").is_some_and(Value::is_object))
    {
        return Response::from_parts(parts, full(bytes));
    }
    let detail = parsed
        .as_ref()
        .and_then(|v| v.get("detail"))
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
        .map_or_else(
            || FAILED_MESSAGE.to_owned(),
            |d| d.chars().take(MAX_DETAIL_CHARS).collect(),
        );
    let kind = if parts.status.is_client_error() {
        "invalid_request_error"
    } else {
        "server_error"
    };
    let body = json!({"error": {"message": detail, "type": kind, "code": FALLBACK_CODE,
        "param": null}});
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, full(Bytes::from(body.to_string())))
}

/// The whole body when it ends within [`MAX_ERROR_BODY`] bytes; `None` when it is longer or
/// breaks.
async fn read_bounded(mut body: PoolBody) -> Option<Bytes> {
    let mut out = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.ok()?.into_data() {
            if out.len() + data.len() > MAX_ERROR_BODY {
                return None;
            }
            out.extend_from_slice(&data);
        }
    }
    Some(out.freeze())
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;

    async fn shape(status: u16, body: &'static str) -> (StatusCode, Value) {
        let mut response = Response::new(full(body));
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        let shaped = shaped(response).await;
        let status = shaped.status();
        let bytes = shaped.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_backend_detail_becomes_an_openai_error() {
        assert_eq!(
            shape(400, r#"{"detail":"Unsupported parameter: top_k"}"#).await,
            (
                StatusCode::BAD_REQUEST,
                json!({"error": {"message": "Unsupported parameter: top_k",
                    "type": "invalid_request_error", "code": "upstream_error", "param": null}})
            )
        );
        assert_eq!(
            shape(503, "<html>busy</html>").await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": {"message": "upstream request failed",
                    "type": "server_error", "code": "upstream_error", "param": null}})
            )
        );
    }

    #[tokio::test]
    async fn openai_shaped_errors_pass() {
        let body = r#"{"error":{"message":"m","type":"t","code":"c"}}"#;
        let (status, value) = shape(429, body).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(value, serde_json::from_str::<Value>(body).unwrap());
    }
}
