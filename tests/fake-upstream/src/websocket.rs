//! `GET /backend-api/codex/responses` + `Upgrade: websocket`: the Responses websocket transport.
//!
//! The upgrade is authenticated like a turn. The `101` carries the account's quota headers,
//! `x-codex-turn-state` (echoed if the client sent one), `x-models-etag`,
//! `x-codex-websocket-max-message-bytes` (the configured
//! [`FakeConfig::websocket_max_message_bytes`](crate::FakeConfig::websocket_max_message_bytes),
//! also the largest message the fake reads) and `x-openai-account-id`. Each
//! `{"type":"response.create",...}` text frame is answered by [`ws_turn::answer`] frame by frame,
//! at the configured pace; every such frame is logged as a [`SeenRequest`] with method `"WS"`
//! (the upgrade's headers, the frame as body), as the protocol captures log them.

use std::collections::HashSet;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::RESPONSES_PATH;
use super::auth::{self, ACCOUNT_ID_HEADER};
use super::catalog::CATALOG_ETAG;
use super::handlers::refuse_websocket;
use super::pacing::Ending;
use super::quota::QuotaSnapshot;
use super::rejection::Rejection;
use super::seen::SeenRequest;
use super::state::{FakeState, shut_down};
use super::ws_turn::{self, TurnFrames};

/// The turn-state header the CLI echoes back on later requests of the same turn.
const TURN_STATE_HEADER: &str = "x-codex-turn-state";

/// Answers an upgrade on the responses path:
///
/// 1. not a websocket handshake: `426` for an `Upgrade: websocket` request, else `405`;
/// 2. wait `first_byte_delay`;
/// 3. no `chatgpt-account-id`: `426` (only Codex-backend clients get the websocket transport);
/// 4. a wrong token: `401`; an account with `websocket: false`: `426`;
/// 5. the account's injected `fail_status`: that status, as over HTTP;
/// 6. otherwise `101` with the quota headers and a turn state, then the session.
pub(crate) async fn upgrade(
    State(state): State<FakeState>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        return refuse_websocket(headers).await;
    };
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
    if !headers.contains_key(ACCOUNT_ID_HEADER) {
        return Rejection::UpgradeRequired.into_response();
    }
    let account = match auth::authorize(&state, &headers) {
        Ok(account) => account,
        Err(rejection) => return rejection.into_response(),
    };
    if !account.websocket {
        return Rejection::UpgradeRequired.into_response();
    }
    let mut head = QuotaSnapshot::of(&account).headers();
    auth::name_serving_account(&mut head, &account);
    insert(
        &mut head,
        "x-request-id",
        &format!("req_fake_{}", state.next_id()),
    );
    insert(&mut head, "x-models-etag", CATALOG_ETAG);
    insert(
        &mut head,
        "x-codex-websocket-max-message-bytes",
        &config.websocket_max_message_bytes.to_string(),
    );
    if let Some(status) = account.fail_status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (head, Rejection::Injected(status)).into_response();
    }
    let turn_state = match headers.get(TURN_STATE_HEADER) {
        Some(sent) => sent.clone(),
        None => HeaderValue::try_from(format!("fake-turn-state-{}", state.next_id()))
            .unwrap_or(HeaderValue::from_static("fake-turn-state")),
    };
    head.insert(TURN_STATE_HEADER, turn_state);
    let session = Session {
        shutdown: state.shutdown_signal(),
        state,
        headers,
        produced: HashSet::new(),
    };
    let upgraded = ws
        .max_message_size(config.websocket_max_message_bytes)
        .max_frame_size(config.websocket_max_message_bytes)
        .on_upgrade(move |socket| session.run(socket));
    (head, upgraded).into_response()
}

/// One accepted websocket: the upgrade's headers and the responses it produced.
struct Session {
    state: FakeState,
    headers: HeaderMap,
    produced: HashSet<String>,
    shutdown: watch::Receiver<bool>,
}

