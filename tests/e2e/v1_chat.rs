//! `/v1/chat/completions` through the binary and the fake backend: the chat body translated
//! onto a Responses turn, the turn answered as chunks or one `chat.completion`.

use serde_json::{Value, json};

use crate::support::*;

const PATH: &str = "/v1/chat/completions";
pub(crate) const MODEL: &str = "gpt-5.1-codex";

/// POSTs a chat body with a Pool API key.
pub(crate) async fn chat(url: &str, key: &str, body: &Value) -> Reply {
    post_responses(url, PATH, key, &body.to_string()).await
}

/// The `data:` payloads of a chat stream, JSON parsed (`[DONE]` as the string).
fn frames(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter_map(|block| block.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).unwrap_or_else(|_| json!(data)))
        .collect()
}

/// The joined `delta.content` of a chat stream.
fn streamed_text(frames: &[Value]) -> String {
    frames
        .iter()
        .filter_map(|f| {
            f.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
        })
        .collect()
}

/// The `finish_reason` of a chat stream's final chunk.
fn streamed_finish(frames: &[Value]) -> Value {
    frames
        .iter()
        .filter_map(|f| f.pointer("/choices/0/finish_reason"))
        .find(|r| !r.is_null())
        .cloned()
        .unwrap_or(Value::Null)
}

/// A system message and one user message.
pub(crate) fn user(text: &str) -> Value {
    json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}])
}

