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

/// The gateway's answer to a helper route it does not serve: always this, byte for byte.
pub(crate) const HELPER_NOT_FOUND: &str = r#"{"error":{"code":"not_found","message":"Not Found","param":null,"type":"invalid_request_error"}}"#;

#[tokio::test(flavor = "multi_thread")]
async fn unknown_helper_routes_are_a_soft_404_that_never_goes_upstream() {
    let pool = TestPool::new(&["acct-ps"], |_, _| {});
    let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "0"]);
    let auth = format!("Bearer {}", pool.key);
    let listed_before = cli_ok(&pool.data, &["upstreams", "list"]);
    pool.fake.clear_seen();
    // The 0.171 start-up call first (as the CLI sends it), then other helper shapes.
    let calls = [
        ("GET", "/backend-api/ps/plugins/tooling-state/turtle"),
        ("GET", "/backend-api/ps/plugins/tooling-state/turtle"),
        ("GET", "/backend-api/ps/plugins/installed?scope=user"),
        ("POST", "/backend-api/ps/anything/new"),
        ("DELETE", "/backend-api/some-helper/1"),
    ];
    for (method, path) in calls {
        let reply = send(
            method,
            &format!("{}{path}", gateway.url()),
            &[
                ("authorization", &auth),
                ("oai-product-sku", "codex"),
                ("originator", "codex_cli_rs"),
                ("accept-encoding", "zstd,gzip"),
            ],
            "",
        )
        .await;
        assert_eq!(reply.status, 404, "{method} {path}");
        assert_eq!(reply.body, HELPER_NOT_FOUND, "{method} {path}");
        assert!(reply.headers.get("retry-after").is_none());
    }
    let seen = pool.fake.seen();
    assert!(
        seen.iter()
            .all(|r| !r.path.starts_with("/backend-api/ps") && !r.path.contains("some-helper")),
        "a helper call went upstream: {seen:?}"
    );
    assert!(
        seen.iter()
            .all(|r| r.path != codex_pooler_fake_upstream::TOKEN_PATH),
        "a helper 404 triggered a refresh"
    );
    // Health is untouched: the account is listed as before and still serves the next turn.
    assert_eq!(cli_ok(&pool.data, &["upstreams", "list"]), listed_before);
    let turn = post_responses(
        &gateway.url(),
        RESPONSES,
        &pool.key,
        &responses_body("gpt-5.1-codex", "still there?"),
    )
    .await;
    assert_eq!(turn.status, 200, "{}", turn.body);
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn request_country_reaches_upstream_unchanged_over_http_and_websocket() {
    let pool = TestPool::new(&["acct-country"], |_, _| {});
    let gateway = Gateway::start(&pool.data, &["--usage-probe-interval-secs", "0"]);
    let mut body: Value = serde_json::from_str(&responses_body("gpt-5.1-codex", "hi")).unwrap();
    body["request_country"] = json!("NZ");
    let reply = post_responses(&gateway.url(), RESPONSES, &pool.key, &body.to_string()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let mut socket = crate::ws_client::open(&gateway.url(), &pool.key)
        .await
        .unwrap();
    let mut frame = body.clone();
    frame["type"] = json!("response.create");
    frame["request_country"] = json!("IS");
    crate::ws_client::turn(&mut socket, &frame).await;

    let turns = pool.turns();
    let http = turns
        .iter()
        .find(|r| r.method == "POST")
        .expect("HTTP turn");
    let ws = turns
        .iter()
        .find(|r| r.method == "WS")
        .expect("websocket turn");
    assert_eq!(http.body.as_ref().unwrap()["request_country"], "NZ");
    assert_eq!(ws.body.as_ref().unwrap()["request_country"], "IS");
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_never_asks_upstream_for_compressed_bodies() {
    // The fake gzips whatever a request offers to accept, as chatgpt.com does.
    let pool = TestPool::new(&["acct-gzip"], |_, a| a.primary_used_percent = 37.0);
    let gateway = pool.gateway();
    let auth = format!("Bearer {}", pool.key);
    let offer = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("accept-encoding", "zstd,gzip"),
        ("originator", "codex_cli_rs"),
    ];
    let turn = send(
        "POST",
        &format!("{}{RESPONSES}", gateway.url()),
        &offer,
        responses_body("gpt-5.1-codex", "hi"),
    )
    .await;
    assert_eq!(turn.status, 200, "{}", turn.body);
    assert!(turn.headers.get("content-encoding").is_none());
    assert!(
        turn.body.contains("event: response.completed"),
        "SSE framing survived: {}",
        turn.body
    );
    // The quota headers of the answer were read: the pool's usage view shows them.
    let usage = send(
        "GET",
        &format!("{}/backend-api/wham/usage", gateway.url()),
        &offer,
        "",
    )
    .await;
    assert_eq!(usage.status, 200, "{}", usage.body);
    assert_eq!(
        usage.json()["rate_limit"]["primary_window"]["used_percent"],
        37
    );
    let models = send(
        "GET",
        &format!(
            "{}/backend-api/codex/models?client_version=0.171.0",
            gateway.url()
        ),
        &offer,
        "",
    )
    .await;
    assert_eq!(models.status, 200, "{}", models.body);
    assert!(models.json()["models"].is_array());
    // Nothing the gateway sent upstream (the turn, the catalog sync, the usage probe) offered
    // an encoding.
    let seen = pool.fake.seen();
    assert!(seen.iter().any(|r| r.path == RESPONSES));
    for request in &seen {
        assert_eq!(
            request.header("accept-encoding"),
            None,
            "{} {}",
            request.method,
            request.path
        );
    }
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pool_catalog_keeps_every_model_info_key_upstream_sent() {
    let pool = TestPool::new(&["acct-catalog"], |_, _| {});
    let gateway = pool.gateway();
    let auth = format!("Bearer {}", pool.key);
    let upstream = codex_pooler_fake_upstream::catalog();
    let sol = upstream["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["slug"] == "gpt-6.2-sol")
        .unwrap()
        .clone();
    for key in [
        "allow_only_codex_cloud_agent_orchestrator",
        "allow_only_chatgpt_workspace_executor",
        "minimal_client_version",
    ] {
        assert!(sol.get(key).is_some(), "the fake's entry lacks {key}");
    }
    for version in ["0.169.0", "0.171.0"] {
        let url = format!(
            "{}/backend-api/codex/models?client_version={version}",
            gateway.url()
        );
        // The catalog is read from the account in the background; wait for it.
        let deadline = std::time::Instant::now() + PATIENCE;
        let served = loop {
            let reply = send("GET", &url, &[("authorization", &auth)], "").await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            let models = reply.json()["models"].as_array().unwrap().clone();
            if let Some(entry) = models.into_iter().find(|m| m["slug"] == "gpt-6.2-sol") {
                break entry;
            }
            assert!(std::time::Instant::now() < deadline, "catalog never synced");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // Every key, the ones the gateway has never heard of included, byte for byte.
        assert_eq!(served, sol, "client {version}");
    }
    gateway.stop();
}
