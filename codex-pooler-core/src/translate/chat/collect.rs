//! Upstream Responses events → one `chat.completion`, for a client that did not stream.
//!
//! The shape, exactly:
//!
//! ```json
//! {"id": "chatcmpl-…", "object": "chat.completion", "created": 0, "model": "…",
//!  "choices": [{"index": 0,
//!               "message": {"role": "assistant", "content": "…", "refusal": null,
//!                           "annotations": [], "tool_calls": [ … ]},
//!               "finish_reason": "stop", "logprobs": null}],
//!  "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0,
//!            "prompt_tokens_details": {"cached_tokens": 0},
//!            "completion_tokens_details": {"reasoning_tokens": 0}}}
//! ```
//!
//! The message is built from the `response.output_item.done` items (the backend may leave
//! `response.completed.output` empty): the `output_text` of message items joined as
//! `content` (`null` when there is none and the turn called tools or refused), `refusal`
//! parts as `refusal`, and `function_call` / `custom_tool_call` items as `tool_calls` (absent
//! when none). A failed turn, or a stream without a terminal event, is a typed
//! [`PoolerError`] (502 `upstream_error`, sanitized).

use serde_json::{Map, Value, json};

use super::finish::finish_reason;
use super::identity::IdentityReader;
use crate::error::PoolerError;
use crate::translate::event::{ItemLog, Terminal};
use crate::translate::{sanitize, usage};

/// Builds the `chat.completion` of a turn from its SSE events.
#[derive(Debug, Clone)]
pub struct ChatCollector {
    model: String,
    identity: IdentityReader,
    items: ItemLog,
    terminal: Option<(Terminal, Value)>,
}

impl ChatCollector {
    /// A collector for a client that asked for `model`.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            identity: IdentityReader::default(),
            items: ItemLog::default(),
            terminal: None,
        }
    }

    /// Feeds one event. Events after the terminal one are ignored.
    pub fn on_event(&mut self, event: &Value) {
        if self.terminal.is_some() {
            return;
        }
        self.identity.observe(event);
        self.items.observe(event);
        if let Some(kind) = Terminal::of(event) {
            self.terminal = Some((kind, event.clone()));
        }
    }

    /// The `chat.completion` object, or the error to answer.
    pub fn finish(self) -> Result<Value, PoolerError> {
        let Some((kind, event)) = self.terminal else {
            return Err(PoolerError::upstream_error(None));
        };
        if kind == Terminal::Failed {
            return Err(PoolerError::upstream_error(Some(sanitize::event_code(
                &event,
            ))));
        }
        let output = self.items.output(event.get("response"));
        let mut text = String::new();
        let mut refusal = None::<String>;
        let mut tool_calls = Vec::new();
        for item in &output {
            match item.get("type").and_then(Value::as_str) {
                Some("message") => message_parts(item, &mut text, &mut refusal),
                Some("function_call") => tool_calls.push(json!({
                    "id": field(item, "call_id"), "type": "function",
                    "function": {"name": field(item, "name"),
                        "arguments": field(item, "arguments")},
                })),
                Some("custom_tool_call") => tool_calls.push(json!({
                    "id": field(item, "call_id"), "type": "custom",
                    "custom": {"name": field(item, "name"), "input": field(item, "input")},
                })),
                _ => {}
            }
        }
        let reason = finish_reason(kind, &event, !tool_calls.is_empty());
        let content = if text.is_empty() && (!tool_calls.is_empty() || refusal.is_some()) {
            Value::Null
        } else {
            text.into()
        };
        let mut message = Map::new();
        message.insert("role".into(), "assistant".into());
        message.insert("content".into(), content);
        message.insert("refusal".into(), refusal.map_or(Value::Null, Value::from));
        message.insert("annotations".into(), json!([]));
        if !tool_calls.is_empty() {
            message.insert("tool_calls".into(), Value::Array(tool_calls));
        }
        let mut out = self.identity.identity(&self.model).head("chat.completion");
        out.insert(
            "choices".into(),
            json!([{"index": 0, "message": message, "finish_reason": reason, "logprobs": null}]),
        );
        let usage = event.pointer("/response/usage").unwrap_or(&Value::Null);
        out.insert("usage".into(), usage::chat_usage(usage));
        Ok(Value::Object(out))
    }
}