fn exec_tool() -> Value {
    json!([{"type": "function", "function": {"name": "exec_command",
        "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}}])
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_and_streamed_chat() {
    let pool = TestPool::new(&["acct-chat"], |_, _| {});
    let gateway = pool.gateway();
    let url = gateway.url();

    // Non-stream, with what SDKs and agent tools send by habit.
    let body = json!({"model": MODEL, "messages": user("Say hi"), "temperature": 0.7,
        "top_p": 1, "max_tokens": 100, "n": 1, "stream": false});
    let plain = chat(&url, &pool.key, &body).await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    assert_eq!(plain.headers["content-type"], "application/json");
    let completion = plain.json();
    assert_eq!(completion["object"], "chat.completion");
    assert!(completion["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(completion["model"], MODEL);
    assert!(completion["created"].as_i64().unwrap() > 0);
    let choice = &completion["choices"][0];
    assert_eq!(
        choice["message"],
        json!({"role": "assistant", "content": "Hello from acct-chat", "refusal": null,
            "annotations": []})
    );
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["index"], 0);
    let usage = &completion["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 0, "{usage}");
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
        )
    );
    let turns = pool.turns();
    let upstream = turns[0].body.as_ref().expect("a JSON body");
    assert_eq!(upstream["stream"], true);
    assert_eq!(upstream["store"], false);
    assert_eq!(upstream["instructions"], "Be brief.");
    assert_eq!(upstream["input"][0]["content"][0]["text"], "Say hi");
    assert_eq!(upstream["include"], json!(["reasoning.encrypted_content"]));

    // Streamed, with the usage chunk.
    let body = json!({"model": MODEL, "messages": user("Say hi"), "stream": true,
        "stream_options": {"include_usage": true}});
    let streamed = chat(&url, &pool.key, &body).await;
    assert_eq!(streamed.status, 200, "{}", streamed.body);
    assert!(
        streamed.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let frames = frames(&streamed.body);
    assert_eq!(frames.last(), Some(&json!("[DONE]")), "{frames:?}");
    assert_eq!(
        frames[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert_eq!(streamed_text(&frames), "Hello from acct-chat");
    assert_eq!(streamed_finish(&frames), "stop");
    let usage_chunk = &frames[frames.len() - 2];
    assert_eq!(usage_chunk["choices"], json!([]), "{usage_chunk}");
    assert!(usage_chunk["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    let ids: Vec<_> = frames[..frames.len() - 1]
        .iter()
        .map(|f| &f["id"])
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one id per turn: {ids:?}"
    );
    assert!(
        frames
            .iter()
            .all(|f| f == "[DONE]" || f["object"] == "chat.completion.chunk")
    );
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_call_round_trips_in_both_modes() {
    let pool = TestPool::new(&["acct-tools"], |_, _| {});
    let gateway = pool.gateway();
    let url = gateway.url();

    for stream in [false, true] {
        let ask = json!({"model": MODEL, "messages": user("RUN_TOOL: ls"),
            "tools": exec_tool(), "tool_choice": "auto", "stream": stream});
        let called = chat(&url, &pool.key, &ask).await;
        assert_eq!(called.status, 200, "{}", called.body);
        let (call_id, name, arguments) = if stream {
            let frames = frames(&called.body);
            assert_eq!(streamed_finish(&frames), "tool_calls", "{frames:?}");
            let deltas: Vec<&Value> = frames
                .iter()
                .filter_map(|f| f.pointer("/choices/0/delta/tool_calls/0"))
                .collect();
            assert!(deltas.iter().all(|d| d["index"] == 0), "{deltas:?}");
            let arguments: String = deltas
                .iter()
                .filter_map(|d| d.pointer("/function/arguments").and_then(Value::as_str))
                .collect();
            assert_eq!(deltas[0]["type"], "function");
            (
                deltas[0]["id"].as_str().unwrap().to_owned(),
                deltas[0]["function"]["name"].clone(),
                arguments,
            )
        } else {
            let choice = &called.json()["choices"][0];
            assert_eq!(choice["finish_reason"], "tool_calls", "{choice}");
            assert_eq!(choice["message"]["content"], Value::Null);
            let call = &choice["message"]["tool_calls"][0];
            assert_eq!(call["type"], "function");
            (
                call["id"].as_str().unwrap().to_owned(),
                call["function"]["name"].clone(),
                call["function"]["arguments"].as_str().unwrap().to_owned(),
            )
        };
        assert!(call_id.starts_with("call_"), "{call_id}");
        assert_eq!(name, "exec_command");
        assert_eq!(
            serde_json::from_str::<Value>(&arguments).unwrap(),
            json!({"cmd": "ls"})
        );
        let upstream = pool.turns().pop().unwrap().body.unwrap();
        assert_eq!(
            upstream["tools"],
            json!([{"type": "function", "name": "exec_command", "strict": false,
                "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}])
        );

        // The tool's result goes back; the model answers with it.
        let mut messages = user("RUN_TOOL: ls").as_array().unwrap().clone();
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": call_id, "type": "function",
                "function": {"name": "exec_command", "arguments": arguments}}]}));
        messages.push(json!({"role": "tool", "tool_call_id": call_id, "content": "a.txt"}));
        let answer = json!({"model": MODEL, "messages": messages, "tools": exec_tool(),
            "stream": stream});
        let answered = chat(&url, &pool.key, &answer).await;
        assert_eq!(answered.status, 200, "{}", answered.body);
        let text = if stream {
            let frames = frames(&answered.body);
            assert_eq!(streamed_finish(&frames), "stop");
            streamed_text(&frames)
        } else {
            let completion = answered.json();
            assert_eq!(completion["choices"][0]["finish_reason"], "stop");
            completion["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(text, "Tool said: a.txt");
        let upstream = pool.turns().pop().unwrap().body.unwrap();
        let input = upstream["input"].as_array().unwrap();
        assert_eq!(input[input.len() - 2]["type"], "function_call");
        assert_eq!(
            input[input.len() - 1],
            json!({"type": "function_call_output", "call_id": call_id, "output": "a.txt"})
        );
    }
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn finish_reasons_and_failed_streams() {
    let pool = TestPool::new(&["acct-ends"], |_, _| {});
    let gateway = pool.gateway();
    let url = gateway.url();

    for (prompt, reason) in [
        ("END_INCOMPLETE: max_output_tokens", "length"),
        ("END_INCOMPLETE: content_filter", "content_filter"),
    ] {
        let plain = chat(
            &url,
            &pool.key,
            &json!({"model": MODEL, "messages": user(prompt)}),
        )
        .await;
        assert_eq!(plain.status, 200, "{}", plain.body);
        assert_eq!(plain.json()["choices"][0]["finish_reason"], reason);
        let body = json!({"model": MODEL, "messages": user(prompt), "stream": true});
        let streamed = chat(&url, &pool.key, &body).await;
        let got = frames(&streamed.body);
        assert_eq!(streamed_finish(&got), reason);
        assert_eq!(got.last(), Some(&json!("[DONE]")));
    }

    // A turn failing after its output: one sanitized error chunk, and no [DONE].
    let failing = json!({"model": MODEL, "messages": user("FAIL_TURN: server_error"),
        "stream": true});
    let streamed = chat(&url, &pool.key, &failing).await;
    assert_eq!(streamed.status, 200, "{}", streamed.body);
    let failed = frames(&streamed.body);
    assert_eq!(streamed_text(&failed), "Hello from acct-ends");
    assert_eq!(
        failed.last().unwrap(),
        &json!({"error": {"message": "upstream request failed", "type": "server_error",
            "code": "server_error", "param": null}})
    );
    assert!(!streamed.body.contains("[DONE]"), "{}", streamed.body);
    assert!(!streamed.body.contains("fake failure"), "{}", streamed.body);
    let mut plain = failing.clone();
    plain["stream"] = json!(false);
    let plain = chat(&url, &pool.key, &plain).await;
    assert_eq!(plain.status, 502, "{}", plain.body);
    assert_eq!(plain.json()["error"]["code"], "upstream_error");
    assert!(!plain.body.contains("fake failure"), "{}", plain.body);

    // A stream cut before its terminal event: the ended-early error chunk, no [DONE].
    pool.fake.set_account(&pool.creds[0].account_id, |a| {
        a.break_after_events = Some(3)
    });
    let body = json!({"model": MODEL, "messages": user("Say hi"), "stream": true});
    let cut = chat(&url, &pool.key, &body).await;
    let cut_frames = frames(&cut.body);
    assert_eq!(
        cut_frames.last().unwrap(),
        &json!({"error": {"message": "upstream stream ended early", "type": "server_error",
            "code": "server_error", "param": null}}),
        "{}",
        cut.body
    );
    assert!(!cut.body.contains("[DONE]"));

    // Refused before streaming: an OpenAI-shaped error, status kept.
    pool.fake.set_account(&pool.creds[0].account_id, |a| {
        a.break_after_events = None;
        a.fail_status = Some(400);
    });
    for stream in [false, true] {
        let body = json!({"model": MODEL, "messages": user("Say hi"), "stream": stream});
        let refused = chat(&url, &pool.key, &body).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert_eq!(refused.headers["content-type"], "application/json");
        let error = &refused.json()["error"];
        assert_eq!(error["type"], "invalid_request_error", "{error}");
        assert!(error["message"].is_string(), "{error}");
    }
    gateway.stop();
}
