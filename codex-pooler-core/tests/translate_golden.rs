//! Golden tests for `translate`: every file under `tests/fixtures/translate/` is one case.
//!
//! - `chat_request_*.json` / `responses_request_*.json`: `request` → `upstream` (with
//!   `client_stream`, `include_usage`, `dropped`), or → `error` (the exact 400 body).
//! - `chat_stream_*.json`: upstream `events` → the client's `frames` (chunk objects, error
//!   objects, `"[DONE]"`), and when `completion` is given, the same events collected into
//!   that `chat.completion`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test code: a panic is the failure report.

use std::path::{Path, PathBuf};

use codex_pooler_core::translate::chat::{self, ChatCollector, ChatFrame, ChatStream};
use codex_pooler_core::translate::responses;
use serde_json::{Map, Value, json};

fn fixtures(prefix: &str) -> Vec<(PathBuf, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/translate");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".json"))
        })
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            (path, value)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!out.is_empty(), "no {prefix}* fixtures in {dir:?}");
    out
}

fn object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

#[test]
fn chat_requests() {
    for (path, case) in fixtures("chat_request_") {
        match chat::to_codex(object(&case["request"])) {
            Ok(call) => {
                assert_eq!(Value::Object(call.body), case["upstream"], "{path:?}");
                assert_eq!(call.client_stream, case["client_stream"], "{path:?}");
                assert_eq!(call.include_usage, case["include_usage"], "{path:?}");
                assert_eq!(json!(call.dropped), case["dropped"], "{path:?}");
            }
            Err(err) => assert_eq!(err.body(), case["error"], "{path:?}"),
        }
    }
}

#[test]
fn responses_requests() {
    for (path, case) in fixtures("responses_request_") {
        match responses::to_codex(object(&case["request"])) {
            Ok(call) => {
                assert_eq!(Value::Object(call.body), case["upstream"], "{path:?}");
                assert_eq!(call.client_stream, case["client_stream"], "{path:?}");
                assert_eq!(json!(call.dropped), case["dropped"], "{path:?}");
            }
            Err(err) => assert_eq!(err.body(), case["error"], "{path:?}"),
        }
    }
}

#[test]
fn chat_streams() {
    for (path, case) in fixtures("chat_stream_") {
        let model = case["model"].as_str().unwrap();
        let events = case["events"].as_array().unwrap();
        let mut stream = ChatStream::new(model, case["include_usage"] == true);
        let mut frames: Vec<_> = events.iter().flat_map(|e| stream.on_event(e)).collect();
        frames.extend(stream.finish());
        let frames: Vec<Value> = frames
            .into_iter()
            .map(|frame| match frame {
                ChatFrame::Chunk(v) | ChatFrame::Error(v) => v,
                ChatFrame::Done => json!("[DONE]"),
            })
            .collect();
        assert_eq!(json!(frames), case["frames"], "{path:?}");
        if let Some(expected) = case.get("completion") {
            let mut collector = ChatCollector::new(model);
            events.iter().for_each(|e| collector.on_event(e));
            assert_eq!(&collector.finish().unwrap(), expected, "{path:?}");
        }
    }
}
