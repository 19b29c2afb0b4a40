//! Upstream Responses events → `chat.completion.chunk`s, one event at a time.
//!
//! What a streaming chat client gets, in order:
//!
//! 1. a role chunk (`delta: {role: "assistant", content: ""}`), sent lazily before the first
//!    visible output;
//! 2. `delta.content` for each `response.output_text.delta` (`delta.refusal` for
//!    `response.refusal.delta`); a message item that arrived whole in its
//!    `response.output_item.done` is sent as one content delta;
//! 3. tool-call deltas: `tool_calls[{index, id, type, function: {name, arguments: ""}}]` when
//!    a call starts, then `tool_calls[{index, function: {arguments}}]` for each arguments
//!    delta. `index` counts the turn's tool calls (0, 1, 2, …), not upstream's
//!    `output_index`; `id` is the upstream `call_id`. A custom tool call has the chat
//!    `custom` shape (`custom: {name, input}`), its input never parsed;
//! 4. a final chunk with `delta: {}` and the [`finish_reason`](super::finish);
//! 5. with `stream_options.include_usage`, a usage chunk (`choices: []`); every other chunk
//!    then carries `usage: null`, as OpenAI's do;
//! 6. `data: [DONE]`.
//!
//! A failed turn (`response.failed`, `error`), or an upstream stream that ends before its
//! terminal event, ends the stream with one error chunk, `data: {"error": {"message", "type":
//! "server_error", "code", "param": null}}` (sanitized by
//! [`translate::sanitize`](crate::translate::sanitize)), and no `[DONE]`. Reasoning,
//! `codex.*` and every other event are swallowed.

use serde_json::{Value, json};

use super::finish::finish_reason;
use super::identity::IdentityReader;
use crate::translate::event::{Terminal, event_type, output_index};
use crate::translate::{sanitize, usage};

/// One frame of the chat stream.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatFrame {
    /// A `chat.completion.chunk` object.
    Chunk(Value),
    /// The error object ending a failed stream: `{"error": {…}}`.
    Error(Value),
    /// The `[DONE]` sentinel of a finished stream.
    Done,
}

impl ChatFrame {
    /// The frame as server-sent-event bytes: `data: <json>\n\n` or `data: [DONE]\n\n`.
    pub fn to_sse(&self) -> Vec<u8> {
        let mut out = b"data: ".to_vec();
        match self {
            Self::Chunk(value) | Self::Error(value) => out.extend(value.to_string().into_bytes()),
            Self::Done => out.extend_from_slice(b"[DONE]"),
        }
        out.extend_from_slice(b"\n\n");
        out
    }
}

/// A tool call of the turn; its position in [`ChatStream::calls`] is its chat `index`.
#[derive(Debug, Clone)]
struct Call {
    output_index: Option<u64>,
    item_id: Option<String>,
    custom: bool,
    sent_input: bool,
}

/// Translates one streamed turn; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct ChatStream {
    model: String,
    include_usage: bool,
    identity: IdentityReader,
    role_sent: bool,
    calls: Vec<Call>,
    // Output indexes of message items that got text deltas (`None`: a delta without one).
    texted: Vec<Option<u64>>,
    ended: bool,
}

impl ChatStream {
    /// A stream for a client that asked for `model`, with the usage chunk when
    /// `include_usage`.
    pub fn new(model: impl Into<String>, include_usage: bool) -> Self {
        Self {
            model: model.into(),
            include_usage,
            identity: IdentityReader::default(),
            role_sent: false,
            calls: Vec::new(),
            texted: Vec::new(),
            ended: false,
        }
    }

