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
//!
//! The socket's life follows the real backend's rules (research `codex-protocol-0171.md`, and
//! peers' reports in `peers-2026-12.md`):
//! - an open socket holds one of the account's streams (`FakeAccount::max_streams`) until it
//!   closes;
//! - after [`FakeConfig::websocket_lifetime`](crate::FakeConfig::websocket_lifetime) (60 minutes
//!   upstream), the next `response.create` gets the `websocket_connection_limit_reached`
//!   `error` frame ([`connection_limit_frame`]) and the socket closes (1000, the code as reason);
//! - while idle, a ping every
//!   [`FakeConfig::websocket_ping_interval`](crate::FakeConfig::websocket_ping_interval); one
//!   unanswered for `websocket_ping_timeout` closes with `1011 keepalive ping timeout`; pongs
//!   are counted ([`FakeState::pongs_received`]);
//! - `{"type":"response.interrupt",...}` while a response streams (between its paced frames, or
//!   in a stall) stops it with `response.incomplete`, `incomplete_details.reason:
//!   "interrupted"` (what peers' fixtures show; the research does not say); with nothing
//!   streaming it is ignored.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;

use super::RESPONSES_PATH;
use super::auth::{self, ACCOUNT_ID_HEADER};
use super::catalog::CATALOG_ETAG;
use super::handlers::refuse_websocket;
use super::pacing::Ending;
use super::quota::QuotaSnapshot;
use super::rejection::Rejection;
use super::seen::SeenRequest;
use super::state::{FakeState, shut_down};
use super::stream_slot::StreamSlot;
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
/// 6. the account already streaming `max_streams` answers (sockets included): `429`;
/// 7. otherwise `101` with the quota headers and a turn state, then the session.
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
    // An open socket is one stream of the account for its whole life, as upstream counts it.
    let Some(slot) = state.open_stream(&account.chatgpt_account_id, account.max_streams) else {
        return (head, Rejection::TooManyStreams).into_response();
    };
    let turn_state = match headers.get(TURN_STATE_HEADER) {
        Some(sent) => sent.clone(),
        None => HeaderValue::try_from(format!("fake-turn-state-{}", state.next_id()))
            .unwrap_or(HeaderValue::from_static("fake-turn-state")),
    };
    head.insert(TURN_STATE_HEADER, turn_state);
    let session = Session {
        shutdown: state.shutdown_signal(),
        lifetime: Lifetime::starting(&state, config.websocket_lifetime),
        state,
        headers,
        produced: HashSet::new(),
        pending: VecDeque::new(),
        slot: Some(slot),
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
    lifetime: Lifetime,
    /// Frames that arrived while a turn was streaming, answered after it.
    pending: VecDeque<Message>,
    /// The account's stream slot, held for the socket's life.
    slot: Option<StreamSlot>,
}

/// When a socket's life ends: after [`FakeConfig::websocket_lifetime`](crate::FakeConfig), or
/// when [`FakeState::end_websocket_lifetimes`] is called after it opened.
struct Lifetime {
    opened: Instant,
    limit: Option<Duration>,
    epoch: u64,
}

impl Lifetime {
    fn starting(state: &FakeState, limit: Option<Duration>) -> Self {
        Self {
            opened: Instant::now(),
            limit,
            epoch: state.lifetime_epoch(),
        }
    }

    fn is_over(&self, state: &FakeState) -> bool {
        state.lifetime_epoch() != self.epoch
            || self
                .limit
                .is_some_and(|limit| self.opened.elapsed() >= limit)
    }
}

/// What happened while a turn waited between frames (or stalled).
enum Meanwhile {
    /// The wait ended (the pause elapsed).
    Elapsed,
    /// The client sent `response.interrupt`.
    Interrupted,
    /// The client went away, or the fake is shutting down.
    Gone,
}

impl Session {
    /// Answers frames until the client closes, the fake shuts down or a turn breaks the socket;
    /// the account's stream slot is given back before the connection ends.
    async fn run(mut self, mut socket: WebSocket) {
        self.serve(&mut socket).await;
        self.slot = None;
        drop(socket);
    }

