//! `/v1/chat/completions` parameters through the binary: each refused one answered with its
//! exact error before upstream, each dropped one absent from the upstream body, and the key's
//! policy ruling on the translated body.

use serde_json::{Value, json};

use crate::support::*;
use crate::v1_chat::{MODEL, chat, user};

#[tokio::test(flavor = "multi_thread")]
async fn refused_and_dropped_parameters() {
    let pool = TestPool::new(&["acct-params"], |_, _| {});
    let gateway = pool.gateway();
    let url = gateway.url();

    for (name, value) in [
        ("n", json!(2)),
        ("logprobs", json!(true)),
        ("top_logprobs", json!(3)),
        ("stop", json!(["END"])),
        ("logit_bias", json!({"50256": -100})),
        ("audio", json!({"voice": "alloy", "format": "wav"})),
        ("modalities", json!(["text", "audio"])),
        ("prediction", json!({"type": "content", "content": "x"})),
        ("web_search_options", json!({})),
        ("web_search_options", json!({"search_context_size": "low"})),
    ] {
        let mut body = json!({"model": MODEL, "messages": user("hi")});
        body[name] = value.clone();
        let refused = chat(&url, &pool.key, &body).await;
        if name == "web_search_options" && value == json!({}) {
            assert_eq!(refused.status, 200, "an empty default is dropped");
            continue;
        }
        assert_eq!(refused.status, 400, "{name}: {}", refused.body);
        assert_eq!(
            refused.json(),
            json!({"error": {"message": format!("Unsupported parameter: {name}"),
                "type": "invalid_request_error", "code": "unsupported_parameter",
                "param": name}})
        );
    }
    let legacy = json!({"model": MODEL, "messages": user("hi"),
        "functions": [{"name": "f", "parameters": {}}]});
    let refused = chat(&url, &pool.key, &legacy).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.json(),
        json!({"error": {"message":
            "`functions` and `function_call` are deprecated; use `tools` and `tool_choice`",
            "type": "invalid_request_error", "code": "invalid_request", "param": "functions"}})
    );
    let unknown = chat(
        &url,
        &pool.key,
        &json!({"model": MODEL, "messages": user("hi"),
        "frequency": 1}),
    )
    .await;
    assert_eq!(
        unknown.json(),
        json!({"error": {"message": "Unsupported parameter: frequency",
            "type": "invalid_request_error", "code": "unsupported_parameter",
            "param": "frequency"}})
    );
    let no_messages = chat(&url, &pool.key, &json!({"model": MODEL})).await;
    assert_eq!(
        no_messages.json(),
        json!({"error": {"message": "`messages` is required",
            "type": "invalid_request_error", "code": "invalid_request", "param": "messages"}})
    );
    assert_eq!(
        pool.turns().len(),
        1,
        "only the empty default reached upstream"
    );

    // Everything dropped: the request is served and upstream sees none of it.
    let dropped = [
        ("temperature", json!(0.2)),
        ("top_p", json!(0.9)),
        ("max_tokens", json!(64)),
        ("max_completion_tokens", json!(64)),
        ("presence_penalty", json!(0.5)),
        ("frequency_penalty", json!(0.5)),
        ("seed", json!(7)),
        ("user", json!("end-user-1")),
        ("store", json!(true)),
        ("n", json!(1)),
        ("logprobs", json!(false)),
        ("stop", Value::Null),
        ("modalities", json!(["text"])),
    ];
    let mut body = json!({"model": MODEL, "messages": user("hi")});
    for (name, value) in &dropped {
        body[*name] = value.clone();
    }
    let served = chat(&url, &pool.key, &body).await;
    assert_eq!(served.status, 200, "{}", served.body);
    let upstream = pool.turns().pop().unwrap().body.unwrap();
    for (name, _) in &dropped {
        if *name == "store" {
            assert_eq!(upstream["store"], false);
        } else {
            assert!(upstream.get(*name).is_none(), "{name} reached upstream");
        }
    }
    assert!(upstream.get("messages").is_none());
    gateway.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn key_policy_rules_on_chat() {
    let pool = TestPool::new(&["acct-chat-policy"], |_, _| {});
    let limited = cli_ok(
        &pool.data,
        &[
            "keys",
            "create",
            "--pool",
            "team",
            "--name",
            "chat-limited",
            "--allow-model",
            MODEL,
            "--max-reasoning-effort",
            "low",
        ],
    )
    .lines()
    .last()
    .unwrap()
    .to_owned();
    let gateway = pool.gateway();
    let url = gateway.url();

    let other = chat(
        &url,
        &limited,
        &json!({"model": "o3", "messages": user("hi")}),
    )
    .await;
    assert_eq!(other.status, 403, "{}", other.body);
    assert_eq!(other.json()["error"]["code"], "model_not_allowed");
    assert!(pool.turns().is_empty(), "nothing went upstream");

    let high = json!({"model": MODEL, "messages": user("hi"), "reasoning_effort": "high"});
    let served = chat(&url, &limited, &high).await;
    assert_eq!(served.status, 200, "{}", served.body);
    let upstream = pool.turns().pop().unwrap().body.unwrap();
    assert_eq!(
        upstream["reasoning"]["effort"], "low",
        "the effort is capped"
    );

    let unauthenticated = chat(&url, "sk-cxp-nope", &high).await;
    assert_eq!(unauthenticated.status, 401);
    gateway.stop();
}
