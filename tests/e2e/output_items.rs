//! The backend may send the items of a turn only in `response.output_item.done`, with
//! `"output": []` in `response.completed` (get-bb/bb PR #3310): the gateway's `/v1` collection
//! rebuilds the output from the done items, and a websocket session relays the turn as sent and
//! continues it on its account.

use serde_json::{Value, json};

use crate::support::*;
use crate::ws_client;

/// A two-account pool whose fake sends items only in `response.output_item.done`.
fn pool() -> TestPool {
    let pool = TestPool::new(&["acct-done-a", "acct-done-b"], |_, _| {});
    pool.fake.update_config(|c| c.items_only_in_done = true);
    pool
}

#[tokio::test(flavor = "multi_thread")]
async fn v1_collection_rebuilds_the_output_from_done_items() {
    let pool = pool();
    let gateway = pool.gateway();
    let body = json!({"model": "gpt-5.1-codex", "input": "Say hi"});
    let plain = post_responses(
        &gateway.url(),
        "/v1/responses",
        &pool.key,
        &body.to_string(),
    )
    .await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    let response = plain.json();
    assert_eq!(response["status"], "completed", "{response}");
    let text = response["output"][0]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.starts_with("Hello from acct-done-"), "{response}");

    // Streamed, the terminal event carries the items too.
    let mut body = body;
    body["stream"] = json!(true);
    let streamed = post_responses(
        &gateway.url(),
        "/v1/responses",
        &pool.key,
        &body.to_string(),
    )
    .await;
    assert_eq!(streamed.status, 200, "{}", streamed.body);
    let completed = streamed
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|e| e["type"] == "response.completed")
        .expect("a response.completed event");
    assert!(
        completed["response"]["output"][0]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Hello from acct-done-"),
        "{completed}"
    );
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_turns_with_empty_completed_output_continue_on_their_account() {
    let pool = pool();
    let gateway = pool.gateway();
    let frame = |previous: Option<&str>| {
        let mut frame = json!({"type": "response.create", "model": "gpt-5.1-codex",
            "stream": true, "store": false, "input": [{"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "Say hi"}]}]});
        if let Some(previous) = previous {
            frame["previous_response_id"] = json!(previous);
        }
        frame
    };
    let mut socket = ws_client::open(&gateway.url(), &pool.key).await.unwrap();
    let first = ws_client::turn(&mut socket, &frame(None)).await;
    assert_eq!(first["response"]["output"], json!([]), "relayed as sent");
    let id = first["response"]["id"].as_str().unwrap().to_owned();
    let account = pool.last_account_on("/backend-api/codex/responses");

    // The next turn continues the first on the same socket and account.
    let second = ws_client::turn(&mut socket, &frame(Some(&id))).await;
    assert_eq!(second["response"]["status"], "completed");
    let turns = pool.turns();
    let continued = turns
        .iter()
        .rev()
        .find(|r| r.method == "WS")
        .expect("the continuation reached upstream");
    assert_eq!(
        continued.body.as_ref().unwrap()["previous_response_id"],
        id.as_str()
    );
    assert_eq!(
        continued.chatgpt_account_id.as_deref(),
        Some(account.as_str())
    );
    gateway.stop();
}
