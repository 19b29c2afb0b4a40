//! What the fake model answers: plain text, an `exec_command` tool call, a call of a tool the
//! prompt names, or an echo of a tool's output, plus the ids and token usage of that answer.

use serde_json::{Value, json};

use super::named_tool::{NamedTool, named_tool_call};
pub(crate) use super::turn_end::TurnEnd;

/// A user message containing this marker asks for a tool call running the rest of its line.
pub(crate) const TOOL_MARKER: &str = "RUN_TOOL:";
/// The tool the fake calls; the Codex CLI runs shell commands through it.
pub(crate) const TOOL_NAME: &str = "exec_command";
/// How much of a tool's output the follow-up answer quotes.
const TOOL_ECHO_CHARS: usize = 200;
/// Rough bytes per token used for every token estimate.
const BYTES_PER_TOKEN: u64 = 4;

/// What the fake model answers to one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    /// An assistant message with this text.
    Text(String),
    /// A `function_call` of the tool `name` with these arguments.
    ToolCall {
        /// The tool name: [`TOOL_NAME`] for [`TOOL_MARKER`], else the name the prompt gave.
        name: String,
        /// The arguments, a JSON document (`{"cmd": <command>}` for [`TOOL_MARKER`]).
        arguments: String,
    },
    /// One `compaction` item: the answer to remote compaction v2 (a trailing
    /// `compaction_trigger` input item).
    Compaction,
    /// One `image_generation_call` item: the answer when the request forces its
    /// `image_generation` tool (`tool_choice: {"type": "image_generation"}`).
    Image {
        /// The tool's options as sent (`size`, `quality`, `background`, `output_format`, ...).
        tool: Value,
        /// The number of `input_image` parts of the last user message (edits send some).
        input_images: usize,
    },
}

impl Answer {
    /// The answer to a request body, the first rule that applies:
    /// 1. the request forces an `image_generation` tool it declares → an image;
    /// 2. the last input item is a `compaction_trigger` → one `compaction` item;
    /// 3. the last input item is a `function_call_output` → `"Tool said: <first 200 chars>"`;
    /// 4. the last input item is a user message containing [`TOOL_MARKER`] followed by a
    ///    non-empty command → a tool call running it;
    /// 5. the last input item is a user message with a `CALL_TOOL: <name> <arguments>` line →
    ///    a call of that offered function tool (see [`super::named_tool`]);
    /// 6. otherwise `default_text`.
    pub(crate) fn for_request(body: &Value, default_text: String) -> Self {
        if let Some(tool) = forced_image_tool(body) {
            let input_images = match body.get("input") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter(|item| is_user_message(item))
                    .filter_map(|item| item.get("content").and_then(Value::as_array))
                    .flatten()
                    .filter(|part| part.get("type").and_then(Value::as_str) == Some("input_image"))
                    .count(),
                _ => 0,
            };
            return Self::Image {
                tool: tool.clone(),
                input_images,
            };
        }
        let last = match body.get("input") {
            Some(Value::Array(items)) => items.last(),
            input @ Some(Value::String(_)) => input,
            _ => None,
        };
        let Some(last) = last else {
            return Self::Text(default_text);
        };
        if last.get("type").and_then(Value::as_str) == Some("compaction_trigger") {
            return Self::Compaction;
        }
        if last.get("type").and_then(Value::as_str) == Some("function_call_output") {
            let output = last.get("output").map(content_text).unwrap_or_default();
            let quoted: String = output.chars().take(TOOL_ECHO_CHARS).collect();
            return Self::Text(format!("Tool said: {quoted}"));
        }
        let Some(user_text) = user_text(last) else {
            return Self::Text(default_text);
        };
        if let Some(command) = tool_command(&user_text) {
            return Self::ToolCall {
                name: TOOL_NAME.to_owned(),
                arguments: json!({ "cmd": command }).to_string(),
            };
        }
        match named_tool_call(&user_text, body) {
            Some(NamedTool::Call { name, arguments }) => Self::ToolCall { name, arguments },
            Some(NamedTool::Refused(text)) => Self::Text(text),
            None => Self::Text(default_text),
        }
    }
}

