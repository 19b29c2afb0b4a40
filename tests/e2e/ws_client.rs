//! A minimal Responses-over-websocket client for tests: open a session with a Pool API key,
//! send one `response.create`, read the turn.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// An open client websocket.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const PATIENCE: Duration = Duration::from_secs(15);

/// Opens `GET {base}/backend-api/codex/responses` as a websocket with `key`.
pub(crate) async fn open(base: &str, key: &str) -> Result<Socket, WsError> {
    let url = format!(
        "{}/backend-api/codex/responses",
        base.replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request()?;
    let headers = request.headers_mut();
    headers.insert("authorization", format!("Bearer {key}").parse().unwrap());
    headers.insert("originator", "codex_exec".parse().unwrap());
    headers.insert(
        "x-codex-routing-hint",
        "model=gpt-5.1-codex".parse().unwrap(),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(socket)
}

/// Sends one `response.create` and reads its frames up to the terminal one; returns the text
/// of the completed answer.
pub(crate) async fn one_turn(socket: &mut Socket) -> String {
    let frame = json!({"type": "response.create", "model": "gpt-5.1-codex", "stream": true,
        "store": false, "input": [{"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "Say hi"}]}]});
    let completed = turn(socket, &frame).await;
    completed["response"]["output"][0]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Sends `frame` (a `response.create`) and reads the turn's frames up to
/// `response.completed`, which it returns; a failed turn fails the test.
pub(crate) async fn turn(socket: &mut Socket, frame: &Value) -> Value {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
    loop {
        let message = timeout(PATIENCE, socket.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("a frame");
        let Message::Text(text) = message else {
            continue;
        };
        let frame: Value = serde_json::from_str(text.as_str()).unwrap();
        match frame["type"].as_str().unwrap_or_default() {
            "response.completed" => return frame,
            "response.failed" | "response.incomplete" | "error" => panic!("turn failed: {frame}"),
            _ => {}
        }
    }
}