    /// Whether the stream ended (terminal event, failure or [`finish`](Self::finish)).
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// The frames for one upstream event; nothing after the stream ended.
    pub fn on_event(&mut self, event: &Value) -> Vec<ChatFrame> {
        if self.ended {
            return Vec::new();
        }
        self.identity.observe(event);
        let mut out = Vec::new();
        match Terminal::of(event) {
            Some(Terminal::Failed) => {
                self.ended = true;
                out.push(ChatFrame::Error(
                    json!({"error": sanitize::error_object(event)}),
                ));
                return out;
            }
            Some(terminal) => {
                self.ended = true;
                let reason = finish_reason(terminal, event, !self.calls.is_empty());
                out.push(self.chunk(json!({}), Some(reason)));
                if self.include_usage {
                    let usage = event.pointer("/response/usage").unwrap_or(&Value::Null);
                    let mut head = self
                        .identity
                        .identity(&self.model)
                        .head("chat.completion.chunk");
                    head.insert("choices".into(), json!([]));
                    head.insert("usage".into(), usage::chat_usage(usage));
                    out.push(ChatFrame::Chunk(Value::Object(head)));
                }
                out.push(ChatFrame::Done);
                return out;
            }
            None => {}
        }
        let delta = |key| {
            event
                .get(key)
                .and_then(Value::as_str)
                .filter(|d| !d.is_empty())
        };
        match event_type(event) {
            "response.output_text.delta" => {
                if let Some(text) = delta("delta") {
                    let index = output_index(event);
                    if !self.texted.contains(&index) {
                        self.texted.push(index);
                    }
                    self.content(&mut out, json!({"content": text}));
                }
            }
            "response.refusal.delta" => {
                if let Some(text) = delta("delta") {
                    self.content(&mut out, json!({"refusal": text}));
                }
            }
            "response.output_item.added" => {
                if let Some(item) = event.get("item") {
                    self.call_started(&mut out, event, item);
                }
            }
            "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
                if let (Some(text), Some(index)) = (delta("delta"), self.call_of(event)) {
                    self.calls[index].sent_input = true;
                    let part = self.input_part(index, text);
                    self.content(&mut out, json!({"tool_calls": [part]}));
                }
            }
            "response.output_item.done" => {
                if let Some(item) = event.get("item") {
                    self.item_done(&mut out, event, item);
                }
            }
            _ => {}
        }
        out
    }

    /// Called when the upstream stream ends: the error chunk when the turn never reached
    /// its terminal event, else nothing.
    pub fn finish(&mut self) -> Vec<ChatFrame> {
        if self.ended {
            return Vec::new();
        }
        self.ended = true;
        vec![ChatFrame::Error(
            json!({"error": sanitize::ended_early_object()}),
        )]
    }

    /// A chunk of one choice with `delta` and `finish_reason`.
    fn chunk(&self, delta: Value, finish: Option<&str>) -> ChatFrame {
        let mut head = self
            .identity
            .identity(&self.model)
            .head("chat.completion.chunk");
        let mut choice = json!({"index": 0, "logprobs": null, "finish_reason": finish});
        choice["delta"] = delta;
        head.insert("choices".into(), Value::Array(vec![choice]));
        if self.include_usage {
            head.insert("usage".into(), Value::Null);
        }
        ChatFrame::Chunk(Value::Object(head))
    }

    /// The role chunk if not sent yet, then a chunk of `delta`.
    fn content(&mut self, out: &mut Vec<ChatFrame>, delta: Value) {
        if !self.role_sent {
            self.role_sent = true;
            out.push(self.chunk(json!({"role": "assistant", "content": ""}), None));
        }
        out.push(self.chunk(delta, None));
    }

    /// A tool call's first delta, for a `function_call` or `custom_tool_call` item.
    fn call_started(&mut self, out: &mut Vec<ChatFrame>, event: &Value, item: &Value) {
        let custom = match item.get("type").and_then(Value::as_str) {
            Some("function_call") => false,
            Some("custom_tool_call") => true,
            _ => return,
        };
        let index = self.calls.len();
        self.calls.push(Call {
            output_index: output_index(event),
            item_id: item.get("id").and_then(Value::as_str).map(str::to_owned),
            custom,
            sent_input: false,
        });
        let text = |key| item.get(key).and_then(Value::as_str).unwrap_or("");
        let (kind, body) = if custom {
            ("custom", json!({"name": text("name"), "input": ""}))
        } else {
            ("function", json!({"name": text("name"), "arguments": ""}))
        };
        let mut part = json!({"index": index, "id": text("call_id"), "type": kind});
        part[kind] = body;
        self.content(out, json!({"tool_calls": [part]}));
    }

    /// The chat index of the call an arguments (or input) delta belongs to.
    fn call_of(&self, event: &Value) -> Option<usize> {
        let item_id = event.get("item_id").and_then(Value::as_str);
        let index = output_index(event);
        self.calls.iter().position(|call| {
            (item_id.is_some() && call.item_id.as_deref() == item_id)
                || (index.is_some() && call.output_index == index)
        })
    }

    /// `tool_calls[i]` of a delta carrying `text` of the call's arguments (or input).
    fn input_part(&self, index: usize, text: &str) -> Value {
        if self.calls[index].custom {
            json!({"index": index, "custom": {"input": text}})
        } else {
            json!({"index": index, "function": {"arguments": text}})
        }
    }

    /// What a finished item adds when its deltas never came: a message's text, a call the
    /// stream never announced, or a call's arguments sent only whole.
    fn item_done(&mut self, out: &mut Vec<ChatFrame>, event: &Value, item: &Value) {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "message" => {
                let index = output_index(event);
                if self.texted.iter().any(|t| t.is_none() || *t == index) {
                    return;
                }
                let text: String = item
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|part| part.get("type").and_then(Value::as_str) == Some("output_text"))
                    .filter_map(|part| part.get("text").and_then(Value::as_str))
                    .collect();
                if !text.is_empty() {
                    self.content(out, json!({"content": text}));
                }
            }
            "function_call" | "custom_tool_call" => {
                let index = match self.call_of(event) {
                    Some(index) => index,
                    None => {
                        self.call_started(out, event, item);
                        self.calls.len() - 1
                    }
                };
                let key = if kind == "function_call" {
                    "arguments"
                } else {
                    "input"
                };
                let whole = item.get(key).and_then(Value::as_str).unwrap_or("");
                if !self.calls[index].sent_input && !whole.is_empty() {
                    self.calls[index].sent_input = true;
                    let part = self.input_part(index, whole);
                    self.content(out, json!({"tool_calls": [part]}));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stream: &mut ChatStream, events: &[Value]) -> Vec<ChatFrame> {
        let mut out: Vec<_> = events.iter().flat_map(|e| stream.on_event(e)).collect();
        out.extend(stream.finish());
        out
    }

    fn deltas(frames: &[ChatFrame]) -> Vec<Value> {
        frames
            .iter()
            .filter_map(|f| match f {
                ChatFrame::Chunk(c) => c.pointer("/choices/0/delta").cloned(),
                _ => None,
            })
            .collect()
    }

    fn created() -> Value {
        json!({"type": "response.created", "response": {"id": "resp_t1", "created_at": 5,
            "model": "gpt-5.4"}})
    }

    #[test]
    fn text_turn() {
        let mut stream = ChatStream::new("asked", false);
        let frames = run(
            &mut stream,
            &[
                created(),
                json!({"type": "response.reasoning_summary_text.delta", "delta": "hmm"}),
                json!({"type": "response.output_text.delta", "output_index": 0, "delta": "he"}),
                json!({"type": "response.output_text.delta", "output_index": 0, "delta": "y"}),
                json!({"type": "response.output_item.done", "output_index": 0, "item": {
                    "type": "message", "content": [{"type": "output_text", "text": "hey"}]}}),
                json!({"type": "response.completed", "response": {"usage": {}}}),
            ],
        );
        assert_eq!(
            deltas(&frames),
            [
                json!({"role": "assistant", "content": ""}),
                json!({"content": "he"}),
                json!({"content": "y"}),
                json!({}),
            ]
        );
        let ChatFrame::Chunk(last) = &frames[3] else {
            panic!("{frames:?}")
        };
        assert_eq!(last["id"], "chatcmpl-t1");
        assert_eq!(last["created"], 5);
        assert_eq!(last["model"], "gpt-5.4");
        assert_eq!(last["object"], "chat.completion.chunk");
        assert_eq!(last["choices"][0]["finish_reason"], "stop");
        assert!(last.get("usage").is_none());
        assert_eq!(frames[4], ChatFrame::Done);
        assert_eq!(frames.len(), 5);
    }

    #[test]
    fn failure_mid_stream_is_one_error_chunk_and_no_done() {
        let mut stream = ChatStream::new("m", true);
        let frames = run(
            &mut stream,
            &[
                created(),
                json!({"type": "response.output_text.delta", "delta": "par"}),
                json!({"type": "response.failed", "response": {"error": {
                    "code": "server_error", "message": "secret"}}}),
                json!({"type": "response.output_text.delta", "delta": "after"}),
            ],
        );
        assert_eq!(frames.len(), 3);
        assert_eq!(
            frames[2],
            ChatFrame::Error(json!({"error": {"message": "upstream request failed",
                "type": "server_error", "code": "server_error", "param": null}}))
        );
        let sse = String::from_utf8(frames[2].to_sse()).unwrap();
        let data = sse
            .strip_prefix("data: ")
            .unwrap()
            .strip_suffix("\n\n")
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(data).unwrap()["error"]["code"],
            "server_error"
        );
    }

    #[test]
    fn a_cut_stream_ends_with_the_ended_early_error() {
        let mut stream = ChatStream::new("m", false);
        let frames = run(&mut stream, &[created()]);
        assert_eq!(
            frames,
            [ChatFrame::Error(
                json!({"error": {"message": "upstream stream ended early",
                "type": "server_error", "code": "server_error", "param": null}})
            )]
        );
        assert_eq!(ChatFrame::Done.to_sse(), b"data: [DONE]\n\n");
    }
}
