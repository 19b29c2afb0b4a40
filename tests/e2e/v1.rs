//! `/v1/responses` through the binary: translated onto the Codex backend's rules, answered in
//! the shape the client asked for.

use serde_json::{Value, json};

use crate::support::*;

const PATH: &str = "/v1/responses";

/// The body an OpenAI SDK sends by default: no `stream`, no `store`, sampling parameters.
fn sdk_body() -> Value {
    json!({
        "model": "gpt-5.1-codex",
        "input": "Say hi",
        "temperature": 0.7,
        "top_p": 1,
        "max_output_tokens": 256,
        "truncation": "disabled",
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn sdk_defaults_are_translated_and_collected() {
    let pool = TestPool::new(&["acct-v1"], |_, _| {});
    let gateway = pool.gateway();
    let url = gateway.url();

    // Non-stream: one JSON response with the upstream text, after a streamed upstream turn.
    let plain = post_responses(&url, PATH, &pool.key, &sdk_body().to_string()).await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert_eq!(plain.headers["content-type"], "application/json");
    let response = plain.json();
    assert_eq!(response["object"], "response");
    assert_eq!(response["status"], "completed", "{response}");
    let text = &response["output"][0]["content"][0]["text"];
    assert_eq!(text, "Hello from acct-v1", "{response}");
    let turns = pool.turns();
    assert_eq!(turns.len(), 1);
    let upstream = turns[0].body.as_ref().expect("a JSON body");
    assert_eq!(upstream["stream"], true);
    assert_eq!(upstream["store"], false);
    for dropped in ["temperature", "top_p", "max_output_tokens", "truncation"] {
        assert!(
            upstream.get(dropped).is_none(),
            "{dropped} reached upstream"
        );
    }
    assert_eq!(upstream["input"][0]["content"][0]["text"], "Say hi");

    // Streamed: the events in order, ending with response.completed.
    let mut body = sdk_body();
    body["stream"] = json!(true);
    let streamed = post_responses(&url, PATH, &pool.key, &body.to_string()).await;
    assert_eq!(streamed.status, 200, "{}", streamed.body);
    let kinds: Vec<String> = streamed
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(kinds.first().map(String::as_str), Some("response.created"));
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("response.completed"),
        "{kinds:?}"
    );
    assert!(streamed.body.contains("Hello from acct-v1"));

    // A parameter with no Codex meaning is refused by name, before upstream.
    let before = pool.turns().len();
    let mut background = sdk_body();
    background["background"] = json!(true);
    let refused = post_responses(&url, PATH, &pool.key, &background.to_string()).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.json(),
        json!({"error": {
            "message": "Unsupported parameter: background",
            "type": "invalid_request_error",
            "code": "unsupported_parameter",
            "param": "background",
        }})
    );
    let no_input = post_responses(&url, PATH, &pool.key, r#"{"model":"gpt-5.1-codex"}"#).await;
    assert_eq!(no_input.status, 400);
    assert_eq!(no_input.json()["error"]["param"], "input");
    assert_eq!(pool.turns().len(), before, "refusals never reach upstream");

    // Compaction has no /v1 form.
    let compact = post_responses(&url, "/v1/responses/compact", &pool.key, "{}").await;
    assert_eq!(compact.status, 404);
    assert_eq!(compact.json()["error"]["code"], "unsupported_endpoint");
    gateway.stop();

    // The record names what was dropped (names only, in the translation's order).
    let dropped: Vec<Option<String>> = stored_records(&pool.data)
        .await
        .into_iter()
        .filter(|r| r.status == 200)
        .map(|r| r.dropped_parameters)
        .collect();
    let names = "max_output_tokens,temperature,top_p,truncation";
    assert_eq!(dropped, [Some(names.to_owned()), Some(names.to_owned())]);
}