impl Session {
    /// Answers frames until the client closes, the fake shuts down or a turn breaks the socket.
    async fn run(mut self, mut socket: WebSocket) {
        loop {
            let message = tokio::select! {
                message = socket.recv() => message,
                () = shut_down(&mut self.shutdown) => {
                    let _ = socket.send(close(close_code::AWAY, "fake upstream shutting down")).await;
                    return;
                }
            };
            let open = match message {
                Some(Ok(Message::Text(text))) => self.turn(&mut socket, text.as_str()).await,
                Some(Ok(Message::Binary(_))) => {
                    let refusal = json!({"type": "error", "status_code": 400, "error": {
                        "type": "invalid_request_error", "message": "binary frames are not supported", "code": null}});
                    send(&mut socket, refusal.to_string()).await
                }
                // axum answers pings itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => true,
                Some(Ok(Message::Close(_)) | Err(_)) | None => false,
            };
            if !open {
                return;
            }
        }
    }

    /// Answers one text frame; `false` when the socket is done.
    async fn turn(&mut self, socket: &mut WebSocket, text: &str) -> bool {
        let frame: Option<Value> = serde_json::from_str(text).ok();
        let authorized = auth::authorize(&self.state, &self.headers);
        self.record(text, frame.clone(), authorized.is_ok());
        let Ok(account) = authorized else {
            let refusal = json!({"type": "error", "status_code": 401, "error": {
                "type": "invalid_request_error", "message": "incorrect access token or unknown chatgpt account",
                "code": "invalid_api_key"}});
            send(socket, refusal.to_string()).await;
            let _ = socket
                .send(close(close_code::POLICY, "invalid_api_key"))
                .await;
            return false;
        };
        let config = self.state.config();
        let TurnFrames {
            frames,
            ending,
            produced,
        } = match &frame {
            Some(frame) => ws_turn::answer(
                &self.state,
                &config,
                &account,
                frame,
                text.len(),
                &self.produced,
            ),
            None => {
                let refusal = json!({"type": "error", "status_code": 400, "error": {
                    "type": "invalid_request_error", "message": "frame is not valid json", "code": null}});
                return send(socket, refusal.to_string()).await;
            }
        };
        self.produced.extend(produced);
        let (kept, stop) = match ending {
            Ending::Complete => (frames.len(), None),
            Ending::StallAfter(n) => (n, Some(false)),
            Ending::BreakAfter(n) => (n, Some(true)),
        };
        for (i, frame) in frames.into_iter().take(kept).enumerate() {
            if i > 0 && !config.chunk_delay.is_zero() {
                tokio::time::sleep(config.chunk_delay).await;
            }
            if !send(socket, frame).await {
                return false;
            }
        }
        match stop {
            None => true,
            // Dropping the socket closes the connection without a close frame.
            Some(true) => false,
            Some(false) => {
                self.stall(socket).await;
                false
            }
        }
    }

    /// Sends nothing more until the client goes away or the fake shuts down.
    async fn stall(&mut self, socket: &mut WebSocket) {
        loop {
            tokio::select! {
                message = socket.recv() => match message {
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                    Some(Ok(_)) => {}
                },
                () = shut_down(&mut self.shutdown) => return,
            }
        }
    }

    fn record(&self, text: &str, body: Option<Value>, authorized: bool) {
        self.state.record(SeenRequest {
            method: "WS".to_owned(),
            path: RESPONSES_PATH.to_owned(),
            query: None,
            chatgpt_account_id: self
                .headers
                .get(ACCOUNT_ID_HEADER)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            authorized,
            routing_override: self
                .headers
                .get(super::seen::ROUTING_OVERRIDE_HEADER)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            headers: self
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body,
            raw_body: Bytes::copy_from_slice(text.as_bytes()),
        });
    }
}

/// Sends a text frame; `false` when the client is gone.
async fn send(socket: &mut WebSocket, text: String) -> bool {
    socket.send(Message::Text(text.into())).await.is_ok()
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::try_from(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}