/// The text of `item` when it is a user message (or a string `input`).
pub(crate) fn user_text(item: &Value) -> Option<String> {
    match item {
        Value::String(text) => Some(text.clone()),
        item if is_user_message(item) => item.get("content").map(content_text),
        _ => None,
    }
}

/// The `image_generation` tool of `body` when its `tool_choice` forces that tool.
fn forced_image_tool(body: &Value) -> Option<&Value> {
    let forced = body
        .get("tool_choice")
        .and_then(|c| c.get("type"))
        .and_then(Value::as_str)
        == Some(IMAGE_TOOL);
    if !forced {
        return None;
    }
    body.get("tools")?
        .as_array()?
        .iter()
        .find(|t| t.get("type").and_then(Value::as_str) == Some(IMAGE_TOOL))
}

/// The hosted image tool's type.
const IMAGE_TOOL: &str = "image_generation";

/// The bytes of the fake's "image" by `label`: a PNG signature, then text naming the account
/// and how many input images it was given, so tests can decode and check them.
pub(crate) fn image_bytes(label: &str, input_images: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(format!("image-from-{label} inputs={input_images}").as_bytes());
    bytes
}

/// A message item from the user (`type` may be omitted, as in "easy" input messages).
fn is_user_message(item: &Value) -> bool {
    let kind = item.get("type").and_then(Value::as_str);
    matches!(kind, None | Some("message"))
        && item.get("role").and_then(Value::as_str) == Some("user")
}

/// The text of a message `content` or tool `output`: a string, or the `text` of each part.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The command after [`TOOL_MARKER`], up to the end of its line, if not blank.
fn tool_command(text: &str) -> Option<String> {
    let (_, rest) = text.split_once(TOOL_MARKER)?;
    let command = rest.lines().next().unwrap_or_default().trim();
    (!command.is_empty()).then(|| command.to_owned())
}

/// An output item of the response, in the two states the stream shows it in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OutputItem {
    /// An assistant message.
    Message {
        /// The item id (`msg_...`).
        id: String,
        /// The full text.
        text: String,
    },
    /// A function (tool) call.
    FunctionCall {
        /// The item id (`fc_...`).
        id: String,
        /// The id the tool's `function_call_output` must quote.
        call_id: String,
        /// The tool name.
        name: String,
        /// The arguments, a JSON document in a string.
        arguments: String,
    },
    /// The summary of a compacted conversation.
    Compaction {
        /// The item id (`cmp_...`).
        id: String,
        /// The opaque compacted state.
        encrypted_content: String,
    },
    /// A finished hosted image generation.
    ImageGeneration {
        /// The item id (`ig_...`).
        id: String,
        /// The image, base64.
        result: String,
        /// The tool's options as sent, echoed on the item like the backend's.
        tool: Value,
    },
}

impl OutputItem {
    /// The item as `response.output_item.added` announces it: no content yet.
    pub(crate) fn started(&self) -> Value {
        match self {
            Self::Message { id, .. } => json!({
                "type": "message", "id": id, "role": "assistant", "status": "in_progress",
                "content": [],
            }),
            Self::FunctionCall {
                id, call_id, name, ..
            } => json!({
                "type": "function_call", "id": id, "status": "in_progress", "name": name,
                "arguments": "", "call_id": call_id,
            }),
            Self::Compaction { .. } => self.done(),
            Self::ImageGeneration { id, .. } => json!({
                "type": "image_generation_call", "id": id, "status": "in_progress",
            }),
        }
    }

