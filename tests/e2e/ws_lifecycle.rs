//! The life of a pooled upstream websocket end to end: the backend's socket lifetime (a fresh
//! socket on the same account, unseen by the client), keepalive pings answered while the client
//! is idle, `response.interrupt` relayed, and a revoked key's session closed.

use std::time::{Duration, Instant};

use codex_pooler_fake_upstream::{FakeUpstreamHandle, SeenRequest};
use codex_pooler_tower::keys::parse_pool_key;
use codex_pooler_tower::websocket::WebsocketSettings;
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::support::*;
use crate::websocket::{
    RESPONSES, closed, connect, create, exchange, fake_for, in_process_gateway, kinds, pool_of,
    responses_traffic, turn, user,
};

const PATIENCE: Duration = Duration::from_secs(15);

/// The upgrades upstream received.
fn upgrades(fake: &FakeUpstreamHandle) -> Vec<SeenRequest> {
    responses_traffic(fake)
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect()
}

/// The `response.create` frames upstream received, in order.
fn creates(fake: &FakeUpstreamHandle) -> Vec<Value> {
    responses_traffic(fake)
        .into_iter()
        .filter(|r| r.method == "WS")
        .filter_map(|r| r.body)
        .filter(|b| b["type"] == "response.create")
        .collect()
}

/// The item of a turn's `response.output_item.done` frame.
fn output_item(frames: &[Value]) -> Value {
    frames
        .iter()
        .find(|f| f["type"] == "response.output_item.done")
        .map(|f| f["item"].clone())
        .expect("an output item")
}

