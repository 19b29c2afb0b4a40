//! The fake's websocket lifecycle: the socket lifetime, keepalive pings, `response.interrupt`
//! and the per-account stream cap on upgrades.

use std::time::Duration;

use codex_pooler_fake_upstream::{FakeConfig, FakeUpstreamHandle, RESPONSES_PATH};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::support::{BoxError, PATIENCE, TestResult, alice, start};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the responses websocket as alice.
async fn open(fake: &FakeUpstreamHandle) -> Result<Socket, WsError> {
    use http::HeaderValue;
    let url = format!(
        "{}{RESPONSES_PATH}",
        fake.base_url().replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request()?;
    let headers = request.headers_mut();
    headers.insert(
        "authorization",
        HeaderValue::from_static("Bearer tok-alice"),
    );
    headers.insert("chatgpt-account-id", HeaderValue::from_static("acc-alice"));
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

fn create() -> Message {
    let frame = json!({"type": "response.create", "model": "gpt-5.1-codex", "stream": true,
        "store": false, "input": [{"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "hi"}]}]});
    Message::Text(frame.to_string().into())
}

/// The next text frame, as JSON (pings in between are answered by reading).
async fn next_json(socket: &mut Socket) -> Result<Value, BoxError> {
    loop {
        match timeout(PATIENCE, socket.next()).await? {
            Some(Ok(Message::Text(text))) => return Ok(serde_json::from_str(text.as_str())?),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => return Err(format!("no text frame: {other:?}").into()),
        }
    }
}

/// Reads a turn to its terminal frame; returns the frames' types.
async fn turn(socket: &mut Socket) -> Result<Vec<String>, BoxError> {
    let mut kinds = Vec::new();
    loop {
        let frame = next_json(socket).await?;
        let kind = frame["type"].as_str().unwrap_or_default().to_owned();
        kinds.push(kind.clone());
        if matches!(
            kind.as_str(),
            "response.completed" | "response.failed" | "response.incomplete" | "error"
        ) {
            return Ok(kinds);
        }
    }
}

async fn close_of(socket: &mut Socket) -> Result<(CloseCode, String), BoxError> {
    loop {
        match timeout(PATIENCE, socket.next()).await? {
            Some(Ok(Message::Close(Some(frame)))) => {
                return Ok((frame.code, frame.reason.as_str().to_owned()));
            }
            Some(Ok(_)) => {}
            other => return Err(format!("no close frame: {other:?}").into()),
        }
    }
}

#[tokio::test]
async fn a_socket_past_its_lifetime_refuses_the_next_turn_and_closes() -> TestResult {
    let fake = start(FakeConfig::with_accounts(vec![alice()]))?;
    let mut ws = open(&fake).await?;
    ws.send(create()).await?;
    assert_eq!(
        turn(&mut ws).await?.last().map(String::as_str),
        Some("response.completed")
    );

    fake.end_websocket_lifetimes();
    ws.send(create()).await?;
    let refused = next_json(&mut ws).await?;
    assert_eq!(
        refused,
        json!({"type": "error", "status": 400, "error": {
            "type": "invalid_request_error",
            "code": "websocket_connection_limit_reached",
            "message": "Responses websocket connection limit reached (60 minutes). Create a new websocket connection to continue.",
            "param": null}})
    );
    assert_eq!(
        close_of(&mut ws).await?,
        (
            CloseCode::Normal,
            "websocket_connection_limit_reached".to_owned()
        )
    );

    // A new socket lives on; so does one under a configured lifetime it has not reached.
    fake.update_config(|c| c.websocket_lifetime = Some(Duration::from_secs(3600)));
    let mut fresh = open(&fake).await?;
    fresh.send(create()).await?;
    assert_eq!(
        turn(&mut fresh).await?.last().map(String::as_str),
        Some("response.completed")
    );
    fake.update_config(|c| c.websocket_lifetime = Some(Duration::ZERO));
    let mut aged = open(&fake).await?;
    aged.send(create()).await?;
    assert_eq!(
        next_json(&mut aged).await?["error"]["code"],
        "websocket_connection_limit_reached"
    );
    Ok(())
}

#[tokio::test]
async fn pings_answered_are_counted_and_an_unanswered_ping_closes_with_1011() -> TestResult {
    let fake = start(FakeConfig {
        websocket_ping_interval: Some(Duration::from_millis(10)),
        websocket_ping_timeout: Duration::from_millis(200),
        ..FakeConfig::with_accounts(vec![alice()])
    })?;
    // A reading client answers every ping.
    let mut ws = open(&fake).await?;
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while fake.pongs_received() < 3 {
        assert!(tokio::time::Instant::now() < deadline, "no pongs counted");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    reader.abort();

    // A peer that never answers: the raw bytes end with a 1011 close frame.
    let mut raw = TcpStream::connect(fake.local_addr()).await?;
    let upgrade = format!(
        "GET {RESPONSES_PATH} HTTP/1.1\r\nhost: {}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
         sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         authorization: Bearer tok-alice\r\nchatgpt-account-id: acc-alice\r\n\r\n",
        fake.local_addr()
    );
    raw.write_all(upgrade.as_bytes()).await?;
    let reason = b"keepalive ping timeout";
    let mut close = vec![0x88, u8::try_from(reason.len() + 2)?, 0x03, 0xF3];
    close.extend_from_slice(reason);
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    while !received.windows(close.len()).any(|w| w == close.as_slice()) {
        let n = timeout(PATIENCE, raw.read(&mut buf)).await??;
        assert!(n > 0, "closed without the 1011 frame");
        received.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

#[tokio::test]
async fn an_interrupt_stops_the_streaming_response() -> TestResult {
    let fake = start(FakeConfig {
        chunk_delay: Duration::from_millis(50),
        text_deltas: 50,
        ..FakeConfig::with_accounts(vec![alice()])
    })?;
    let mut ws = open(&fake).await?;
    ws.send(create()).await?;
    let created = loop {
        let frame = next_json(&mut ws).await?;
        if frame["type"] == "response.created" {
            break frame;
        }
    };
    let id = created["response"]["id"].clone();
    let interrupt =
        json!({"type": "response.interrupt", "response_id": id, "mode": "discard_partial_items"});
    ws.send(Message::Text(interrupt.to_string().into())).await?;
    let kinds = turn(&mut ws).await?;
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("response.incomplete")
    );
    assert!(
        !kinds.iter().any(|k| k == "response.completed"),
        "{kinds:?}"
    );
    let seen: Vec<Value> = fake.seen().into_iter().filter_map(|r| r.body).collect();
    assert_eq!(seen.last(), Some(&interrupt));

    // The socket goes on; an interrupt with nothing streaming is ignored.
    fake.update_config(|c| c.chunk_delay = Duration::ZERO);
    ws.send(Message::Text(interrupt.to_string().into())).await?;
    ws.send(create()).await?;
    assert_eq!(
        turn(&mut ws).await?.last().map(String::as_str),
        Some("response.completed")
    );
    Ok(())
}

#[tokio::test]
async fn an_open_socket_holds_one_of_the_accounts_streams() -> TestResult {
    let mut account = alice();
    account.max_streams = Some(1);
    let fake = start(FakeConfig::with_accounts(vec![account]))?;
    let mut first = open(&fake).await?;
    let Err(WsError::Http(refused)) = open(&fake).await else {
        panic!("a second socket opened past max_streams");
    };
    assert_eq!(refused.status(), 429);
    first.close(None).await?;
    while let Some(Ok(_)) = first.next().await {}
    // The slot is back once the first socket is gone.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut second = loop {
        match open(&fake).await {
            Ok(socket) => break socket,
            Err(_) if tokio::time::Instant::now() < deadline => tokio::task::yield_now().await,
            Err(err) => panic!("the slot never came back: {err}"),
        }
    };
    second.send(create()).await?;
    assert_eq!(
        turn(&mut second).await?.last().map(String::as_str),
        Some("response.completed")
    );
    Ok(())
}