    /// The finished item, as in `response.output_item.done` and the final `output`.
    pub(crate) fn done(&self) -> Value {
        match self {
            Self::Message { id, text } => json!({
                "type": "message", "id": id, "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }),
            Self::FunctionCall {
                id,
                call_id,
                name,
                arguments,
            } => json!({
                "type": "function_call", "id": id, "status": "completed", "name": name,
                "arguments": arguments, "call_id": call_id,
            }),
            Self::Compaction {
                id,
                encrypted_content,
            } => json!({
                "type": "compaction", "id": id, "encrypted_content": encrypted_content,
            }),
            Self::ImageGeneration { id, result, tool } => {
                let option = |name: &str, default: &str| {
                    tool.get(name)
                        .and_then(Value::as_str)
                        .filter(|v| *v != "auto")
                        .unwrap_or(default)
                        .to_owned()
                };
                json!({
                    "type": "image_generation_call", "id": id, "status": "completed",
                    "result": result,
                    "revised_prompt": "a fake image",
                    "size": option("size", "1024x1024"),
                    "quality": option("quality", "medium"),
                    "background": option("background", "opaque"),
                    "output_format": option("output_format", "png"),
                })
            }
        }
    }

    /// The bytes of visible output, for token estimates.
    fn visible_len(&self) -> usize {
        match self {
            Self::Message { text, .. } => text.len(),
            Self::FunctionCall { arguments, .. } => arguments.len(),
            Self::Compaction {
                encrypted_content, ..
            } => encrypted_content.len(),
            Self::ImageGeneration { result, .. } => result.len(),
        }
    }
}

/// Token counts reported in `usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Prompt tokens.
    pub(crate) input_tokens: u64,
    /// Of which served from the prompt cache.
    pub(crate) cached_tokens: u64,
    /// Completion tokens, reasoning included.
    pub(crate) output_tokens: u64,
    /// Of which reasoning.
    pub(crate) reasoning_tokens: u64,
}

impl Usage {
    /// The `usage` object of a response.
    pub(crate) fn to_json(self) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.input_tokens + self.output_tokens,
        })
    }
}

/// A token estimate for this many bytes (at least one token).
pub(crate) fn estimate_tokens(bytes: usize) -> u64 {
    u64::try_from(bytes)
        .unwrap_or(u64::MAX)
        .div_ceil(BYTES_PER_TOKEN)
        .max(1)
}

/// One complete answer: the response object's identity, its single output item and its usage.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    /// The response id (`resp_...`).
    pub(crate) id: String,
    /// Epoch seconds.
    pub(crate) created_at: u64,
    /// The model, as requested.
    pub(crate) model: String,
    /// The output item.
    pub(crate) item: OutputItem,
    /// Token usage.
    pub(crate) usage: Usage,
    /// How the turn ends.
    pub(crate) end: TurnEnd,
}

impl Reply {
    /// The response object while streaming: `in_progress`, no output, no usage.
    pub(crate) fn in_progress(&self) -> Value {
        json!({
            "id": self.id, "object": "response", "created_at": self.created_at,
            "status": "in_progress", "model": self.model, "output": [], "usage": null,
        })
    }

    /// The finished response object, as in `response.completed` and the non-streaming body.
    pub(crate) fn completed(&self) -> Value {
        json!({
            "id": self.id, "object": "response", "created_at": self.created_at,
            "status": "completed", "model": self.model, "output": [self.item.done()],
            "usage": self.usage.to_json(),
        })
    }
}