fn completed_id(frames: &[Value]) -> String {
    let done = frames.last().unwrap();
    assert_eq!(done["type"], "response.completed", "{frames:?}");
    done["response"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_turn_refused_for_the_sockets_age_continues_on_a_fresh_socket_unseen() {
    let creds = [fake_credentials("acct-long", "long@example.com")];
    // One stream at a time: the fresh socket opens only once the old one is gone.
    let fake = fake_for(&creds, |a| a.max_streams = Some(1));
    let (base, key) = in_process_gateway(&creds, &fake, WebsocketSettings::default()).await;
    let mut ws = connect(&base, RESPONSES, Some(&key)).await.unwrap();

    let first = exchange(&mut ws, create(json!({"input": [user("first question")]}))).await;
    let first_id = completed_id(&first);
    let answer = output_item(&first);

    // Upstream's socket reaches its lifetime: the next turn is refused there...
    fake.end_websocket_lifetimes();
    let second = exchange(
        &mut ws,
        create(json!({"previous_response_id": first_id, "input": [user("second question")]})),
    )
    .await;
    // ...and the client sees only its answer.
    assert!(!kinds(&second).contains(&"error"), "{second:?}");
    let second_id = completed_id(&second);

    let sockets = upgrades(&fake);
    assert_eq!(sockets.len(), 2, "one fresh socket");
    // The same account and the upgrade's own headers.
    for name in [
        "chatgpt-account-id",
        "session-id",
        "x-codex-turn-metadata",
        "openai-beta",
    ] {
        assert_eq!(sockets[0].header(name), sockets[1].header(name), "{name}");
    }
    assert_eq!(sockets[1].header("session-id"), Some("ws-session-1"));
    let sent = creates(&fake);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[1]["previous_response_id"], first_id.as_str());
    // On the fresh socket the turn carries its whole context instead of the old socket's id.
    assert_eq!(sent[2].get("previous_response_id"), None);
    assert_eq!(
        sent[2]["input"],
        json!([user("first question"), answer, user("second question")])
    );

    // The chain goes on over the fresh socket as usual.
    let third = exchange(
        &mut ws,
        create(json!({"previous_response_id": second_id, "input": [user("third")]})),
    )
    .await;
    completed_id(&third);
    assert_eq!(
        creates(&fake)[3]["previous_response_id"],
        second_id.as_str()
    );
    assert_eq!(upgrades(&fake).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_socket_past_the_configured_lifetime_is_replaced_before_the_turn() {
    let creds = [fake_credentials("acct-rotate", "rotate@example.com")];
    let fake = fake_for(&creds, |a| a.max_streams = Some(1));
    // A lifetime of zero: every turn starts on a fresh socket.
    let settings = WebsocketSettings::default().with_upstream_lifetime(Duration::ZERO);
    let (base, key) = in_process_gateway(&creds, &fake, settings).await;
    let mut ws = connect(&base, RESPONSES, Some(&key)).await.unwrap();

    let first = exchange(&mut ws, create(json!({"input": [user("one")]}))).await;
    let first_id = completed_id(&first);
    let answer = output_item(&first);
    let second = exchange(
        &mut ws,
        create(json!({"previous_response_id": first_id, "input": [user("two")]})),
    )
    .await;
    completed_id(&second);

    assert_eq!(
        upgrades(&fake).len(),
        3,
        "the upgrade's socket, then one per turn"
    );
    let sent = creates(&fake);
    assert_eq!(
        sent.len(),
        2,
        "nothing refused, nothing sent twice: {sent:?}"
    );
    assert_eq!(sent[1].get("previous_response_id"), None);
    assert_eq!(sent[1]["input"], json!([user("one"), answer, user("two")]));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_session_answers_upstream_pings() {
    let creds = [fake_credentials("acct-ping", "ping@example.com")];
    let fake = fake_for(&creds, |_| {});
    fake.update_config(|c| {
        c.websocket_ping_interval = Some(Duration::from_millis(20));
        c.websocket_ping_timeout = Duration::from_secs(5);
    });
    let (base, key) = in_process_gateway(&creds, &fake, WebsocketSettings::default()).await;
    let mut ws = connect(&base, RESPONSES, Some(&key)).await.unwrap();

    // The client sends nothing; the gateway's reader answers upstream's pings.
    let deadline = Instant::now() + PATIENCE;
    while fake.pongs_received() < 3 {
        assert!(
            Instant::now() < deadline,
            "upstream's pings went unanswered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The socket is still good.
    let frames = exchange(&mut ws, create(json!({}))).await;
    completed_id(&frames);
    assert_eq!(upgrades(&fake).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupt_reaches_upstream_unchanged_and_ends_the_turn() {
    let creds = [fake_credentials("acct-stop", "stop@example.com")];
    let fake = fake_for(&creds, |_| {});
    fake.update_config(|c| {
        c.chunk_delay = Duration::from_millis(50);
        c.text_deltas = 40;
    });
    let (base, key) = in_process_gateway(&creds, &fake, WebsocketSettings::default()).await;
    let mut ws = connect(&base, RESPONSES, Some(&key)).await.unwrap();
    ws.send(create(json!({}))).await.unwrap();

    let mut frames = Vec::new();
    while !frames
        .last()
        .is_some_and(|f: &Value| f["type"] == "response.created")
    {
        let mut part = turn_prefix(&mut ws).await;
        frames.append(&mut part);
    }
    let id = frames.last().unwrap()["response"]["id"].clone();
    let interrupt =
        json!({"type": "response.interrupt", "response_id": id, "mode": "discard_partial_items"});
    ws.send(Message::Text(interrupt.to_string().into()))
        .await
        .unwrap();
    let rest = turn(&mut ws).await;
    assert_eq!(
        kinds(&rest).last(),
        Some(&"response.incomplete"),
        "{rest:?}"
    );
    assert_eq!(
        rest.last().unwrap()["response"]["incomplete_details"]["reason"],
        "interrupted"
    );
    let relayed: Vec<Value> = responses_traffic(&fake)
        .into_iter()
        .filter(|r| r.method == "WS")
        .filter_map(|r| r.body)
        .filter(|b| b["type"] == "response.interrupt")
        .collect();
    assert_eq!(relayed, [interrupt]);

    // The session goes on.
    fake.update_config(|c| c.chunk_delay = Duration::ZERO);
    completed_id(&exchange(&mut ws, create(json!({}))).await);
}

/// Reads one text frame.
async fn turn_prefix(ws: &mut crate::websocket::Socket) -> Vec<Value> {
    use futures_util::StreamExt;
    loop {
        let message = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("a frame");
        if let Message::Text(text) = message {
            return vec![serde_json::from_str(text.as_str()).unwrap()];
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_the_key_closes_its_open_session() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let creds = [fake_credentials("acct-revoked", "revoked@example.com")];
    let fake = fake_for(&creds, |_| {});
    let key = pool_of(dir.path(), &data, &fake, &creds);
    let gateway = Gateway::start(&data, &[]);
    let mut ws = connect(&gateway.url(), RESPONSES, Some(&key))
        .await
        .unwrap();
    completed_id(&exchange(&mut ws, create(json!({}))).await);

    let prefix = parse_pool_key(&key).unwrap().prefix.to_owned();
    cli_ok(&data, &["keys", "revoke", &prefix]);
    assert_eq!(
        closed(&mut ws).await,
        (CloseCode::Policy, "api_key_revoked".to_owned())
    );
    gateway.stop();
}
