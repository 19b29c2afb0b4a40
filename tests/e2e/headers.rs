//! Header allowlists end to end: a client's made-up `x-codex-*` headers never reach upstream,
//! and the fake backend's account-identifying header (`x-openai-account-id`) never reaches the
//! client, on HTTP answers, on the websocket `101` and inside websocket `error` frames, while
//! the headers the Codex CLI reads still pass.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::*;

/// The fake's stand-in for an account-identifying upstream header.
const SERVING_ACCOUNT: &str = "x-openai-account-id";

/// Client headers a gateway must not forward, with the values a client might try.
const MADE_UP: &[(&str, &str)] = &[
    ("x-codex-authorization", "Bearer sk-stolen"),
    ("x-codex-anything", "anything"),
    ("x-codex-account-id", "acct-chosen-by-client"),
];

/// Codex CLI headers that must still reach upstream.
const PROTOCOL: &[(&str, &str)] = &[
    ("x-codex-window-id", "thread-1:0"),
    ("x-codex-installation-id", "install-1"),
    ("x-codex-beta-features", "remote_compaction_v2"),
    (
        "x-codex-turn-metadata",
        r#"{"session_id":"s-1","model":"gpt-5.1-codex","request_kind":"turn"}"#,
    ),
];

fn assert_forwarded_only_protocol_headers(seen: &codex_pooler_fake_upstream::SeenRequest) {
    for (name, _) in MADE_UP {
        assert_eq!(seen.header(name), None, "{name} reached upstream");
    }
    for (name, value) in PROTOCOL {
        assert_eq!(seen.header(name), Some(*value), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn header_allowlists_hold_on_http_and_websocket() {
    let pool = TestPool::new(&["acct-h0"], |_, _| {});
    let gateway = pool.gateway();
    let auth = format!("Bearer {}", pool.key);

    // HTTP: a streamed turn.
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("session-id", "s-1"),
    ];
    headers.extend_from_slice(MADE_UP);
    headers.extend_from_slice(PROTOCOL);
    let reply = send(
        "POST",
        &format!("{}/backend-api/codex/responses", gateway.url()),
        &headers,
        responses_body("gpt-5.1-codex", "hi"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let h = &reply.headers;
    assert!(!h.contains_key(SERVING_ACCOUNT), "{h:?}");
    assert!(!h.contains_key("chatgpt-account-id"), "{h:?}");
    assert_eq!(h["openai-model"], "gpt-5.1-codex");
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    for name in [
        "x-codex-turn-state",
        "x-codex-primary-used-percent",
        "x-codex-secondary-window-minutes",
        "x-codex-credits-has-credits",
        "x-request-id",
        "x-models-etag",
        "x-codex-pooler-route",
    ] {
        assert!(h.contains_key(name), "{name} missing: {h:?}");
    }
    assert_forwarded_only_protocol_headers(pool.turns().last().unwrap());

    // Websocket: the upgrade, its 101, and an `error` frame.
    let url = format!(
        "{}/backend-api/codex/responses",
        gateway.url().replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request().unwrap();
    let upgrade = request.headers_mut();
    upgrade.insert("authorization", auth.parse().unwrap());
    upgrade.insert("session-id", "s-1".parse().unwrap());
    for (name, value) in MADE_UP.iter().chain(PROTOCOL) {
        upgrade.insert(*name, value.parse().unwrap());
    }
    let (mut socket, response) = timeout(
        Duration::from_secs(15),
        tokio_tungstenite::connect_async(request),
    )
    .await
    .expect("connect in time")
    .expect("upgrade accepted");
    let h = response.headers();
    assert!(!h.contains_key(SERVING_ACCOUNT), "{h:?}");
    assert_eq!(h["x-codex-websocket-max-message-bytes"], "67108864");
    for name in [
        "x-codex-turn-state",
        "x-codex-primary-used-percent",
        "x-request-id",
        "x-models-etag",
        "x-codex-pooler-route",
    ] {
        assert!(h.contains_key(name), "{name} missing: {h:?}");
    }
    let upgraded = pool
        .fake
        .seen()
        .into_iter()
        .rev()
        .find(|r| r.method == "GET" && r.path == "/backend-api/codex/responses")
        .expect("the upstream upgrade");
    assert_forwarded_only_protocol_headers(&upgraded);

    pool.fake
        .set_account("acct-h0", |a| a.usage_limit_reached = true);
    let create = json!({"type": "response.create", "model": "gpt-5.1-codex", "stream": true,
        "store": false, "input": [{"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "hi"}]}]});
    socket
        .send(Message::Text(create.to_string().into()))
        .await
        .unwrap();
    let error = loop {
        let message = timeout(Duration::from_secs(15), socket.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("a frame");
        let Message::Text(text) = message else {
            continue;
        };
        let frame: Value = serde_json::from_str(text.as_str()).unwrap();
        if frame["type"] == "error" {
            break frame;
        }
    };
    assert_eq!(error["status_code"], 429);
    let frame_headers = error["headers"].as_object().expect("a headers object");
    assert!(!frame_headers.contains_key(SERVING_ACCOUNT), "{error}");
    assert_eq!(frame_headers["x-codex-primary-used-percent"], "100.0");
    gateway.stop();
}