/// The answer of `account` to a turn `body` of `body_len` bytes for `model`: fresh ids (from
/// `n`), the output item [`Answer::for_request`] picks, and estimated usage. Shared by the HTTP
/// and websocket transports.
pub(crate) fn build_reply(
    n: u64,
    config: &super::config::FakeConfig,
    account: &super::config::FakeAccount,
    model: &str,
    body: &Value,
    body_len: usize,
) -> Reply {
    let default_text = config
        .text
        .clone()
        .unwrap_or_else(|| format!("Hello from {}", account.label));
    let item = match Answer::for_request(body, default_text) {
        Answer::Text(text) => OutputItem::Message {
            id: format!("msg_fake_{n}"),
            text,
        },
        Answer::ToolCall { name, arguments } => OutputItem::FunctionCall {
            id: format!("fc_fake_{n}"),
            call_id: format!("call_fake_{n}"),
            name,
            arguments,
        },
        Answer::Compaction => OutputItem::Compaction {
            id: format!("cmp_fake_{n}"),
            encrypted_content: format!("compacted-by-{}", account.label),
        },
        Answer::Image { tool, input_images } => {
            use base64::Engine;
            let bytes = image_bytes(&account.label, input_images);
            OutputItem::ImageGeneration {
                id: format!("ig_fake_{n}"),
                result: base64::engine::general_purpose::STANDARD.encode(bytes),
                tool,
            }
        }
    };
    let input_tokens = estimate_tokens(body_len);
    let output_tokens = config
        .output_tokens
        .unwrap_or(estimate_tokens(item.visible_len()) + config.reasoning_tokens);
    Reply {
        id: format!("resp_fake_{n}"),
        created_at: super::quota::epoch_seconds(),
        model: model.to_owned(),
        item,
        usage: Usage {
            input_tokens,
            cached_tokens: config.cached_tokens.min(input_tokens),
            output_tokens,
            reasoning_tokens: config.reasoning_tokens.min(output_tokens),
        },
        end: TurnEnd::for_request(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Value {
        json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    }

    #[test]
    fn plain_prompt_gets_default_text() {
        let body = json!({"model": "m", "input": [user("Say hi")]});
        assert_eq!(
            Answer::for_request(&body, "hi".to_owned()),
            Answer::Text("hi".to_owned())
        );
    }

    #[test]
    fn marker_asks_for_a_tool_call() {
        let body = json!({"model": "m", "input": [user("please\nRUN_TOOL: echo hi  \nthanks")]});
        assert_eq!(
            Answer::for_request(&body, String::new()),
            Answer::ToolCall {
                name: TOOL_NAME.to_owned(),
                arguments: r#"{"cmd":"echo hi"}"#.to_owned(),
            }
        );
        let blank = json!({"model": "m", "input": [user("RUN_TOOL:   ")]});
        assert_eq!(
            Answer::for_request(&blank, "x".to_owned()),
            Answer::Text("x".to_owned())
        );
        let string_input = json!({"model": "m", "input": "RUN_TOOL: ls"});
        assert_eq!(
            Answer::for_request(&string_input, String::new()),
            Answer::ToolCall {
                name: TOOL_NAME.to_owned(),
                arguments: r#"{"cmd":"ls"}"#.to_owned(),
            }
        );
    }

    #[test]
    fn named_marker_calls_the_offered_tool() {
        let body = json!({
            "model": "m",
            "input": [user("CALL_TOOL: bash {\"command\": \"ls\"}")],
            "tools": [{"type": "function", "name": "bash", "parameters": {}}],
        });
        assert_eq!(
            Answer::for_request(&body, String::new()),
            Answer::ToolCall {
                name: "bash".to_owned(),
                arguments: r#"{"command":"ls"}"#.to_owned(),
            }
        );
        let not_offered = json!({"model": "m", "input": [user("CALL_TOOL: bash {}")]});
        assert_eq!(
            Answer::for_request(&not_offered, "x".to_owned()),
            Answer::Text("No tool named bash was offered".to_owned())
        );
    }

    #[test]
    fn marker_in_developer_message_is_ignored() {
        let body = json!({"model": "m", "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "RUN_TOOL: ls"}]}
        ]});
        assert_eq!(
            Answer::for_request(&body, "x".to_owned()),
            Answer::Text("x".to_owned())
        );
    }

    #[test]
    fn tool_output_is_quoted_up_to_200_chars() {
        let long = "é".repeat(300);
        let body = json!({"model": "m", "input": [
            user("RUN_TOOL: ls"),
            {"type": "function_call_output", "call_id": "c", "output": long},
        ]});
        let Answer::Text(text) = Answer::for_request(&body, String::new()) else {
            panic!("expected text");
        };
        assert_eq!(text, format!("Tool said: {}", "é".repeat(200)));
    }

    #[test]
    fn a_forced_image_tool_gets_an_image() {
        let body = json!({"model": "m", "input": [user("a cat")],
            "tools": [{"type": "image_generation", "size": "1024x1536"}],
            "tool_choice": {"type": "image_generation"}});
        let Answer::Image { tool, input_images } = Answer::for_request(&body, String::new()) else {
            panic!("expected an image");
        };
        assert_eq!(
            (tool["size"].as_str(), input_images),
            (Some("1024x1536"), 0)
        );
        // Declared but not forced: the model answers text.
        let optional = json!({"model": "m", "input": [user("a cat")],
            "tools": [{"type": "image_generation"}], "tool_choice": "auto"});
        assert_eq!(
            Answer::for_request(&optional, "x".to_owned()),
            Answer::Text("x".to_owned())
        );
    }

    #[test]
    fn estimates_round_up() {
        assert_eq!(estimate_tokens(0), 1);
        assert_eq!(estimate_tokens(9), 3);
    }
}
