//! Property tests for `translate`: random JSON-ish `/v1` bodies never panic and always give
//! either an upstream body that streams and stores nothing, or a typed 400; random event
//! sequences always end a chat stream with exactly one `[DONE]` or one error frame.

use codex_pooler_core::translate::chat::{self, ChatCollector, ChatFrame, ChatStream};
use codex_pooler_core::translate::responses;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Field names the translators know, plus a few they do not.
const KEYS: &[&str] = &[
    "model",
    "messages",
    "input",
    "role",
    "content",
    "type",
    "text",
    "image_url",
    "url",
    "detail",
    "file",
    "file_id",
    "tool_calls",
    "id",
    "function",
    "name",
    "arguments",
    "tool_call_id",
    "custom",
    "tools",
    "tool_choice",
    "parameters",
    "strict",
    "stream",
    "stream_options",
    "include_usage",
    "response_format",
    "json_schema",
    "schema",
    "n",
    "stop",
    "logprobs",
    "temperature",
    "max_tokens",
    "store",
    "include",
    "instructions",
    "reasoning_effort",
    "verbosity",
    "modalities",
    "functions",
    "background",
    "zzz",
];

/// Values the translators look for, plus arbitrary ones.
const WORDS: &[&str] = &[
    "user",
    "assistant",
    "system",
    "developer",
    "tool",
    "function",
    "text",
    "image_url",
    "file",
    "custom",
    "json_schema",
    "json_object",
    "auto",
    "none",
    "required",
    "gpt-5",
    "input_audio",
    "",
];

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..5).prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// A body that usually has a model and a plausible `messages` or `input`.
fn body() -> impl Strategy<Value = Map<String, Value>> {
    (
        prop::collection::vec((prop::sample::select(KEYS), json()), 0..6),
        prop::option::of(json()),
        any::<bool>(),
    )
        .prop_map(|(fields, conversation, with_model)| {
            let mut body: Map<String, Value> =
                fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            if with_model {
                body.insert("model".into(), "gpt-5".into());
            }
            if let Some(conversation) = conversation {
                let list = match conversation {
                    Value::Array(list) => Value::Array(list),
                    other => Value::Array(vec![other]),
                };
                body.insert("messages".into(), list.clone());
                body.insert("input".into(), list);
            }
            body
        })
}

fn events() -> impl Strategy<Value = Vec<Value>> {
    const TYPES: &[&str] = &[
        "response.created",
        "response.output_text.delta",
        "response.refusal.delta",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
        "response.output_item.done",
        "response.completed",
        "response.incomplete",
        "response.failed",
        "error",
        "codex.rate_limits",
    ];
    let event = (prop::sample::select(TYPES), json(), json(), 0u64..3).prop_map(
        |(kind, item, response, index)| {
            serde_json::json!({"type": kind, "item": item, "response": response,
                "output_index": index, "item_id": "fc_1", "delta": "d"})
        },
    );
    prop::collection::vec(event, 0..12)
}

proptest! {
    #[test]
    fn chat_bodies_translate_or_are_typed_400s(body in body()) {
        match chat::to_codex(body) {
            Ok(call) => {
                prop_assert_eq!(&call.body["stream"], &Value::Bool(true));
                prop_assert_eq!(&call.body["store"], &Value::Bool(false));
                prop_assert!(call.body["input"].is_array());
            }
            Err(err) => prop_assert_eq!(err.status().as_u16(), 400),
        }
    }

    #[test]
    fn responses_bodies_translate_or_are_typed_400s(body in body()) {
        match responses::to_codex(body) {
            Ok(call) => {
                prop_assert_eq!(&call.body["stream"], &Value::Bool(true));
                prop_assert_eq!(&call.body["store"], &Value::Bool(false));
            }
            Err(err) => prop_assert_eq!(err.status().as_u16(), 400),
        }
    }

    #[test]
    fn chat_streams_end_exactly_once(events in events(), usage in any::<bool>()) {
        let mut stream = ChatStream::new("m", usage);
        let mut collector = ChatCollector::new("m");
        let mut frames = Vec::new();
        for event in &events {
            frames.extend(stream.on_event(event));
            collector.on_event(event);
        }
        frames.extend(stream.finish());
        let ends = frames
            .iter()
            .filter(|f| matches!(f, ChatFrame::Done | ChatFrame::Error(_)))
            .count();
        prop_assert_eq!(ends, 1);
        prop_assert!(matches!(frames.last(), Some(ChatFrame::Done | ChatFrame::Error(_))));
        match collector.finish() {
            Ok(completion) => prop_assert_eq!(&completion["object"], "chat.completion"),
            Err(err) => prop_assert_eq!(err.status().as_u16(), 502),
        }
    }
}
