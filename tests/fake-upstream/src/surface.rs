//! The rest of the backend surface the gateway proxies: legacy compaction, images, audio
//! transcription and file uploads. Each answers in the backend's shape, per account.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth;
use super::quota::QuotaSnapshot;
use super::state::FakeState;

/// `POST /backend-api/codex/responses/compact` `{model,input,instructions}` -> `{output:[..]}`
/// with one `compaction` item naming the account.
pub(crate) async fn compact(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let account = match auth::authorize(&state, &headers) {
        Ok(account) => account,
        Err(rejection) => return rejection.into_response(),
    };
    if let Some(status) = account.fail_status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let error = json!({"error": {"message": "injected failure", "type": "server_error"}});
        return (status, Json(error)).into_response();
    }
    let Some(model) = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("model").and_then(Value::as_str).map(str::to_owned))
    else {
        return bad_request("compact needs a JSON body with a model");
    };
    let item = json!({
        "type": "compaction",
        "id": format!("cmp_fake_{}", state.next_id()),
        "encrypted_content": format!("compacted-by-{}", account.label),
    });
    let head = QuotaSnapshot::of(&account).headers();
    (head, Json(json!({ "model": model, "output": [item] }))).into_response()
}

/// `POST /backend-api/codex/images/{generations,edits}`: one base64 "image" naming the account.
pub(crate) async fn images(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let account = match auth::authorize(&state, &headers) {
        Ok(account) => account,
        Err(rejection) => return rejection.into_response(),
    };
    if serde_json::from_slice::<Value>(&body).is_err() {
        return bad_request("images need a JSON body");
    }
    let image = base64_of(format!("image-from-{}", account.label).as_bytes());
    Json(json!({
        "created": 1_795_500_000,
        "data": [{ "b64_json": image }],
    }))
    .into_response()
}

/// `POST /backend-api/transcribe` (multipart with a `file` part): `{"text": ...}` naming the
/// account and the size of the whole form.
pub(crate) async fn transcribe(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let account = match auth::authorize(&state, &headers) {
        Ok(account) => account,
        Err(rejection) => return rejection.into_response(),
    };
    let multipart = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        return bad_request("transcription needs multipart/form-data");
    }
    // The audio rides in a `file` part; a form without one is refused.
    let has_file = body
        .windows(b"name=\"file\"".len())
        .any(|w| w == b"name=\"file\"");
    if !has_file {
        return bad_request("transcription needs a file part");
    }
    Json(json!({
        "text": format!("transcribed by {} ({} bytes)", account.label, body.len()),
    }))
    .into_response()
}

/// `POST /backend-api/files` `{file_name,file_size,use_case}` -> `{file_id, upload_url}`; the
/// file id names the account so tests can check affinity.
pub(crate) async fn create_file(
    State(state): State<FakeState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let account = match auth::authorize(&state, &headers) {
        Ok(account) => account,
        Err(rejection) => return rejection.into_response(),
    };
    let Some(_name) = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
        v.get("file_name")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }) else {
        return bad_request("file creation needs a JSON body with file_name");
    };
    let id = format!("file-{}-{}", account.chatgpt_account_id, state.next_id());
    state.create_upload(&id);
    // Like the real backend's pre-signed blob URL: on the fake's own address (the `Host` the
    // client reached it by), carrying its own authorization in the query.
    let origin = state.config().upload_origin.unwrap_or_else(|| {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("127.0.0.1");
        format!("http://{host}")
    });
    Json(json!({
        "file_id": id,
        "upload_url": format!("{origin}/upload/{id}?sig=fake"),
    }))
    .into_response()
}

/// `PUT /upload/{id}` (the `upload_url` of a created file), as an Azure block blob: needs
/// `x-ms-blob-type: BlockBlob` (else 400, as Azure answers) and a file created here (else 404).
/// No bearer token: the URL is its own authorization.
pub(crate) async fn put_upload(
    State(state): State<FakeState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let block_blob = headers
        .get("x-ms-blob-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "BlockBlob");
    if !block_blob {
        return (
            StatusCode::BAD_REQUEST,
            "MissingRequiredHeader: x-ms-blob-type",
        )
            .into_response();
    }
    if !state.store_upload(&id, body.to_vec()) {
        return (StatusCode::NOT_FOUND, "BlobNotFound").into_response();
    }
    StatusCode::CREATED.into_response()
}

/// `POST /backend-api/files/{id}/uploaded`: succeeds only on the account that created the file,
/// once its bytes were PUT.
pub(crate) async fn finalize_file(
    State(state): State<FakeState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let account = match auth::authorize(&state, &headers) {
        Ok(account) => account,
        Err(rejection) => return rejection.into_response(),
    };
    if !id.starts_with(&format!("file-{}-", account.chatgpt_account_id)) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"message": "file not found", "code": "file_not_found"}})),
        )
            .into_response();
    }
    // A file whose bytes never arrived cannot be finalized. What the real backend answers here
    // is not captured; a 400 in its `{"detail"}` shape is the plausible stand-in.
    if state.uploaded(&id).is_none() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"detail": "File upload has not completed"})),
        )
            .into_response();
    }
    Json(json!({
        "status": "success",
        "download_url": format!("https://files.invalid/download/{id}"),
        "file_name": "upload",
    }))
    .into_response()
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": {"message": message, "type": "invalid_request_error"}})),
    )
        .into_response()
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
