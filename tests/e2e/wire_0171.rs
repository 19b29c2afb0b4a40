//! The wire changes of Codex CLI 0.171 end to end (`shared/research/codex-protocol-0171.md`
//! §C): the advertised websocket message size, soft `/backend-api/ps/*` helper routes, new
//! request fields and `ModelInfo` keys passing through, and upstream bodies never compressed.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::*;

const PATIENCE: Duration = Duration::from_secs(30);
const RESPONSES: &str = "/backend-api/codex/responses";

/// A `response.create` whose user message carries an inline PNG data URL of `image_bytes`
/// bytes of base64, as the CLI sends a pasted image.
fn create_with_image(image_bytes: usize) -> String {
    let image = format!("data:image/png;base64,{}", "A".repeat(image_bytes));
    json!({"type": "response.create", "model": "gpt-5.1-codex", "stream": true, "store": false,
    "input": [{"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "What is in this picture?"},
        {"type": "input_image", "image_url": image},
    ]}]})
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_twenty_mebibyte_frame_reaches_upstream_and_the_turn_completes() {
    const ADVERTISED: usize = 32 * 1024 * 1024;
    let pool = TestPool::new(&["acct-big-frame"], |_, _| {});
    pool.fake
        .update_config(|c| c.websocket_max_message_bytes = ADVERTISED);
    let gateway = pool.gateway();

    let url = format!(
        "{}{RESPONSES}",
        gateway.url().replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request().unwrap();
    let headers = request.headers_mut();
    headers.insert(
        "authorization",
        format!("Bearer {}", pool.key).parse().unwrap(),
    );
    headers.insert("originator", "codex_exec".parse().unwrap());
    headers.insert(
        "x-codex-routing-hint",
        "model=gpt-5.1-codex".parse().unwrap(),
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    // The client learns upstream's limit from the gateway's 101.
    assert_eq!(
        response.headers()["x-codex-websocket-max-message-bytes"],
        ADVERTISED.to_string().as_str()
    );

    let frame = create_with_image(20 * 1024 * 1024);
    let sent = frame.len();
    assert!(sent > 20 * 1024 * 1024);
    socket.send(Message::Text(frame.into())).await.unwrap();
    let completed = loop {
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
            "response.completed" => break frame,
            "error" | "response.failed" => panic!("turn failed: {frame}"),
            _ => {}
        }
    };
    assert_eq!(completed["response"]["status"], "completed");
    let seen = pool
        .turns()
        .into_iter()
        .find(|r| r.method == "WS")
        .expect("the frame reached upstream");
    assert_eq!(seen.raw_body.len(), sent, "relayed whole");
}