/// A string field of an item, `""` when absent.
fn field<'a>(item: &'a Value, name: &str) -> &'a str {
    item.get(name).and_then(Value::as_str).unwrap_or("")
}

/// Adds a message item's `output_text` to `text` and its `refusal` parts to `refusal`.
fn message_parts(item: &Value, text: &mut String, refusal: &mut Option<String>) {
    let parts = item.get("content").and_then(Value::as_array);
    for part in parts.into_iter().flatten() {
        match part.get("type").and_then(Value::as_str) {
            Some("output_text") => text.push_str(field(part, "text")),
            Some("refusal") => refusal
                .get_or_insert_with(String::new)
                .push_str(field(part, "refusal")),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(events: &[Value]) -> Result<Value, PoolerError> {
        let mut collector = ChatCollector::new("asked");
        for event in events {
            collector.on_event(event);
        }
        collector.finish()
    }

    #[test]
    fn a_text_turn_in_the_exact_shape() {
        let out = collect(&[
            json!({"type": "response.created", "response": {"id": "resp_9", "created_at": 3}}),
            json!({"type": "response.output_item.done", "output_index": 0, "item": {
                "type": "message", "content": [{"type": "output_text", "text": "hi"}]}}),
            json!({"type": "response.completed", "response": {"id": "resp_9", "output": [],
                "usage": {"input_tokens": 4, "output_tokens": 2,
                    "input_tokens_details": {"cached_tokens": 1},
                    "output_tokens_details": {"reasoning_tokens": 0}}}}),
        ])
        .unwrap();
        assert_eq!(
            out,
            json!({"id": "chatcmpl-9", "object": "chat.completion", "created": 3,
                "model": "asked",
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                    "message": {"role": "assistant", "content": "hi", "refusal": null,
                        "annotations": []}}],
                "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6,
                    "prompt_tokens_details": {"cached_tokens": 1},
                    "completion_tokens_details": {"reasoning_tokens": 0}}})
        );
    }

    #[test]
    fn tool_calls_finish_with_tool_calls_and_null_content() {
        let out = collect(&[
            json!({"type": "response.output_item.done", "output_index": 1, "item": {
                "type": "custom_tool_call", "call_id": "c2", "name": "patch", "input": "x"}}),
            json!({"type": "response.output_item.done", "output_index": 0, "item": {
                "type": "function_call", "call_id": "c1", "name": "exec",
                "arguments": "{}"}}),
            json!({"type": "response.completed", "response": {}}),
        ])
        .unwrap();
        let choice = &out["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        assert_eq!(choice["message"]["content"], Value::Null);
        assert_eq!(
            choice["message"]["tool_calls"],
            json!([
                {"id": "c1", "type": "function", "function": {"name": "exec", "arguments": "{}"}},
                {"id": "c2", "type": "custom", "custom": {"name": "patch", "input": "x"}},
            ])
        );
    }

    #[test]
    fn incomplete_and_failed_turns() {
        let cut = collect(&[json!({"type": "response.incomplete", "response": {
            "incomplete_details": {"reason": "max_output_tokens"},
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "par"}]}]}})])
        .unwrap();
        assert_eq!(cut["choices"][0]["finish_reason"], "length");
        assert_eq!(cut["choices"][0]["message"]["content"], "par");
        let failed = collect(&[json!({"type": "response.failed", "response": {
            "error": {"code": "rate_limit_exceeded", "message": "secret"}}})])
        .unwrap_err();
        assert_eq!(failed.status().as_u16(), 502);
        assert_eq!(
            failed.body()["error"]["upstream_code"],
            "rate_limit_exceeded"
        );
        assert!(!failed.body().to_string().contains("secret"));
        let cut_short = collect(&[]).unwrap_err();
        assert_eq!(cut_short.body()["error"]["code"], "upstream_error");
    }
}