    async fn serve(&mut self, socket: &mut WebSocket) {
        let config = self.state.config();
        let mut keepalive = Keepalive::new(
            config.websocket_ping_interval,
            config.websocket_ping_timeout,
        );
        loop {
            let message = match self.pending.pop_front() {
                Some(message) => Some(Ok(message)),
                None => tokio::select! {
                    message = socket.recv() => message,
                    () = shut_down(&mut self.shutdown) => {
                        let _ = socket.send(close(close_code::AWAY, "fake upstream shutting down")).await;
                        return;
                    }
                    () = keepalive.ping_due() => {
                        if socket.send(Message::Ping(Bytes::from_static(b"fake-keepalive"))).await.is_err() {
                            return;
                        }
                        keepalive.sent();
                        continue;
                    }
                    () = keepalive.deadline() => {
                        let _ = socket.send(close(close_code::ERROR, "keepalive ping timeout")).await;
                        return;
                    }
                },
            };
            let open = match message {
                Some(Ok(Message::Text(text))) => self.turn(socket, text.as_str()).await,
                Some(Ok(Message::Binary(_))) => {
                    let refusal = json!({"type": "error", "status_code": 400, "error": {
                        "type": "invalid_request_error", "message": "binary frames are not supported", "code": null}});
                    send(socket, refusal.to_string()).await
                }
                Some(Ok(Message::Pong(_))) => {
                    self.state.count_pong();
                    keepalive.answered();
                    true
                }
                // axum answers pings itself.
                Some(Ok(Message::Ping(_))) => true,
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
        let kind = frame
            .as_ref()
            .and_then(|f| f.get("type"))
            .and_then(Value::as_str);
        if kind == Some(INTERRUPT) {
            // No response is streaming: nothing to stop.
            return true;
        }
        if kind == Some("response.create") && self.lifetime.is_over(&self.state) {
            // The socket's stream slot is free before the client can open the next socket.
            self.slot = None;
            send(socket, connection_limit_frame()).await;
            let _ = socket
                .send(close(close_code::NORMAL, CONNECTION_LIMIT_CODE))
                .await;
            return false;
        }
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
        self.produced.extend(produced.clone());
        let (kept, stop) = match ending {
            Ending::Complete => (frames.len(), None),
            Ending::StallAfter(n) => (n, Some(false)),
            Ending::BreakAfter(n) => (n, Some(true)),
        };
        let id = produced.unwrap_or_default();
        for (i, frame) in frames.into_iter().take(kept).enumerate() {
            if i > 0 && !config.chunk_delay.is_zero() {
                match self.meanwhile(socket, Some(config.chunk_delay)).await {
                    Meanwhile::Elapsed => {}
                    Meanwhile::Interrupted => return send(socket, interrupted_frame(&id)).await,
                    Meanwhile::Gone => return false,
                }
            }
            if !send(socket, frame).await {
                return false;
            }
        }
        match stop {
            None => true,
            // Dropping the socket closes the connection without a close frame.
            Some(true) => false,
            // Nothing more until the client interrupts, goes away or the fake shuts down.
            Some(false) => match self.meanwhile(socket, None).await {
                Meanwhile::Interrupted => send(socket, interrupted_frame(&id)).await,
                Meanwhile::Elapsed | Meanwhile::Gone => false,
            },
        }
    }

    /// Reads what the client sends for `pause` (forever when `None`) while a turn streams: a
    /// `response.interrupt` ends the wait (and the turn), other frames wait for the turn's end.
    async fn meanwhile(&mut self, socket: &mut WebSocket, pause: Option<Duration>) -> Meanwhile {
        let sleep = async {
            match pause {
                Some(pause) => tokio::time::sleep(pause).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return Meanwhile::Elapsed,
                () = shut_down(&mut self.shutdown) => return Meanwhile::Gone,
                message = socket.recv() => match message {
                    Some(Ok(Message::Text(text))) if is_interrupt(text.as_str()) => {
                        let frame = serde_json::from_str(text.as_str()).ok();
                        let authorized = auth::authorize(&self.state, &self.headers).is_ok();
                        self.record(text.as_str(), frame, authorized);
                        return Meanwhile::Interrupted;
                    }
                    Some(Ok(Message::Pong(_))) => self.state.count_pong(),
                    Some(Ok(Message::Ping(_))) => {}
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return Meanwhile::Gone,
                    Some(Ok(other)) => self.pending.push_back(other),
                },
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

/// The client frame that stops the streaming response.
const INTERRUPT: &str = "response.interrupt";

/// The error code of a socket past its lifetime.
pub(crate) const CONNECTION_LIMIT_CODE: &str = "websocket_connection_limit_reached";

fn is_interrupt(text: &str) -> bool {
    text.contains(INTERRUPT)
        && serde_json::from_str::<Value>(text)
            .ok()
            .is_some_and(|f| f.get("type").and_then(Value::as_str) == Some(INTERRUPT))
}

/// The `error` frame the backend answers a `response.create` with on a socket past its
/// 60-minute lifetime (retryable: the client opens a new socket and sends the turn again).
pub(crate) fn connection_limit_frame() -> String {
    json!({"type": "error", "status": 400, "error": {
        "type": "invalid_request_error",
        "code": CONNECTION_LIMIT_CODE,
        "message": "Responses websocket connection limit reached (60 minutes). Create a new websocket connection to continue.",
        "param": null}})
    .to_string()
}

/// The terminal event of a response the client interrupted: `response.incomplete` with the
/// reason `interrupted` (what peers' fixtures of the backend show; the research does not say).
fn interrupted_frame(id: &str) -> String {
    json!({"type": "response.incomplete", "response": {"id": id, "object": "response",
        "status": "incomplete", "incomplete_details": {"reason": "interrupted"}, "output": []}})
    .to_string()
}

/// Pings on an interval while a socket is idle, and the deadline of the unanswered one.
struct Keepalive {
    interval: Option<Duration>,
    timeout: Duration,
    next_ping: Instant,
    awaiting: Option<Instant>,
}

impl Keepalive {
    fn new(interval: Option<Duration>, timeout: Duration) -> Self {
        Self {
            interval,
            timeout,
            next_ping: Instant::now() + interval.unwrap_or_default(),
            awaiting: None,
        }
    }

    /// Resolves when the next ping is due (never while one is unanswered, or with no interval).
    async fn ping_due(&self) {
        match (self.interval, self.awaiting) {
            (Some(_), None) => tokio::time::sleep_until(self.next_ping).await,
            _ => std::future::pending().await,
        }
    }

    /// Resolves when the unanswered ping's deadline passes.
    async fn deadline(&self) {
        match self.awaiting {
            Some(sent) => tokio::time::sleep_until(sent + self.timeout).await,
            None => std::future::pending().await,
        }
    }

    fn sent(&mut self) {
        self.awaiting = Some(Instant::now());
    }

    fn answered(&mut self) {
        self.awaiting = None;
        self.next_ping = Instant::now() + self.interval.unwrap_or_default();
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
